/** The tab's title tells the total unread: "(3) Chat", or "Chat" when nothing is unread. */
import { totalUnread } from './state/reads.js';
import type { ChatState } from './state/types.js';
import type { Store } from './store.js';

export function titleFor(state: ChatState): string {
  const n = totalUnread(state);
  return n > 0 ? `(${n}) Chat` : 'Chat';
}

export function setUpTitle(store: Store): void {
  const show = (state: ChatState): void => {
    const title = titleFor(state);
    if (document.title !== title) document.title = title;
  };
  show(store.state);
  store.subscribe((next) => show(next));
}
