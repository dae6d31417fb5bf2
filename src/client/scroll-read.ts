/**
 * Reading: the reader sees the open room's newest messages when the tab is visible, the pane is
 * shown (on a phone, forward over the list), the room's messages are loaded and its list is
 * scrolled to the bottom. Then its unread count clears and, a moment later (so scrolling through
 * does not send a mark per message), the page sends `read` for the newest message shown — never
 * for a mark not newer than the one known. "Jump to latest" scrolls there.
 */
import { ERRORS } from '../shared/limits.js';
import type { Request } from './request.js';
import { applyRead, unreadMark } from './state/reads.js';
import { setLooking } from './state/rooms.js';
import type { ChatState } from './state/types.js';
import type { Store } from './store.js';
import type { PageView } from './view/page.js';

const READ_AFTER_MS = 400;

export interface ReadingDeps {
  app: HTMLElement;
  store: Store;
  view: PageView;
  request: Request;
  /** The phone layout (the pane is over the list only when open). */
  phone: MediaQueryList;
}

export interface Reading {
  /** Whether the reader sees the open room's newest messages now. */
  looking(state: ChatState): boolean;
}

/** Whether room `roomId` is the one on screen: the open room, its pane forward on a phone. */
export function roomShown(state: ChatState, roomId: string | null, phone: MediaQueryList): boolean {
  return roomId !== null && state.active === roomId && (!phone.matches || state.paneOpen);
}

export function setUpReading({ app, store, view, request, phone }: ReadingDeps): Reading {
  const panes = app.querySelector<HTMLElement>('[data-testid="panes"]')!;
  /** The mark last sent per room (its answer may not have come yet). */
  const sent = new Map<string, string>();
  let timer = 0;

  function looking(state: ChatState): boolean {
    if (document.visibilityState !== 'visible' || !state.active || !roomShown(state, state.active, phone)) return false;
    const pane = view.pane(state.active);
    return Boolean(pane && !pane.el.hidden && state.rooms[state.active]?.loaded && pane.nearBottom());
  }

  async function send(roomId: string, id: string): Promise<void> {
    sent.set(roomId, id);
    store.update((s) => applyRead(s, roomId, id));
    try {
      const res = await request('read', { room_id: roomId, id });
      if (res.ok && res.last_read) store.update((s) => applyRead(s, roomId, res.last_read!));
      // Refused "not now": the next look sends it again.
      else if (!res.ok && res.error !== ERRORS.notMember) sent.delete(roomId);
    } catch {
      sent.delete(roomId);
    }
  }

  /**
   * The reader is at the bottom of the open room: its newest message is read, once the look has
   * lasted READ_AFTER_MS (then the newest as it is by then: one `read` for a burst of messages).
   */
  function check(): void {
    store.update((s) => setLooking(s, looking(s)));
    const state = store.state;
    if (timer || !state.looking || !state.active || !state.connected) return;
    const id = unreadMark(state, state.active);
    if (!id || sent.get(state.active) === id) return;
    timer = window.setTimeout(() => {
      timer = 0;
      const now = store.state;
      const roomId = now.active;
      const mark = roomId && now.looking && now.connected ? unreadMark(now, roomId) : null;
      if (roomId && mark && sent.get(roomId) !== mark) void send(roomId, mark);
    }, READ_AFTER_MS);
  }

  store.subscribe(check);
  document.addEventListener('visibilitychange', check);
  phone.addEventListener('change', check);
  // Scroll events do not bubble: caught on the way down.
  panes.addEventListener('scroll', check, true);
  panes.addEventListener('click', (e) => {
    const button = (e.target as Element).closest<HTMLElement>('[data-action="latest"]');
    const roomId = button && view.roomOf(button);
    const pane = roomId ? view.pane(roomId) : undefined;
    if (!pane) return;
    pane.scrollToBottom();
    // The button goes once at the bottom: focus stays in the room, in its message box.
    pane.input.focus();
  });
  // A new connection: marks sent on the old one may not have arrived.
  store.subscribe((next, prev) => {
    if (next.connected && !prev.connected) sent.clear();
  });
  return { looking };
}
