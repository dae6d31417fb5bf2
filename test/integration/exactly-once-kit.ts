/**
 * The exactly-once fault rounds shared by the Redis-restart test and the cluster failover test:
 * 20 users on two nodes in four rooms of ten, every user sending with a fresh client_id and
 * resending while the outcome is unknown, a fault in the middle, then the checks — every message
 * acknowledged, stored once (counted by client_id), delivered once to every member (live, or by
 * the catch-up a reconnect or `resync` started), no refusal but `service unavailable`.
 */
import assert from 'node:assert/strict';
import type { Message } from '../../src/shared/types.js';
import { connect, createChat, login, type SignedIn } from '../helpers/client.js';
import type { TestServer } from '../helpers/server.js';
import {
  Member,
  outboxFigures,
  outgoing,
  readAll,
  sendUntilAcked,
  storedCopies,
  textClientId,
  waitFor,
  type Outgoing,
} from './fault-kit.js';

/** The store answers or gives up within this time in these tests. */
export const STORE_TIMEOUT_MS = 1000;
/** An ack later than this is "no answer". */
export const ACK_MS = 3000;
export const SEND_GAP_MS = 50;

/**
 * The nodes' settings: the rate limits and the kept history are raised so that none can pass for
 * a fault (each user sends ~20 texts a second, over the default 20 per 10 s, plus a burst of
 * `history` pages at each catch-up, over the per-user event budget; 20 users sign in from one
 * address; the rooms hold every message of every round).
 */
export const ROUND_ENV = {
  STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
  RATE_LIMIT_COUNT: '1000000',
  EVENTS_PER_SECOND: '1000000',
  EVENT_BURST: '1000000',
  SIGNINS_PER_MINUTE: '1000',
  HISTORY_KEEP: '100000',
};

/**
 * Users i = 0..19, user i on node A when i is even, else B. Four rooms of ten, each with five
 * members on each node; every user is in two of them and sends to both in turn.
 */
export const TWENTY_ROOMS: number[][] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  [0, 1, 2, 3, 4, 10, 11, 12, 13, 14],
  [5, 6, 7, 8, 9, 15, 16, 17, 18, 19],
];

export interface Seated {
  users: SignedIn[];
  roomIds: string[];
  members: Member[];
}

