/**
 * Helpers for the contract's integration tests: signed-in users with any number of sockets
 * ("tabs"), strict delivery counting (an extra delivery after the expected ones fails), and
 * paging through `history`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { compareIds as compareParsedIds, parseId } from '../../src/store/ids.js';
import type { Message } from '../../src/shared/types.js';
import {
  connect,
  emitAck,
  login,
  marker,
  markerText,
  record,
  sleep,
  type ChatClient,
  type SignedIn,
} from './client.js';

export const MESSAGE_KEYS = ['id', 'msg', 'name', 'picture', 'room_id', 'time', 'type', 'uid'];
export const ID_RE = /^\d+-\d+$/;

/** A name no other test in this run uses (at most 40 characters). */
export function uname(tag: string): string {
  return `${tag.slice(0, 24)} ${randomBytes(4).toString('hex')}`;
}

export type Recorder = ReturnType<typeof recordAll>;

export function recordAll(socket: ChatClient) {
  return record(socket, 'internal_msg', 'status', 'room_added', 'room_removed', 'typing', 'read', 'presence');
}

export interface Tab {
  socket: ChatClient;
  rec: Recorder;
}

export interface User extends SignedIn {
  url: string;
  tabs: Tab[];
}

/** Every socket opened through these helpers, closed by `closeAll`. */
const opened: ChatClient[] = [];

export async function signIn(url: string, name: string, extra: Record<string, string> = {}): Promise<User> {
  const s = await login(url, name, extra);
  return { ...s, url, tabs: [] };
}

/** Opens a socket for the user (on `url`, default the sign-in node), records it and sends `joined`. */
export async function openTab(user: User, url = user.url, join = true): Promise<Tab> {
  const socket = await connect(url, user.cookie);
  opened.push(socket);
  const tab = { socket, rec: recordAll(socket) };
  user.tabs.push(tab);
  if (join) {
    const ack = await emitAck<{ rooms: unknown[] }>(socket, 'joined', {});
    assert.equal(ack.ok, true, `joined refused: ${JSON.stringify(ack)}`);
  }
  return tab;
}

export function closeAll(): void {
  for (const s of opened.splice(0)) s.close();
}

/** Clears what a tab has recorded so far. */
export function clear(...tabs: Tab[]): void {
  for (const t of tabs) t.rec.all.length = 0;
}

type EventName = 'internal_msg' | 'status' | 'room_added' | 'room_removed' | 'typing' | 'read' | 'presence';

/**
 * How a check makes sure nothing else arrives: `'marker'` (a round trip on every checked tab, after
 * which whatever the server had sent them has arrived: ./client.ts `marker`), `{through, room_id}`
 * (one marker message posted by the tab `through` into the room, awaited on every checked tab —
 * each must be in the room — for events that reach a tab's node through Redis from another node),
 * or a fixed wait in ms.
 */
export type Settle = number | 'marker' | { through: Tab; room_id: string };

async function settle(tabs: Tab[], how: Settle): Promise<void> {
  if (how === 'marker') await Promise.all(tabs.map((t) => marker(t.socket)));
  else if (typeof how === 'object') await markerMessage(tabs, how.through, how.room_id);
  else await sleep(how);
}

/**
 * Posts one marker message (./client.ts `isMarker`) and waits until every tab recorded it: it
 * travels the room's channel behind everything published there before, so whatever those tabs
 * were sent before it has arrived. It is then taken out of what they (and the sender) recorded,
 * so counts and orders are of the test's own messages; it stays in the room's history.
 */
async function markerMessage(tabs: Tab[], through: Tab, room_id: string): Promise<void> {
  const msg = markerText();
  const ack = await emitAck<{ id: string }>(through.socket, 'text', { room_id, msg });
  if (!ack.ok) throw new Error(`marker message refused: ${ack.error}`);
  const isIt = (m: Message): boolean => m.room_id === room_id && m.msg === msg;
  await Promise.all(
    tabs.map((t, i) =>
      t.rec.until(() => (t.rec.of('internal_msg') as Message[]).some(isIt), 5000, `the marker message on tab ${i}`),
    ),
  );
  for (const t of new Set([...tabs, through])) {
    const kept = t.rec.all.filter((g) => !(g.event === 'internal_msg' && isIt(g.data as Message)));
    t.rec.all.splice(0, t.rec.all.length, ...kept);
  }
}

/**
 * Waits until each tab received `n` events of the kind matching `pred`, then settles (`settleMs`:
 * a marker or a fixed wait) and fails if any tab got more than `n`: duplicates and strays fail
 * the test.
 */
