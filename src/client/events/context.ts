/** What a server event's handler may do: change the page's state, start a catch-up, announce news. */
import type { Store } from '../store.js';

export interface EventContext {
  store: Store;
  /** Catches up every room from its resume mark (no `joined`, no reconnect). */
  catchUp(): void;
  /** Says `text` to screen readers (the page's one live region: only what newly arrived). */
  announce(text: string): void;
}
