/**
 * Rooms open where the reader left them: the last-used room (kept per user in localStorage) opens
 * again after a reload, or the list's first where it is gone. A room the server listed by its
 * summary only (GET /chat renders the first room's messages) is loaded with `history` when it is
 * opened, and rendered from the same macros.
 */
import { ERRORS } from '../shared/limits.js';
import { reasonOf, type Request } from './request.js';
import { roomLoaded } from './state/reads.js';
import { activateRoom, removeRoom } from './state/rooms.js';
import type { ChatState } from './state/types.js';
import type { Store } from './store.js';

export interface OpenRoomDeps {
  store: Store;
  request: Request;
  showError(text: string): void;
}

export function setUpRoomOpening({ store, request, showError }: OpenRoomDeps): void {
  const key = `chat-room:${store.state.me.uid}`;
  const loading = new Set<string>();
  /** Refused or unanswered: asked again after the next (re)connect, not on every change. */
  const failed = new Set<string>();

  let saved: string | null = null;
  try {
    saved = window.localStorage.getItem(key);
  } catch {
    // Storage disabled: the list's first room opens.
  }
  const last = saved;
  if (last && last !== store.state.active && store.state.rooms[last]) store.update((s) => activateRoom(s, last, false));
  // The room open now is the one in use (the list's first, where the saved one is gone).
  const remember = (roomId: string | null): void => {
    if (!roomId || roomId === saved) return;
    saved = roomId;
    try {
      window.localStorage.setItem(key, roomId);
    } catch {
      // Storage disabled: not remembered.
    }
  };
  remember(store.state.active);

  async function load(roomId: string): Promise<void> {
    loading.add(roomId);
    try {
      const res = await request('history', { room_id: roomId });
      if (res.ok) return store.update((s) => roomLoaded(s, roomId, res.messages));
      if (res.error === ERRORS.notMember) return store.update((s) => removeRoom(s, roomId));
      throw new Error(res.error);
    } catch (err) {
      failed.add(roomId);
      showError(`Could not load the messages: ${reasonOf(err)}`);
    } finally {
      loading.delete(roomId);
    }
  }

  const wants = (s: ChatState): string | null => {
    const room = s.active ? s.rooms[s.active] : undefined;
    return room && !room.loaded && s.connected && !loading.has(room.id) && !failed.has(room.id) ? room.id : null;
  };
  store.subscribe((next, prev) => {
    if (next.connected && !prev.connected) failed.clear();
    const roomId = wants(next);
    if (roomId) void load(roomId);
    if (next.active !== prev.active) remember(next.active);
  });
}
