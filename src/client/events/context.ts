/** What a server event's handler may do: change the page's state, or start a catch-up. */
import type { Store } from '../store.js';

export interface EventContext {
  store: Store;
  /** Catches up every room from its resume mark (no `joined`, no reconnect). */
  catchUp(): void;
}
