/**
 * Real clients for tests: sign in over HTTP, connect real socket.io-client sockets (websocket,
 * no reconnection unless asked), emit with acknowledgements, and record received events.
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

export function connect(url: string, cookie: string, opts: { reconnection?: boolean } = {}): Promise<ChatClient> {
  const socket: ChatClient = io(`${url}/chat`, {
    transports: ['websocket'],
    extraHeaders: cookie ? { cookie } : {},
    reconnection: opts.reconnection ?? false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timed out')), 5000);
    socket.once('connect', () => (clearTimeout(timer), resolve(socket)));
    socket.once('connect_error', (err) => (clearTimeout(timer), socket.close(), reject(err)));
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
