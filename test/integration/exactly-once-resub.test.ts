/**
 * No ack lost to a resync (issue 11): when a node's adapter subscriber loses its connection while
 * Redis stays up, the node must not close its clients' transports when the subscriber is back;
 * it tells them `resync` and they catch up on the same connection. The subscriber is cut with
 * `CLIENT KILL USER <node's user> TYPE pubsub` on a private redis-server (on the shared one it
 * would cut other people's nodes too); each node signs in to Redis as a user of its own, so only
 * that node's subscriber goes. Right after the cut, that node's clients send every few ms for
 * half a second: every send must be acknowledged, no client disconnected, every socket told to
 * resync, and what the other node published meanwhile seen by every client once caught up.
 * Ten times, one line of figures each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { connect, createChat, login, type SignedIn } from '../helpers/client.js';
import { redisServerSkip, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { newPrefix, startServer, type TestServer } from '../helpers/server.js';
import {
  attempt,
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
import { ROUND_ENV } from './exactly-once-kit.js';

const REPEATS = 10;
const BURST_MS = 500;
const ACK_MS = 3000;
// Rate limits raised (each client sends every 5-10 ms), history kept for every message.
const env = ROUND_ENV;
/** Redis users the nodes sign in as: `CLIENT KILL USER` then picks one node's connections. */
const NODE_USERS = ['node-cut', 'node-other'];
const ON_CUT = 4;
const ON_OTHER = 2;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(
  'exactly once: sends right after the adapter subscriber comes back',
  {
    skip: redisServerSkip,
    timeout: 120_000,
  },
  () => {
    let redis: PrivateRedis;
    let cut: TestServer;
    let other: TestServer;
    const members: Member[] = [];
    let room = '';

    before(async () => {
      redis = await startPrivateRedis();
      const admin = await redis.client();
      for (const u of NODE_USERS) await admin.call('ACL', 'SETUSER', u, 'on', '>pw', '~*', '&*', '+@all');
      admin.disconnect();
      const prefix = newPrefix();
      const url = (user: string): string => `redis://${user}:pw@127.0.0.1:${redis.port}/0`;
      [cut, other] = await Promise.all([
        startServer({ prefix, env: { ...env, REDIS_URL: url(NODE_USERS[0]!) } }),
        startServer({ prefix, env: { ...env, REDIS_URL: url(NODE_USERS[1]!) } }),
      ]);
      const users: SignedIn[] = [];
      for (let i = 0; i < ON_CUT + ON_OTHER; i++) users.push(await login(cut.url, `eo-resub-${i}`));
      const res = await createChat(
        cut.url,
        users[0]!.cookie,
        'resub',
        users.slice(1).map((u) => u.uid),
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      room = res.body.room_id!;
      for (const [i, u] of users.entries()) {
        // Pages here catch up with the batched `catch_up` (exactly-once-redis uses `history`).
        const m = new Member(u, [room], 'catch_up');
        await m.use(await connect((i < ON_CUT ? cut : other).url, u.cookie, { reconnection: 'page' }));
        members.push(m);
      }
    });
    after(async () => {
      for (const m of members) m.socket?.close();
      await Promise.all([cut?.kill('SIGKILL'), other?.kill('SIGKILL')]);
      await redis?.destroy();
    });

    it('every send acknowledged, no client dropped, resync received, the gap caught up (10 repeats)', async () => {
      const onCut = members.slice(0, ON_CUT);
      const onOther = members.slice(ON_CUT);
      const admin = await redis.client();
      const problems: string[] = [];
      try {
        for (let rep = 1; rep <= REPEATS; rep++) {
          const before = members.map((m) => ({ resyncs: m.resyncs, disconnects: m.disconnectCount() }));
          const firstResyncAt: number[] = [];
          const resyncListeners = onCut.map((m) => {
            const fn = (): void => void firstResyncAt.push(Date.now());
            m.socket.once('resync', fn);
            return fn;
          });
          // The other node publishes all through the cut, from before it to well after.
          const fromOther: Outgoing[] = [];
          let otherSending = true;
          const otherLoop = (async () => {
            const m = onOther[0]!;
            for (let n = 0; otherSending && n < 500; n++) {
              const out = outgoing(room, `rep${rep}-other-${n}`);
              fromOther.push(out);
              await attempt(m, out, ACK_MS);
              await sleep(10);
            }
          })();
          await sleep(50);

          const killed = Number(await admin.call('CLIENT', 'KILL', 'USER', NODE_USERS[0]!, 'TYPE', 'pubsub'));
          const cutAt = Date.now();
          // Each client on the cut node: a send every 5-10 ms for BURST_MS, none waiting for the
          // previous ack; the first attempt of each is what is judged.
          const burst: Outgoing[] = [];
          const firsts: Promise<unknown>[] = [];
          await Promise.all(
            onCut.map(async (m, i) => {
              for (let n = 0; Date.now() - cutAt < BURST_MS && n < 200; n++) {
                const out = outgoing(room, `rep${rep}-cut-u${i}-${n}`);
                burst.push(out);
                firsts.push(attempt(m, out, ACK_MS));
                await sleep(5 + Math.floor(Math.random() * 6));
              }
            }),
          );
          await Promise.all(firsts);
          await waitFor(() => firstResyncAt.length === onCut.length, 3000, 'resync on every socket').catch(() => {});
          otherSending = false;
          await otherLoop;
          const firstTry = outboxFigures(burst);
          const notAckedFirst = burst.filter((o) => !o.ack).length;
          // Settle what was not acknowledged (same client_id) so the room's history is exact.
          for (const out of [...burst, ...fromOther].filter((o) => !o.ack && !o.refusal)) {
            const m = out.msg.includes('-cut-u') ? onCut[Number(/-cut-u(\d+)-/.exec(out.msg)![1])]! : onOther[0]!;
            await sendUntilAcked(m, out, { ackMs: ACK_MS, retryMs: 100, maxAttempts: 20 });
          }
          for (const [i, m] of onCut.entries()) m.socket.off('resync', resyncListeners[i]);

          const stored: Message[] = await readAll(onOther[0]!.socket, room);
          const all = [...burst, ...fromOther];
          const copies = storedCopies(all, stored);
          const ours = stored.filter((x) => copies.copies.has(textClientId(x.msg) ?? '')).map((x) => x.id);
          const missingFor = (m: Member): number => m.missing(room, ours).length;
          await waitFor(() => members.every((m) => missingFor(m) === 0), 10_000, 'every view complete').catch(() => {});
          await Promise.all(members.map((m) => m.syncing));

          // The other node's messages that the cut node's clients did not get live: the gap.
          const otherIds = fromOther.flatMap((o) => (o.ack ? [o.ack.id] : []));
          const gap = onCut.map((m) => otherIds.filter((id) => !m.liveKeys.has(`${room} ${id}`)).length);
          const delta = (k: 'resyncs' | 'disconnects', list: Member[], offset: number): number =>
            list.reduce(
              (n, m, i) => n + (k === 'resyncs' ? m.resyncs : m.disconnectCount()) - before[i + offset]![k],
              0,
            );
          const resyncedSockets = onCut.filter((m, i) => m.resyncs > before[i]!.resyncs).length;
          const missingDeliveries = members.reduce((n, m) => n + missingFor(m), 0);
          const row = {
            repeat: rep,
            sent: burst.length,
            ackedFirstTry: burst.length - notAckedFirst,
            notAckedFirstTry: notAckedFirst,
            ackTimeouts: firstTry.ackTimeouts,
            ackLostToDisconnect: firstTry.ackLostToDisconnect,
            unavailable: firstTry.unavailable,
            otherRefusals: outboxFigures(all).otherRefusals,
            subscribersKilled: killed,
            resyncMs: firstResyncAt.length ? Math.min(...firstResyncAt) - cutAt : -1,
            resyncedSockets: `${resyncedSockets}/${onCut.length}`,
            resyncsOnOtherNode: delta('resyncs', onOther, ON_CUT),
            disconnectsCutNode: delta('disconnects', onCut, 0),
            otherNodeSent: fromOther.length,
            otherMissedLivePerClient: gap,
            missingDeliveries,
            lost: copies.lost.length,
            doubled: copies.doubled.length,
            liveDuplicates: members.reduce((n, m) => n + m.liveDuplicates, 0),
            liveOutOfOrder: members.reduce((n, m) => n + m.liveOutOfOrder, 0),
          };
          console.log(`[exactly-once-resub] ${figures(row)}`);
          const check = (ok: boolean, what: string): void => {
            if (!ok) problems.push(`repeat ${rep}: ${what}`);
          };
          check(killed === 1, `CLIENT KILL cut ${killed} subscriber connections, not 1`);
          check(notAckedFirst === 0, `${notAckedFirst} of ${burst.length} sends not acknowledged`);
          check(row.disconnectsCutNode === 0, `${row.disconnectsCutNode} clients of the cut node disconnected`);
          check(resyncedSockets === onCut.length, `resync reached ${resyncedSockets} of ${onCut.length} sockets`);
          check(row.otherRefusals === 0, 'refusals');
          check(missingDeliveries === 0, `${missingDeliveries} deliveries missing after catch-up`);
          check(copies.lost.length + copies.doubled.length === 0, 'lost or doubled');
          check(row.liveDuplicates === 0, 'live duplicates');
          check(row.liveOutOfOrder === 0, 'live messages out of order');
          check(copies.fieldMissing === 0, `${copies.fieldMissing} stored messages without their client_id`);
        }
      } finally {
        admin.disconnect();
      }
      assert.deepEqual(
        members.flatMap((m) => m.errors),
        [],
      );
      assert.deepEqual(problems, []);
    });
  },
);
