/** Chooses the sign-in of the configured AUTH mode, once at start-up. */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Limiter } from '../store/limiter.js';
import type { ChatStore } from '../store/types.js';
import { createDevAuth } from './dev.js';
import type { SignInHooks } from './sign-in.js';
import type { AuthProvider } from './types.js';

export interface AuthDeps {
  config: Config;
  store: ChatStore;
  logger: Logger;
  hooks: SignInHooks;
  /** AUTH=password: failed sign-ins per name. */
  passwordFailures: Limiter;
}

export async function createAuth(deps: AuthDeps): Promise<AuthProvider> {
  if (deps.config.auth === 'firebase') {
    // Loaded only in this mode: firebase-admin is heavy and dev mode never needs it.
    const { createFirebaseAuth } = await import('./firebase.js');
    return createFirebaseAuth(deps);
  }
  if (deps.config.auth === 'password') {
    const { createPasswordAuth } = await import('./password.js');
    return createPasswordAuth({ ...deps, failures: deps.passwordFailures });
  }
  return createDevAuth(deps);
}
