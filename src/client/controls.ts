/**
 * What the reader does: send, type, scroll back, exit, Retry and Discard, pick a room (click or
 * arrow keys), random chat, new chat, go back on a phone. Each turns into a request and/or a
 * state change; the view follows the state.
 */
import { LIMITS } from '../shared/limits.js';
import type { RoomRef } from '../shared/types.js';
import { setupNewChat } from './new-chat.js';
import type { Outbox } from './outbox.js';
import { reasonOf, type ChatSocket, type Request } from './request.js';
import { discard, retry } from './state/outbox.js';
import { activateRoom, addRoom, closePane, receiveOlder, removeRoom } from './state/rooms.js';
import type { Store } from './store.js';
import type { PageView } from './view/page.js';

const TYPING_EVERY_MS = 2_000;
const OLDER_WHEN_TOP_PX = 60;

export interface ControlDeps {
  app: HTMLElement;
  store: Store;
  view: PageView;
  socket: ChatSocket;
  request: Request;
  outbox: Outbox;
  showError(text: string): void;
}

export function setUpControls({ app, store, view, socket, request, outbox, showError }: ControlDeps): void {
  const panes = app.querySelector<HTMLElement>('[data-testid="panes"]')!;
  const convList = app.querySelector<HTMLElement>('[data-testid="conv-list"]')!;
  const randomButton = app.querySelector<HTMLButtonElement>('[data-testid="random-chat"]')!;
  const lastTypingSent = new Map<string, number>();
  const loadingOlder = new Set<string>();
  const nextTask = (): Promise<void> => new Promise((r) => window.setTimeout(r, 0));

  const activate = (roomId: string, open: boolean): void => {
    store.update((s) => activateRoom(s, roomId, open));
    // The pane is made, or shown, when the change is rendered (a microtask queued before this one).
    if (open) queueMicrotask(() => view.pane(roomId)?.input.focus());
  };

  async function loadOlder(roomId: string): Promise<void> {
    const room = store.state.rooms[roomId];
    if (!room || room.complete || loadingOlder.has(roomId)) return;
    const before = room.messages[0]?.id;
    if (!before) return store.update((s) => receiveOlder(s, roomId, [], true));
    loadingOlder.add(roomId);
    try {
      const res = await request('history', { room_id: roomId, before, limit: LIMITS.historyDefault });
      if (!res.ok) throw new Error(res.error);
      store.update((s) => receiveOlder(s, roomId, res.messages, res.messages.length < LIMITS.historyDefault));
    } catch (err) {
      return showError(`Could not load older messages: ${reasonOf(err)}`);
    } finally {
      loadingOlder.delete(roomId);
    }
    // Once rendered: nothing to scroll yet means no scroll event would ask again, so fill the pane.
    await nextTask();
    const s = view.pane(roomId)?.scroller;
    if (s && !s.hidden && s.scrollHeight <= s.clientHeight) await loadOlder(roomId);
  }

  async function exitRoom(roomId: string): Promise<void> {
    const name = store.state.rooms[roomId]?.name ?? roomId;
    try {
      const res = await request('exit_room', { room_id: roomId });
      if (!res.ok) throw new Error(res.error);
      store.update((s) => removeRoom(s, roomId));
    } catch (err) {
      showError(`Could not leave ${name}: ${reasonOf(err)}`);
    }
  }

  /** Shows a room the user has just got (random or created here), with its newest messages. */
  async function openRoom(ref: RoomRef): Promise<void> {
    if (!store.state.rooms[ref.room_id]) {
      const res = await request('history', { room_id: ref.room_id });
      if (!res.ok) throw new Error(res.error);
      store.update((s) => addRoom(s, { ...ref, messages: res.messages }));
    }
    activate(ref.room_id, true);
  }

  panes.addEventListener('submit', (e) => {
    e.preventDefault();
    const roomId = view.roomOf(e.target as Element);
    const input = roomId ? view.pane(roomId)?.input : undefined;
    const text = input?.value.trim();
    if (!roomId || !input || !text) return;
    input.value = '';
    outbox.send(roomId, text);
  });
  panes.addEventListener('input', (e) => {
    const roomId = view.roomOf(e.target as Element);
    const now = Date.now();
    if (!roomId || !socket.connected || now - (lastTypingSent.get(roomId) ?? 0) < TYPING_EVERY_MS) return;
    lastTypingSent.set(roomId, now);
    socket.emit('typing', { room_id: roomId }, () => undefined);
  });
  // Scroll events do not bubble: caught on the way down.
  panes.addEventListener(
    'scroll',
    (e) => {
      const roomId = view.roomOf(e.target as Element);
      if (roomId && (e.target as HTMLElement).scrollTop < OLDER_WHEN_TOP_PX) void loadOlder(roomId);
    },
    true,
  );
  panes.addEventListener('click', (e) => {
    const button = (e.target as Element).closest<HTMLElement>('[data-action]');
    const roomId = button && view.roomOf(button);
    if (!button || !roomId) return;
    const action = button.dataset.action;
    if (action === 'older') void loadOlder(roomId);
    else if (action === 'exit') void exitRoom(roomId);
    else if (action === 'back') {
      store.update(closePane);
      view.conv(roomId)?.focus();
    } else if (action === 'retry' || action === 'discard') {
      const clientId = view.pane(roomId)?.clientIdOf(button.closest('[data-testid="message"]')!);
      if (!clientId) return;
      store.update((s) => (action === 'retry' ? retry(s, clientId) : discard(s, clientId)));
      if (action === 'retry') outbox.kick();
    }
  });

  convList.addEventListener('click', (e) => {
    const roomId = view.roomOf(e.target as Element);
    if (roomId) activate(roomId, true);
  });
  convList.addEventListener('keydown', (e) => {
    const order = store.state.order;
    const i = order.findIndex((id) => view.conv(id) === document.activeElement);
    if (i < 0) return;
    let next: number;
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') next = (i + 1) % order.length;
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') next = (i - 1 + order.length) % order.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = order.length - 1;
    else return;
    e.preventDefault();
    const roomId = order[next]!;
    activate(roomId, false);
    view.conv(roomId)?.focus();
  });

  randomButton.addEventListener('click', () => {
    randomButton.disabled = true;
    void (async () => {
      try {
        const res = await request('join_random', {});
        if (!res.ok) throw new Error(res.error);
        await openRoom({ room_id: res.room_id, room_name: res.room_name });
      } catch (err) {
        showError(`Could not join a random chat: ${reasonOf(err)}`);
      } finally {
        randomButton.disabled = false;
      }
    })();
  });

  setupNewChat((room) => {
    openRoom(room).catch((err: unknown) => showError(`Could not open ${room.room_name}: ${reasonOf(err)}`));
  });
}
