/**
 * The chat page's wiring: the state (./state/) starts from the data the server rendered the page
 * from; socket events go to one module each (./events/), the reader's actions to ./controls.ts,
 * the outbox to ./outbox.ts and catch-up to ./sync.ts; the view (./view/) renders every change.
 */
import { io } from 'socket.io-client';
import { CHAT_NAMESPACE } from '../shared/events.js';
import type { RoomView } from '../shared/types.js';
import { backoffDelay, RECONNECT, RETRYABLE_REFUSALS } from './backoff.js';
import { setUpControls } from './controls.js';
import { setUpDirect } from './direct.js';
import type { EventContext } from './events/context.js';
import { onInternalMsg } from './events/internal-msg.js';
import { onRead } from './events/read.js';
import { onPresence } from './events/presence.js';
import { onResync } from './events/resync.js';
import { onRoomAdded } from './events/room-added.js';
import { onRoomRemoved } from './events/room-removed.js';
import { onStatus } from './events/status.js';
import { onTyping } from './events/typing.js';
import { setUpMembers } from './members.js';
import { setUpNotifications } from './notify.js';
import { setUpRoomOpening } from './open-room.js';
import { createOutbox, loadOutbox } from './outbox.js';
import { reasonOf, requester, type ChatSocket } from './request.js';
import { roomShown, setUpReading } from './scroll-read.js';
import { setConnected } from './state/marks.js';
import { activateRoom, initialState, setLooking, typingExpired } from './state/rooms.js';
import type { Me } from './state/types.js';
import { createStore } from './store.js';
import { createSync } from './sync.js';
import { setUpTitle } from './title.js';
import { PageView } from './view/page.js';
import { ConvPresenceView } from './view/presence.js';

const ERROR_SHOWN_MS = 6_000;
const TYPING_CHECK_MS = 500;

const app = document.getElementById('chat-app')!;
const banner = app.querySelector<HTMLElement>('[data-testid="connection-banner"]')!;
const errorBox = app.querySelector<HTMLElement>('[data-testid="app-error"]')!;
const announcer = app.querySelector<HTMLElement>('[data-testid="announcer"]')!;

/**
 * The rooms the server rendered, as data: JSON in a data attribute beside the markup (see
 * views/chat.njk), so the page's state never has to be read back out of the DOM.
 */
const data = JSON.parse(app.dataset.chat ?? '{}') as {
  me: Me;
  rooms: RoomView[];
};
const storageKey = `chat-outbox:${data.me.uid}`;
const store = createStore(initialState(data.me, data.rooms, loadOutbox(storageKey)));
const view = new PageView(app);

// Whether the reader sees the open room (tab visible, pane forward on a phone, at its bottom) is
// ./scroll-read.ts's to say, after each render and scroll.
const phone = window.matchMedia('(max-width: 767.98px)');
store.update((s) => setLooking(s, false));
view.render(store.state, null);
const convPresence = new ConvPresenceView(view);
store.subscribe((next, prev) => {
  view.render(next, prev);
  convPresence.render(next, prev);
});
window.setInterval(() => store.update((s) => typingExpired(s, Date.now())), TYPING_CHECK_MS);

let errorTimer = 0;
function showError(text: string): void {
  errorBox.textContent = text;
  errorBox.hidden = false;
  window.clearTimeout(errorTimer);
  errorTimer = window.setTimeout(() => (errorBox.hidden = true), ERROR_SHOWN_MS);
}

const socket: ChatSocket = io(CHAT_NAMESPACE, { withCredentials: true, ...RECONNECT });
const request = requester(socket);
const outbox = createOutbox(store, request, storageKey);
const sync = createSync({
  store,
  request,
  onJoined: () => outbox.setReady(true),
  onSynced: () => (app.dataset.synced = String(Number(app.dataset.synced ?? 0) + 1)),
  showError,
});
/** The one live region: what newly arrived, said once (a new node each time, so a repeat is said again). */
function announce(text: string): void {
  const line = document.createElement('p');
  line.textContent = text;
  announcer.replaceChildren(line);
}
const ctx: EventContext = { store, catchUp: () => sync.catchUp(), announce };
setUpReading({ app, store, view, request, phone });
setUpTitle(store);
setUpRoomOpening({ store, request, showError });
const notifier = setUpNotifications({
  app,
  store,
  inView: (roomId) => roomShown(store.state, roomId, phone),
  open: (roomId) => {
    store.update((s) => activateRoom(s, roomId, true));
    queueMicrotask(() => view.pane(roomId)?.input.focus());
  },
});

// A handshake refused "not now" is not retried by socket.io-client: the page retries it, with
// growing, jittered pauses (./backoff.ts), the connection banner shown meanwhile.
let refusals = 0;
let retryTimer = 0;

socket.on('connect', () => {
  refusals = 0;
  window.clearTimeout(retryTimer);
  banner.hidden = true;
  store.update((s) => setConnected(s, true, Date.now()));
  sync.start();
});
// Signing out: the socket goes with the page, and is neither reconnected nor sent to /login a
// second time (that visit would spend the sign-in page's one "You have signed out" note).
let signingOut = false;
app.querySelector('form[action="/logout"]')?.addEventListener('submit', () => {
  signingOut = true;
  socket.disconnect();
});

socket.on('disconnect', (why) => {
  if (signingOut) return;
  banner.hidden = false;
  sync.stop();
  outbox.setReady(false);
  store.update((s) => setConnected(s, false, Date.now()));
  // The server closed this socket on purpose (e.g. signed out elsewhere): try once more by hand.
  if (why === 'io server disconnect') socket.connect();
});
socket.on('connect_error', (err) => {
  if (signingOut) return;
  if (err.message === 'unauthorized') return window.location.assign('/login');
  banner.hidden = false;
  if (socket.active) return;
  if (RETRYABLE_REFUSALS.includes(err.message)) {
    const pause = backoffDelay(refusals++);
    app.dataset.retryMs = String(pause);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(() => socket.connect(), pause);
    return;
  }
  showError(`Could not connect: ${reasonOf(err)}`);
});

socket.on('internal_msg', (m) => onInternalMsg(ctx, m));
socket.on('internal_msg', (m) => notifier.message(m));
socket.on('read', (r) => onRead(ctx, r));
socket.on('status', (s) => onStatus(ctx, s));
socket.on('typing', (t) => onTyping(ctx, t));
socket.on('room_added', (room) => onRoomAdded(ctx, room));
socket.on('room_removed', (room) => onRoomRemoved(ctx, room));
socket.on('resync', (event) => onResync(ctx, event));
socket.on('presence', (p) => onPresence(ctx, p));

const { openRoom } = setUpControls({ app, store, view, socket, request, outbox, showError });
setUpMembers({ app, store, view, socket, request });
setUpDirect({ store, socket, request, openRoom, showError });
