/** Chooses the sign-in of the configured AUTH mode, once at start-up. */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ChatStore } from '../store/types.js';
import { createDevAuth } from './dev.js';
import type { AuthProvider } from './types.js';

export async function createAuth(deps: { config: Config; store: ChatStore; logger: Logger }): Promise<AuthProvider> {
  if (deps.config.auth === 'firebase') {
    // Loaded only in this mode: firebase-admin is heavy and dev mode never needs it.
    const { createFirebaseAuth } = await import('./firebase.js');
    return createFirebaseAuth(deps);
  }
  return createDevAuth(deps);
}
