/**
 * Exactly once across Redis restarts (CONTRACT "Sending exactly once", first Guarantee). A private
 * redis-server (config/redis.conf's persistence) is stopped for 5 s and started again with its
 * data while 20 clients on two nodes send, each message with a fresh client_id; every message
 * answered `service unavailable`, not answered, or cut off by a disconnect is resent with the
 * same client_id until acknowledged. Clients reconnect by themselves and, on every (re)connect or
 * `resync`, send `joined` and catch every room up. Each run must end with every message
 * acknowledged, stored once (counted by client_id), and seen once by every member. Five outages
 * in one run of the file, one line of figures each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { createChat, login, type SignedIn } from '../helpers/client.js';
import { redisServerSkip, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { newPrefix, startServer, type TestServer } from '../helpers/server.js';
import {
  connectMember,
  figures,
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

const RUNS = 5;
const OUTAGE_MS = 5000;
const STORE_TIMEOUT_MS = 1000;
/** An ack later than this is "no answer" (the store answers or gives up within STORE_TIMEOUT_MS). */
const ACK_MS = 3000;
const SEND_GAP_MS = 50;
const USERS = 20;

// The rate limits and the kept history are raised so that none can pass for a fault: each user
// sends ~20 texts a second (over the default 20 per 10 s) plus a burst of `history` pages at
// each catch-up (over the per-user event budget), the test signs in 20 users from one address,
// and the rooms hold every message of the five runs.
const env = {
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
const ROOMS: number[][] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  [0, 1, 2, 3, 4, 10, 11, 12, 13, 14],
  [5, 6, 7, 8, 9, 15, 16, 17, 18, 19],
];

describe(
  'exactly once: Redis stopped for 5 s and restarted, 20 clients resending',
  {
    skip: redisServerSkip,
    timeout: 180_000,
  },
  () => {
    let redis: PrivateRedis;
    let a: TestServer;
    let b: TestServer;
    const users: SignedIn[] = [];
    const roomIds: string[] = [];
    const members: Member[] = [];

    before(async () => {
      redis = await startPrivateRedis();
      const prefix = newPrefix();
      const nodeEnv = { ...env, REDIS_URL: redis.url };
      [a, b] = await Promise.all([startServer({ prefix, env: nodeEnv }), startServer({ prefix, env: nodeEnv })]);
      const node = (i: number): TestServer => (i % 2 === 0 ? a : b);
      for (let i = 0; i < USERS; i++) users.push(await login(node(i).url, `eo-redis-${i}`));
      for (const [r, list] of ROOMS.entries()) {
        const [creator, ...rest] = list.map((i) => users[i]!);
        const res = await createChat(
          a.url,
          creator!.cookie,
          `eo-${r}`,
          rest.map((u) => u.uid),
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        roomIds.push(res.body.room_id!);
      }
      for (let i = 0; i < USERS; i++) {
        const mine = ROOMS.flatMap((list, r) => (list.includes(i) ? [roomIds[r]!] : []));
        const m = new Member(users[i]!, mine);
        await m.use(await connectMember(node(i).url, users[i]!.cookie));
        members.push(m);
      }
    });
    after(async () => {
      for (const m of members) m.socket?.close();
      await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
      await redis?.destroy();
    });

    it('every message acknowledged, stored once and delivered once to every member, over 5 outages', async () => {
      const problems: string[] = [];
      const totals = { messages: 0, lost: 0, doubled: 0, unanswered: 0, missingDeliveries: 0, liveDuplicates: 0 };
      const startedAt = Date.now();
      for (let run = 1; run <= RUNS; run++) {
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
        await redis.stop();
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        await redis.start();
        const restartedAt = Date.now();
        // Go on sending until the nodes answer again, then a while longer.
        const ackedAfterRestart = (): boolean => outs.some((o) => (o.ackedAt ?? 0) > restartedAt);
        await waitFor(ackedAfterRestart, 15_000, 'an ack after the restart').catch(() => {});
        const firstAckAfterRestartMs =
          Math.min(...outs.map((o) => o.ackedAt ?? Infinity).filter((t) => t > restartedAt)) - restartedAt;
        await new Promise((r) => setTimeout(r, 1500));
        sending = false;
        await Promise.all(loops);
        const drainedMs = Date.now() - restartedAt;

        // Every member's view must come to hold every stored message of its rooms by itself
        // (live, or the catch-up a reconnect or `resync` started): no extra catch-up here.
        const stored = new Map<string, Message[]>();
        for (const [r, id] of roomIds.entries()) {
          const reader = members[ROOMS[r]![0]!]!;
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

        const allStored = [...stored.values()].flat();
        const copies = storedCopies(outs, allStored);
        const f = outboxFigures(outs);
        // Deliveries of this run's messages only (earlier runs were checked in their turn).
        let missingDeliveries = 0;
        for (const m of members)
          for (const id of m.views.keys()) {
            const runIds = stored
              .get(id)!
              .filter((x) => copies.copies.has(textClientId(x.msg) ?? ''))
              .map((x) => x.id);
            missingDeliveries += m.missing(id, runIds).length;
          }
        const delta = (k: 'liveDuplicates' | 'liveOutOfOrder' | 'resyncs' | 'reconnects') =>
          members.reduce((n, m, i) => n + m[k] - before[i]![k], 0);
        const liveDuplicates = delta('liveDuplicates');
        const row = {
          runs: run,
          messages: f.messages,
          acked: f.acked,
          lost: copies.lost.length,
          doubled: copies.doubled.length,
          unanswered: f.unanswered,
          resent: f.resent,
          liveDuplicates,
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
          firstAckAfterRestartMs,
          drainedAfterRestartMs: drainedMs,
        };
        console.log(`[exactly-once-redis] ${figures(row)}`);
        totals.messages += f.messages;
        totals.lost += copies.lost.length;
        totals.doubled += copies.doubled.length;
        totals.unanswered += f.unanswered;
        totals.missingDeliveries += missingDeliveries;
        totals.liveDuplicates += liveDuplicates;

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
        check(liveDuplicates === 0, `${liveDuplicates} ids delivered live twice to one socket`);
        check(row.liveOutOfOrder === 0, `${row.liveOutOfOrder} live messages older than one already delivered`);
        check(f.messages > 0 && f.unavailable + f.ackTimeouts + f.ackLostToDisconnect > 0, 'the outage was not felt');
      }
      const errors = members.flatMap((m) => m.errors);
      console.log(
        `[exactly-once-redis] total ${figures({ runs: RUNS, ...totals, syncErrors: errors.length, ms: Date.now() - startedAt })}`,
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(problems, []);
    });
  },
);
