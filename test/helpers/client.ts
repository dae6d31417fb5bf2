/**
 * The one test client: sign in over HTTP, connect real socket.io-client sockets (websocket, no
 * reconnection unless asked), emit with acknowledgements, record received events, and prove that
 * nothing else arrives (`marker`). The integration, cluster and browser suites' Node-side sockets
 * are all made by `connect`. (bench/lib/client.mjs is the bench's own: see there.)
 */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../../src/shared/events.js';
import type { Message } from '../../src/shared/types.js';

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface SignedIn {
  cookie: string;
  uid: string;
  name: string;
}

/** POST /login (dev) as JSON; returns the session cookie and the uid (from /chat/get_users of another user, or computed). */
export async function login(url: string, name: string, extra: Record<string, string> = {}): Promise<SignedIn> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, ...extra }),
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`login ${name}: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { uidForName } = await import('../../src/auth/dev.js');
  return { cookie, uid: uidForName(name.trim()), name: name.trim() };
}

export interface ConnectOptions {
  /**
   * socket.io-client's own reconnection: off by default (a test decides when a socket comes back);
   * `'page'` is a chat page's socket minus the browser: it comes back by itself after 100 ms (at
   * most 1 s apart, so the fault tests stay short), and a refused first connection is tried again
   * too, until `timeoutMs`.
   */
  reconnection?: boolean | 'page';
  /** `['websocket']` by default; `['polling']` or `['polling', 'websocket']` for sticky-session tests. */
  transports?: ('websocket' | 'polling')[];
  /** Extra request headers of the handshake (an `origin` for the cross-site checks). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Every test socket is made here: a real socket.io-client socket on `<url>/chat` with the session
 * cookie, resolved once connected. Rejects on `connect_error` (unless `reconnection: 'page'`) or
 * after `timeoutMs`, closing the socket.
 */
export function connect(url: string, cookie: string, opts: ConnectOptions = {}): Promise<ChatClient> {
  const page = opts.reconnection === 'page';
  const timeoutMs = opts.timeoutMs ?? 5000;
  const socket: ChatClient = io(`${url}/chat`, {
    transports: opts.transports ?? ['websocket'],
    extraHeaders: { ...(cookie ? { cookie } : {}), ...opts.headers },
    reconnection: page || opts.reconnection === true,
    ...(page ? { reconnectionDelay: 100, reconnectionDelayMax: 1000 } : {}),
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (socket.close(), reject(new Error('connect timed out'))), timeoutMs);
    socket.once('connect', () => (clearTimeout(timer), resolve(socket)));
    // A page's socket keeps trying (socket.io-client retries a failed first connection itself).
    if (!page) socket.once('connect_error', (err) => (clearTimeout(timer), socket.close(), reject(err)));
  });
}

/** Emits with an acknowledgement; rejects if none comes within `ms`. */
export function emitAck<T extends object = Record<string, unknown>>(
  socket: ChatClient,
  event: string,
  payload: unknown,
  ms = 5000,
): Promise<Ack<T>> {
  return (socket.timeout(ms) as unknown as { emitWithAck(e: string, p: unknown): Promise<Ack<T>> }).emitWithAck(
    event,
    payload,
  );
}

/** Records every event of the given names, in arrival order. */
export function record<E extends keyof ServerToClientEvents>(socket: ChatClient, ...events: E[]) {
  const got: { event: E; data: Parameters<ServerToClientEvents[E]>[0] }[] = [];
  for (const event of events) {
    socket.on(
      event as keyof ServerToClientEvents,
      ((data: Parameters<ServerToClientEvents[E]>[0]) => got.push({ event, data })) as never,
    );
  }
  return {
    all: got,
    of: (event: E) => got.filter((g) => g.event === event).map((g) => g.data),
    /** Waits until `pred` holds over what was received, or fails after `ms`. */
    async until(pred: () => boolean, ms = 5000, what = 'events'): Promise<void> {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(got).slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const MARKER_PREFIX = 'marker ';

/** The text of a fresh marker message (see `marker`). */
export const markerText = (): string => `${MARKER_PREFIX}${Math.random().toString(36).slice(2)}`;

/** A marker message, to leave out of what a room's history holds. */
export const isMarker = (m: Pick<Message, 'msg'>): boolean => m.msg.startsWith(MARKER_PREFIX);

/**
 * A marker for "nothing else arrives", instead of a fixed wait. Call it after the awaited event
 * (or the action whose effects are checked), then assert on what `socket` recorded before it.
 *
 * By default one acknowledged no-op on `socket` (`catch_up` of a room nobody is in: it changes and
 * sends nothing else). The server answers it after everything it had already sent this socket,
 * and Socket.IO delivers one socket's packets in order, so once it resolves every such event — a
 * duplicate, a stray, a delivery to a socket that should get none — has been recorded.
 *
 * `through: {sender, room_id}` is for events that reach this socket's node through Redis from
 * elsewhere (another node, the posting script): `sender` posts a marker message into the room and
 * this resolves when `socket` receives it. It travels the room's channel after everything published
 * there before, so what came before it is everything. Resolves with the marker message's id (to
 * leave it out of what was received).
 *
 * It proves nothing about events a server sends later on a timer (presence sweeps, grace periods):
 * those tests wait for time to pass.
 */
export async function marker(
  socket: ChatClient,
  through?: { sender: ChatClient; room_id: string },
): Promise<string | undefined> {
  if (!through) {
    const ack = await emitAck<{ rooms: unknown[] }>(socket, 'catch_up', {
      rooms: [{ room_id: 'marker-no-such-room', after: '0-0' }],
    });
    if (!ack.ok || ack.rooms.length > 0) throw new Error(`marker: unexpected answer ${JSON.stringify(ack)}`);
    return undefined;
  }
  const msg = markerText();
  let onMessage: (m: Message) => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    onMessage = (m) => {
      if (m.room_id === through.room_id && m.msg === msg) resolve();
    };
    socket.on('internal_msg', onMessage);
  });
  try {
    const ack = await emitAck<{ id: string }>(through.sender, 'text', { room_id: through.room_id, msg });
    if (!ack.ok) throw new Error(`marker message refused: ${ack.error}`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the marker message did not arrive within 5 s')), 5000);
    });
    await Promise.race([arrived, late]).finally(() => clearTimeout(timer));
    return ack.id;
  } finally {
    socket.off('internal_msg', onMessage);
  }
}

/** POST /chat/create_chat as the signed-in user (same-origin, like the page's fetch). */
export async function createChat(url: string, cookie: string, room_name: string, users: string[]) {
  const res = await fetch(`${url}/chat/create_chat`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ room_name, users }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
