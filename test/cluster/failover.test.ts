/**
 * Failover of a Redis Cluster master under traffic (issue "Past one Redis"): a private cluster of
 * 3 masters and 3 replicas (test/helpers/redis-cluster.ts), two chat nodes on it through
 * REDIS_CLUSTER_NODES, 20 clients sending, each message with a fresh client_id and resent with
 * the same one while its outcome is unknown (`service unavailable`, no answer, a disconnect).
 * Faults, one per run: a graceful `CLUSTER FAILOVER` of the master of the busiest room's slot,
 * then a SIGKILL of that room's (new) master, then a graceful failover again. Each run must end
 * with every message acknowledged, stored once (counted by client_id), seen once by every member
 * (live, or by the catch-up that `resync` starts when the nodes' sharded subscribers were moved),
 * and no answer other than `service unavailable` (never "internal error").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { createChat, login, type SignedIn } from '../helpers/client.js';
import { createKeys } from '../../src/store/keys.js';
import { redisClusterSkip, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
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
} from '../integration/fault-kit.js';

const FAULTS = ['failover', 'kill', 'failover'] as const;
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
  'exactly once: a Redis Cluster master fails over (gracefully, and by SIGKILL), 20 clients resending',
  {
    skip: redisClusterSkip,
    timeout: 240_000,
  },
  () => {
    let cluster: RedisClusterHandle;
    let prefix = '';
    let a: TestServer;
    let b: TestServer;
    const users: SignedIn[] = [];
    const roomIds: string[] = [];
    const members: Member[] = [];

    before(async () => {
      cluster = await startRedisCluster();
      prefix = newPrefix();
      const nodeEnv = { ...env, REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.seeds };
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
      await cluster?.stop();
    });

    it('every message acknowledged, stored once and delivered once to every member, over 3 failovers', async () => {
      const problems: string[] = [];
      const totals = { messages: 0, lost: 0, doubled: 0, unanswered: 0, missingDeliveries: 0, liveDuplicates: 0 };
      const startedAt = Date.now();
      for (const [r, fault] of FAULTS.entries()) {
        const run = r + 1;
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
        // The master of the first room's messages (and so of its channel).
        const master = await cluster.masterForKey(createKeys(prefix).roomMessages(roomIds[0]!));
        const result = fault === 'kill' ? await cluster.killMaster(master) : await cluster.failover(master);
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
        for (const [i, id] of roomIds.entries()) {
          const reader = members[ROOMS[i]![0]!]!;
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
          fault,
          faultMs: result.ms,
          firstAckAfterFaultMs: firstAckAfterRestartMs,
          drainedAfterFaultMs: drainedMs,
        };
        console.log(`[cluster-failover] ${figures(row)}`);
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
        check(f.messages > 0, 'nothing sent');
        // The killed node comes back as a replica, so the next run has a replica to fail over to.
        if (fault === 'kill') await cluster.restartNode(master);
      }
      const errors = members.flatMap((m) => m.errors);
      console.log(
        `[cluster-failover] total ${figures({ runs: FAULTS.length, ...totals, syncErrors: errors.length, ms: Date.now() - startedAt })}`,
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(problems, []);
    });
  },
);
