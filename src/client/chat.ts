/**
 * The chat page's browser code: connects to namespace /chat (session cookie auth), keeps every
 * room's messages complete and unique across acknowledgements, live events and reconnects, and
 * adds all markup through the precompiled macros (./templates.ts).
 */
import { io, type Socket } from 'socket.io-client';
import { CHAT_NAMESPACE, type ClientToServerEvents, type ServerToClientEvents } from '../shared/events.js';
import { LIMITS } from '../shared/limits.js';
import type { Message, RoomRef } from '../shared/types.js';
import { setupNewChat } from './new-chat.js';
import type { RoomView } from './room-view.js';
import { Rooms } from './rooms.js';
import type { Me } from './templates.js';

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const ACK_TIMEOUT_MS = 15_000;
const TYPING_EVERY_MS = 2_000;
/** Pages of catch-up per room after a reconnect at most (the store keeps ~1,000 messages). */
const CATCH_UP_PAGES = 50;
const ORPHANS_KEPT = 200;
const ERROR_SHOWN_MS = 6_000;

const app = document.getElementById('chat-app')!;
const me: Me = { uid: app.dataset.uid ?? '', name: app.dataset.name ?? '', picture: app.dataset.picture ?? '' };
const banner = app.querySelector<HTMLElement>('[data-testid="connection-banner"]')!;
const errorBox = app.querySelector<HTMLElement>('[data-testid="app-error"]')!;
const randomButton = app.querySelector<HTMLButtonElement>('[data-testid="random-chat"]')!;

const socket: ChatSocket = io(CHAT_NAMESPACE, { withCredentials: true });
const lastTypingSent = new Map<string, number>();
/** Messages for rooms whose pane is still being fetched (e.g. between join_random and its history). */
const orphans = new Map<string, Message[]>();

type Payload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
type Reply<E extends keyof ClientToServerEvents> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];

/**
 * Emits with an acknowledgement and a deadline. (socket.io-client types the reply of
 * `timeout().emitWithAck` as any; this restores the event map's reply type.)
 */
function request<E extends keyof ClientToServerEvents>(ev: E, payload: Payload<E>): Promise<Reply<E>> {
  const timed = socket.timeout(ACK_TIMEOUT_MS) as unknown as {
    emitWithAck(ev: E, payload: Payload<E>): Promise<Reply<E>>;
  };
  return timed.emitWithAck(ev, payload);
}

let errorTimer = 0;
function showError(text: string): void {
  errorBox.textContent = text;
  errorBox.hidden = false;
  window.clearTimeout(errorTimer);
  errorTimer = window.setTimeout(() => (errorBox.hidden = true), ERROR_SHOWN_MS);
}

const reason = (err: unknown): string =>
  err instanceof Error && /timed out|timeout/i.test(err.message) ? 'no answer from the server' : String(err);

const rooms = new Rooms(app, me, wirePane);

function wirePane(view: RoomView): void {
  const form = view.pane.querySelector<HTMLFormElement>('[data-testid="send-form"]')!;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = view.input.value.trim();
    if (!text) return;
    view.input.value = '';
    void send(view, text);
  });
  view.input.addEventListener('input', () => {
    const now = Date.now();
    if (!socket.connected || now - (lastTypingSent.get(view.roomId) ?? 0) < TYPING_EVERY_MS) return;
    lastTypingSent.set(view.roomId, now);
    socket.emit('typing', { room_id: view.roomId }, () => undefined);
  });
  view.scroller.addEventListener('scroll', () => {
    if (view.scroller.scrollTop < 60) void loadOlder(view);
  });
  view.pane.addEventListener('click', (e) => {
    const action = (e.target as Element).closest<HTMLElement>('[data-action]')?.dataset.action;
    if (action === 'older') void loadOlder(view);
    else if (action === 'exit') void exitRoom(view);
    else if (action === 'back') rooms.closePane();
  });
}

async function send(view: RoomView, text: string): Promise<void> {
  const el = view.addPending(text);
  try {
    const res = await request('text', { room_id: view.roomId, msg: text });
    if (!res.ok) view.fail(el, res.error);
    else if (!el.dataset.msgId) view.settle(el, res.id, res.time);
    else if (el.dataset.msgId !== res.id) {
      // The copy was taken over by another tab's message with the same text: show ours as well.
      const m: Message = {
        id: res.id,
        room_id: view.roomId,
        uid: me.uid,
        name: me.name,
        picture: me.picture,
        msg: text,
        time: res.time,
        type: 'user',
      };
      view.addMessages([m]);
    }
  } catch (err) {
    view.fail(el, reason(err));
  }
}

async function loadOlder(view: RoomView): Promise<void> {
  if (view.loadingOlder || view.complete) return;
  const before = view.oldestId();
  if (!before) {
    view.complete = true;
    return;
  }
  view.loadingOlder = true;
  try {
    const res = await request('history', { room_id: view.roomId, before, limit: LIMITS.historyDefault });
    if (!res.ok) throw new Error(res.error);
    view.prependOlder(res.messages);
    if (res.messages.length < LIMITS.historyDefault) view.complete = true;
  } catch (err) {
    showError(`Could not load older messages: ${reason(err)}`);
    return;
  } finally {
    view.loadingOlder = false;
  }
  // Nothing to scroll yet, so no scroll event would ask again: fill the pane.
  if (!view.complete && view.scroller.scrollHeight <= view.scroller.clientHeight) await loadOlder(view);
}

