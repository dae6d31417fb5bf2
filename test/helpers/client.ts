/**
 * Real clients for tests: sign in over HTTP, connect real socket.io-client sockets (websocket,
 * no reconnection unless asked), emit with acknowledgements, and record received events.
 */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../../src/shared/events.js';

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

/** POST /chat/create_chat as the signed-in user (same-origin, like the page's fetch). */
export async function createChat(url: string, cookie: string, room_name: string, users: string[]) {
  const res = await fetch(`${url}/chat/create_chat`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ room_name, users }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
