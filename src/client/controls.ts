/**
 * What the reader does: send (Enter; Shift+Enter is a new line), type, scroll back, exit (after a
 * confirmation), Retry and Discard, pick a room (click or arrow keys), random chat, new chat, go
 * back on a phone. Each turns into a request and/or a state change; the view follows the state.
 */
import { LIMITS } from '../shared/limits.js';
import { isDirectRoom, roomLabel } from '../shared/room-label.js';
import type { RoomRef } from '../shared/types.js';
import { setupNewChat } from './new-chat.js';
import type { Outbox } from './outbox.js';
import { reasonOf, type ChatSocket, type Request } from './request.js';
import { discard, retry } from './state/outbox.js';
import { setRoster } from './state/presence.js';
import { activateRoom, addRoom, closePane, receiveOlder, removeRoom, setMembers } from './state/rooms.js';
import type { Store } from './store.js';
import { isRandomRoom, type PageView } from './view/page.js';

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

export interface Controls {
  /** Shows a room the user has just got, with its newest messages, focus in its box. */
  openRoom(ref: RoomRef): Promise<void>;
}

export function setUpControls({ app, store, view, socket, request, outbox, showError }: ControlDeps): Controls {
  const panes = app.querySelector<HTMLElement>('[data-testid="panes"]')!;
  const convList = app.querySelector<HTMLElement>('[data-testid="conv-list"]')!;
  const randomButton = app.querySelector<HTMLButtonElement>('[data-testid="random-chat"]')!;
  const lastTypingSent = new Map<string, number>();
  const loadingOlder = new Set<string>();
  /** Rooms being left: nothing more is asked about them (a `history` would answer "not a member"). */
  const leaving = new Set<string>();
  const membersAsked = new Set<string>();
  const exitDialog = setUpExitDialog((roomId) => void exitRoom(roomId));
  const nextTask = (): Promise<void> => new Promise((r) => window.setTimeout(r, 0));

  /** The room's members' names, once per room, for mentions. */
  async function loadMembers(roomId: string): Promise<void> {
    if (membersAsked.has(roomId) || !socket.connected) return;
    membersAsked.add(roomId);
    try {
      const res = await request('members', { room_id: roomId });
      if (res.ok)
        store.update((s) =>
          setRoster(
            setMembers(
              s,
              roomId,
              res.members.map((m) => m.name),
            ),
            roomId,
            res.members,
          ),
        );
    } catch {
      // Mentions of members who have not written yet stay plain text; asked again next time.
      membersAsked.delete(roomId);
    }
  }

  const activate = (roomId: string, open: boolean, focus = open): void => {
    store.update((s) => activateRoom(s, roomId, open));
    void loadMembers(roomId);
    // The pane is made, or shown, when the change is rendered (a microtask queued before this one).
    if (focus) queueMicrotask(() => view.pane(roomId)?.input.focus());
  };
  socket.on('connect', () => {
    membersAsked.clear();
    if (store.state.active) void loadMembers(store.state.active);
  });

  async function loadOlder(roomId: string): Promise<void> {
    const room = store.state.rooms[roomId];
    if (!room || room.complete || loadingOlder.has(roomId) || leaving.has(roomId)) return;
    const before = room.messages[0]?.id;
    if (!before) return store.update((s) => receiveOlder(s, roomId, [], true));
    loadingOlder.add(roomId);
    try {
      const res = await request('history', { room_id: roomId, before, limit: LIMITS.historyDefault });
      // Left meanwhile: the answer is for a room no longer shown.
      if (leaving.has(roomId) || !store.state.rooms[roomId]) return;
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
    if (s && s.isConnected && !s.hidden && s.scrollHeight <= s.clientHeight) await loadOlder(roomId);
  }

  /** Leaves the room (confirmed in the dialog), then puts focus in the conversation list. */
  async function exitRoom(roomId: string): Promise<void> {
    const name = store.state.rooms[roomId]?.name ?? roomId;
    leaving.add(roomId);
    try {
      const res = await request('exit_room', { room_id: roomId });
      if (!res.ok) throw new Error(res.error);
      store.update((s) => removeRoom(s, roomId));
    } catch (err) {
      leaving.delete(roomId);
      showError(`Could not leave ${name}: ${reasonOf(err)}`);
      return;
    }
    // Once rendered: the list's current tab, or the list itself when it is empty.
    await nextTask();
    const tab = store.state.active ? view.conv(store.state.active) : undefined;
    if (tab) tab.focus();
    else convList.focus();
  }

  /** Shows a room the user has just got (random or created here), with its newest messages, focus in its box. */
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
    const pane = roomId ? view.pane(roomId) : undefined;
    if (!roomId || !pane) return;
    // Too long: the whole text stays, with the message saying by how much (never cut).
    if (!pane.checkDraft()) return pane.input.focus();
    const text = pane.input.value.trim();
    pane.input.value = '';
    pane.checkDraft();
    outbox.send(roomId, text);
  });
  // Enter sends, Shift+Enter adds a line (and Enter that completes an input method's word does neither).
  panes.addEventListener('keydown', (e) => {
    const box = e.target as HTMLElement;
    if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return;
    if (!(box instanceof HTMLTextAreaElement) || box.dataset.testid !== 'msg-input') return;
    e.preventDefault();
    box.form?.requestSubmit();
  });
  panes.addEventListener('input', (e) => {
    const roomId = view.roomOf(e.target as Element);
    if (roomId && (e.target as HTMLElement).dataset.testid === 'msg-input') view.pane(roomId)?.checkDraft();
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
    else if (action === 'exit') exitDialog.ask(roomId, roomLabel(store.state.rooms[roomId]?.name ?? roomId, roomId));
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

  // The dialog has closed (so it no longer returns focus to "New chat"): focus the new room's box.
  setupNewChat((room, closed) => {
    openRoom(room)
      .then(() => closed)
      .then(() => view.pane(room.room_id)?.input.focus())
      .catch((err: unknown) => showError(`Could not open ${room.room_name}: ${reasonOf(err)}`));
  });
  return { openRoom };
}

interface ExitDialog {
  ask(roomId: string, name: string): void;
}

/** The "Leave …?" dialog (views/chat.njk #exit-modal, a Bootstrap modal): Stay is focused first. */
function setUpExitDialog(onConfirm: (roomId: string) => void): ExitDialog {
  const modal = document.getElementById('exit-modal')!;
  const q = <T extends HTMLElement>(testid: string): T => modal.querySelector<T>(`[data-testid="${testid}"]`)!;
  let roomId: string | null = null;
  let confirmed = false;
  modal.addEventListener('shown.bs.modal', () => q('exit-cancel').focus());
  q('exit-confirm').addEventListener('click', () => {
    confirmed = true;
    window.bootstrap?.Modal.getOrCreateInstance(modal).hide();
  });
  // Left only once the dialog is gone, so the focus it gives back is then moved to the list.
  modal.addEventListener('hidden.bs.modal', () => {
    const id = roomId;
    roomId = null;
    if (confirmed && id) onConfirm(id);
    confirmed = false;
  });
  return {
    ask(id, name) {
      roomId = id;
      confirmed = false;
      q('exit-room-name').textContent = name;
      // Random rooms are joined again with Random chat, direct ones with Message; a group only by being added.
      q('exit-group-note').hidden = isRandomRoom(id) || isDirectRoom(id);
      window.bootstrap?.Modal.getOrCreateInstance(modal).show();
    },
  };
}