async function exitRoom(view: RoomView): Promise<void> {
  try {
    const res = await request('exit_room', { room_id: view.roomId });
    if (!res.ok) throw new Error(res.error);
    rooms.remove(view.roomId);
  } catch (err) {
    showError(`Could not leave ${view.roomName}: ${reason(err)}`);
  }
}

/** Shows a room the user has just got (random, created, or found on reconnect), with its newest messages. */
async function openRoom(ref: RoomRef, activate: boolean): Promise<void> {
  const existing = rooms.get(ref.room_id);
  if (existing) {
    if (activate) rooms.activate(ref.room_id, true);
    return;
  }
  const res = await request('history', { room_id: ref.room_id });
  if (!res.ok) throw new Error(res.error);
  const view = rooms.add({ ...ref, messages: res.messages }, activate);
  adoptOrphans(view);
}

function adoptOrphans(view: RoomView): void {
  const waiting = orphans.get(view.roomId);
  orphans.delete(view.roomId);
  if (waiting) rooms.noteNew(view, view.addMessages(waiting));
}

/** Everything after the newest message shown, page by page, until a short page says it is all. */
async function catchUp(view: RoomView): Promise<void> {
  let after = view.resumeAfter ?? view.lastId() ?? '0-0';
  for (let page = 0; page < CATCH_UP_PAGES; page++) {
    const res = await request('history', { room_id: view.roomId, after, limit: LIMITS.historyMax });
    if (!res.ok) throw new Error(res.error);
    rooms.noteNew(view, view.addMessages(res.messages));
    const last = res.messages[res.messages.length - 1];
    if (!last || res.messages.length < LIMITS.historyMax) {
      view.resumeAfter = undefined;
      return;
    }
    after = last.id;
  }
}

/** On every (re)connection: join all rooms, drop the ones left elsewhere, fetch what was missed. */
async function sync(): Promise<void> {
  try {
    const res = await request('joined', {});
    if (!res.ok) throw new Error(res.error);
    const current = new Set(res.rooms.map((r) => r.room_id));
    for (const id of rooms.ids()) if (!current.has(id)) rooms.remove(id);
    await Promise.all(
      res.rooms.map((r) => {
        const view = rooms.get(r.room_id);
        return view ? catchUp(view) : openRoom(r, false);
      }),
    );
    app.dataset.synced = String(Number(app.dataset.synced ?? 0) + 1);
  } catch (err) {
    showError(`Could not sync: ${reason(err)}`);
  }
}

socket.on('connect', () => {
  banner.hidden = true;
  void sync();
});
socket.on('disconnect', (why) => {
  banner.hidden = false;
  // Keeps an earlier mark if the last catch-up did not finish.
  for (const view of rooms.all()) view.resumeAfter ??= view.lastId();
  // The server closed this socket on purpose (e.g. signed out elsewhere): try once more by hand.
  if (why === 'io server disconnect') socket.connect();
});
socket.on('connect_error', (err) => {
  if (err.message === 'unauthorized') {
    window.location.assign('/login');
    return;
  }
  banner.hidden = false;
});

socket.on('internal_msg', (m) => {
  const view = rooms.get(m.room_id);
  if (!view) {
    const list = orphans.get(m.room_id) ?? [];
    if (list.length < ORPHANS_KEPT) list.push(m);
    orphans.set(m.room_id, list);
    return;
  }
  if (m.uid === me.uid && !view.has(m.id)) {
    view.dropFailedCopy(m.msg);
    if (view.adoptPending(m)) return;
  }
  rooms.noteNew(view, view.addMessages([m]));
});
socket.on('status', (s) => {
  // Own joins happen on every page load and reconnect: not news to anyone reading here.
  if (s.uid === me.uid && s.type === 'join') return;
  rooms.get(s.room_id)?.addNotice({ msg: s.msg, time: s.time });
});
socket.on('typing', (t) => {
  if (t.uid !== me.uid) rooms.get(t.room_id)?.showTyping(t.uid, t.name);
});
socket.on('room_added', (room) => {
  const view = rooms.add(room, false);
  adoptOrphans(view);
});
socket.on('room_removed', ({ room_id }) => {
  rooms.remove(room_id);
  orphans.delete(room_id);
});

randomButton.addEventListener('click', () => {
  randomButton.disabled = true;
  void (async () => {
    try {
      const res = await request('join_random', {});
      if (!res.ok) throw new Error(res.error);
      await openRoom({ room_id: res.room_id, room_name: res.room_name }, true);
    } catch (err) {
      showError(`Could not join a random chat: ${reason(err)}`);
    } finally {
      randomButton.disabled = false;
    }
  })();
});

setupNewChat((room) => {
  openRoom(room, true).catch((err: unknown) => showError(`Could not open ${room.room_name}: ${reason(err)}`));
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && rooms.active) rooms.active.setUnread(0);
});