export async function expectExactly<T = unknown>(
  tabs: Tab[],
  event: EventName,
  n: number,
  pred: (data: T) => boolean = () => true,
  { timeoutMs = 5000, settleMs = 'marker' as Settle } = {},
): Promise<T[][]> {
  const matching = (t: Tab): T[] => (t.rec.of(event) as T[]).filter(pred);
  await Promise.all(
    tabs.map((t, i) => t.rec.until(() => matching(t).length >= n, timeoutMs, `${n} × ${event} on tab ${i}`)),
  );
  await settle(tabs, settleMs);
  return tabs.map((t, i) => {
    const got = matching(t);
    assert.equal(got.length, n, `tab ${i} got ${got.length} × ${event}, expected exactly ${n}`);
    return got;
  });
}

/** One tab gets exactly one matching event: returns it. */
export async function expectOne<T = unknown>(
  tab: Tab,
  event: EventName,
  pred: (data: T) => boolean = () => true,
  settleMs: Settle = 'marker',
): Promise<T> {
  const [got] = await expectExactly<T>([tab], event, 1, pred, { settleMs });
  return got![0]!;
}

/** Asserts that none of the tabs received any `event` (matching `pred`) before they settled. */
export async function expectNone<T = unknown>(
  tabs: Tab[],
  event: EventName,
  pred: (data: T) => boolean = () => true,
  settleMs: Settle = 'marker',
): Promise<void> {
  await settle(tabs, settleMs);
  tabs.forEach((t, i) => {
    const got = (t.rec.of(event) as T[]).filter(pred);
    assert.equal(got.length, 0, `tab ${i} unexpectedly got ${event}: ${JSON.stringify(got).slice(0, 500)}`);
  });
}

export async function send(socket: ChatClient, roomId: string, msg: string): Promise<{ id: string; time: string }> {
  const ack = await emitAck<{ id: string; time: string }>(socket, 'text', { room_id: roomId, msg });
  if (!ack.ok) throw new Error(`text refused: ${ack.error}`);
  return { id: ack.id, time: ack.time };
}

export async function history(
  socket: ChatClient,
  q: { room_id: string; before?: string; after?: string; limit?: number },
): Promise<Message[]> {
  const ack = await emitAck<{ messages: Message[] }>(socket, 'history', q);
  if (!ack.ok) throw new Error(`history refused: ${ack.error}`);
  return ack.messages;
}

/** Every stored message of a room, oldest first, paging forward with `after`. */
export async function fullHistory(socket: ChatClient, roomId: string, pageSize = 100): Promise<Message[]> {
  const all: Message[] = [];
  let after: string | undefined;
  for (let page = 0; page < 200; page++) {
    const q =
      after === undefined
        ? { room_id: roomId, after: '0-0', limit: pageSize }
        : { room_id: roomId, after, limit: pageSize };
    const got = await history(socket, q);
    all.push(...got);
    if (got.length < pageSize) return all;
    after = got[got.length - 1]!.id;
  }
  throw new Error('history did not end within 200 pages');
}

/** Compares message ids numerically, as the stores do (src/store/ids.ts). */
export function compareIds(a: string, b: string): number {
  return compareParsedIds(parseId(a), parseId(b));
}

export function assertAscending(ids: string[], what = 'ids'): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(
      compareIds(ids[i - 1]!, ids[i]!) < 0,
      `${what} not strictly ascending at ${i}: ${ids[i - 1]} then ${ids[i]}`,
    );
  }
}

/** Messages of one room received by a tab, in arrival order. */
export function received(tab: Tab, roomId: string): Message[] {
  return (tab.rec.of('internal_msg') as Message[]).filter((m) => m.room_id === roomId);
}

/** POST with a JSON body, same-origin like the page; returns status, headers and parsed body. */
export async function postJson(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/json', origin: url, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

/** Creates a group over HTTP as `creator`; returns its id. */
export async function group(creator: User, roomName: string, members: User[]): Promise<string> {
  const res = await postJson(
    creator.url,
    '/chat/create_chat',
    { room_name: roomName, users: members.map((m) => m.uid) },
    { cookie: creator.cookie },
  );
  assert.equal(res.status, 200, res.text);
  const body = res.json() as { status: string; room_id: string };
  assert.equal(body.status, 'OK');
  return body.room_id;
}

/** The rooms of a `joined` answer as `{room_id, room_name}`, in its order (null if refused). */
export async function joinedRefs(socket: ChatClient): Promise<{ room_id: string; room_name: string }[] | null> {
  const ack = await emitAck<{ rooms: { room_id: string; room_name: string }[] }>(socket, 'joined', {});
  return ack.ok ? ack.rooms.map(({ room_id, room_name }) => ({ room_id, room_name })) : null;
}