/** Signs the 20 users in (even on `a`, odd on `b`), makes the four rooms, opens their pages. */
export async function seatTwenty(a: TestServer, b: TestServer, tag: string): Promise<Seated> {
  const node = (i: number): TestServer => (i % 2 === 0 ? a : b);
  const users: SignedIn[] = [];
  for (let i = 0; i < 20; i++) users.push(await login(node(i).url, `${tag}-${i}`));
  const roomIds: string[] = [];
  for (const [r, list] of TWENTY_ROOMS.entries()) {
    const [creator, ...rest] = list.map((i) => users[i]!);
    const res = await createChat(
      a.url,
      creator!.cookie,
      `${tag}-${r}`,
      rest.map((u) => u.uid),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    roomIds.push(res.body.room_id!);
  }
  const members: Member[] = [];
  for (let i = 0; i < 20; i++) {
    const mine = TWENTY_ROOMS.flatMap((list, r) => (list.includes(i) ? [roomIds[r]!] : []));
    const m = new Member(users[i]!, mine);
    await m.use(await connect(node(i).url, users[i]!.cookie, { reconnection: 'page' }));
    members.push(m);
  }
  return { users, roomIds, members };
}

export interface RoundOptions {
  run: number;
  /** Must the fault be felt (some message answered unavailable, late or cut off)? */
  mustBeFelt: boolean;
  /** Does the fault; resolves when it is over, with figures of its own for the line. */
  fault(): Promise<Record<string, unknown>>;
}

export interface RoundResult {
  row: Record<string, unknown>;
  problems: string[];
}

/** One round: send for a second, the fault, on until acks flow again, then check everything. */
export async function exactlyOnceRound({ members, roomIds }: Seated, opts: RoundOptions): Promise<RoundResult> {
  const { run } = opts;
  const before = members.map((m) => ({
    liveDuplicates: m.liveDuplicates,
    liveOutOfOrder: m.liveOutOfOrder,
    resyncs: m.resyncs,
    reconnects: m.reconnects,
    disconnects: m.disconnectCount(),
  }));
  const outs: Outgoing[] = [];
  let sending = true;
  // Bounded: the loop stops when told, and each message gives up after 200 attempts or the
  // deadline (it is then counted unanswered).
  const deadline = Date.now() + 60_000;
  const loops = members.map(async (m, i) => {
    const rooms = [...m.views.keys()];
    for (let n = 0; sending && n < 1000; n++) {
      const out = outgoing(rooms[n % rooms.length]!, `r${run}-u${i}-${n}`);
      outs.push(out);
      await sendUntilAcked(m, out, { ackMs: ACK_MS, retryMs: 200, maxAttempts: 200, deadline });
      await new Promise((r) => setTimeout(r, SEND_GAP_MS));
    }
  });
  await new Promise((r) => setTimeout(r, 1000));
  const faultFigures = await opts.fault();
  const overAt = Date.now();
  // Go on sending until the nodes answer again, then a while longer.
  const ackedAfter = (): boolean => outs.some((o) => (o.ackedAt ?? 0) > overAt);
  await waitFor(ackedAfter, 15_000, 'an ack after the fault').catch(() => {});
  const firstAckAfterFaultMs = Math.min(...outs.map((o) => o.ackedAt ?? Infinity).filter((t) => t > overAt)) - overAt;
  await new Promise((r) => setTimeout(r, 1500));
  sending = false;
  await Promise.all(loops);
  const drainedMs = Date.now() - overAt;

  // Every member's view must come to hold every stored message of its rooms by itself (live, or
  // the catch-up a reconnect or `resync` started): no extra catch-up here.
  const stored = new Map<string, Message[]>();
  for (const [r, id] of roomIds.entries()) {
    const reader = members[TWENTY_ROOMS[r]![0]!]!;
    stored.set(id, await readAll(reader.socket, id));
  }
  const complete = (): boolean =>
    members.every((m) =>
      [...m.views.keys()].every(
        (id) =>
          m.missing(
            id,
            stored.get(id)!.map((x) => x.id),
          ).length === 0,
      ),
    );
  await waitFor(complete, 15_000, 'every view to hold every stored message').catch(() => {});
  await Promise.all(members.map((m) => m.syncing));

  const copies = storedCopies(outs, [...stored.values()].flat());
  const f = outboxFigures(outs);
  // Deliveries of this round's messages only (earlier rounds were checked in their turn).
  let missingDeliveries = 0;
  for (const m of members)
    for (const id of m.views.keys()) {
      const roundIds = stored
        .get(id)!
        .filter((x) => copies.copies.has(textClientId(x.msg) ?? ''))
        .map((x) => x.id);
      missingDeliveries += m.missing(id, roundIds).length;
    }
  const delta = (k: 'liveDuplicates' | 'liveOutOfOrder' | 'resyncs' | 'reconnects') =>
    members.reduce((n, m, i) => n + m[k] - before[i]![k], 0);
  const row = {
    runs: run,
    messages: f.messages,
    acked: f.acked,
    lost: copies.lost.length,
    doubled: copies.doubled.length,
    unanswered: f.unanswered,
    resent: f.resent,
    liveDuplicates: delta('liveDuplicates'),
    // Details:
    extraCopies: copies.extraCopies,
    unavailable: f.unavailable,
    ackTimeouts: f.ackTimeouts,
    ackLostToDisconnect: f.ackLostToDisconnect,
    answeredStored: f.answeredStored,
    otherRefusals: f.otherRefusals,
    ackConflicts: f.ackConflicts,
    ackNamesOtherCopy: copies.wrongAck.length,
    clientIdFieldMissing: copies.fieldMissing,
    missingDeliveries,
    liveOutOfOrder: delta('liveOutOfOrder'),
    resyncs: delta('resyncs'),
    reconnects: delta('reconnects'),
    disconnects: members.reduce((n, m, i) => n + m.disconnectCount() - before[i]!.disconnects, 0),
    ...faultFigures,
    firstAckAfterFaultMs,
    drainedAfterFaultMs: drainedMs,
  };

  const problems: string[] = [];
  const refusals = [...new Set(outs.flatMap((o) => (o.refusal ? [o.refusal] : [])))];
  const check = (ok: boolean, what: string): void => {
    if (!ok) problems.push(`run ${run}: ${what}`);
  };
  check(f.acked === f.messages, `${f.messages - f.acked} of ${f.messages} not acknowledged`);
  check(copies.lost.length === 0, `${copies.lost.length} lost`);
  check(copies.doubled.length === 0, `${copies.doubled.length} stored more than once`);
  check(f.otherRefusals === 0, `refusals other than 'service unavailable': ${refusals.join(', ')}`);
  check(f.ackConflicts === 0 && copies.wrongAck.length === 0, 'an ack named another message');
  check(copies.fieldMissing === 0, `${copies.fieldMissing} stored messages without their client_id`);
  check(missingDeliveries === 0, `${missingDeliveries} (message, member) deliveries missing`);
  check(row.liveDuplicates === 0, `${row.liveDuplicates} ids delivered live twice to one socket`);
  check(row.liveOutOfOrder === 0, `${row.liveOutOfOrder} live messages older than one already delivered`);
  check(f.messages > 0, 'nothing sent');
  if (opts.mustBeFelt) check(f.unavailable + f.ackTimeouts + f.ackLostToDisconnect > 0, 'the fault was not felt');
  return { row, problems };
}

/** Adds a round's headline figures to the totals. */
export function addUp(totals: Record<string, number>, row: Record<string, unknown>): void {
  for (const k of ['messages', 'lost', 'doubled', 'unanswered', 'missingDeliveries', 'liveDuplicates'])
    totals[k] = (totals[k] ?? 0) + Number(row[k] ?? 0);
}
