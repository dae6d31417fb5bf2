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
import { createKeys } from '../../src/store/keys.js';
import { redisClusterSkip, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { newPrefix, startServer, type TestServer } from '../helpers/server.js';
import { addUp, exactlyOnceRound, ROUND_ENV, seatTwenty, type Seated } from '../integration/exactly-once-kit.js';
import { figures } from '../integration/fault-kit.js';

const FAULTS = ['failover', 'kill', 'failover'] as const;
describe(
  'exactly once: a Redis Cluster master fails over (gracefully, and by SIGKILL), 20 clients resending',
  { skip: redisClusterSkip, timeout: 240_000 },
  () => {
    let cluster: RedisClusterHandle;
    let prefix = '';
    let a: TestServer;
    let b: TestServer;
    let seated: Seated;

    before(async () => {
      cluster = await startRedisCluster();
      prefix = newPrefix();
      const nodeEnv = { ...ROUND_ENV, REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.seeds };
      [a, b] = await Promise.all([startServer({ prefix, env: nodeEnv }), startServer({ prefix, env: nodeEnv })]);
      seated = await seatTwenty(a, b, 'eo-cluster');
    });
    after(async () => {
      for (const m of seated?.members ?? []) m.socket?.close();
      await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
      await cluster?.stop();
    });

    it('every message acknowledged, stored once and delivered once to every member, over 3 failovers', async () => {
      const problems: string[] = [];
      const totals: Record<string, number> = {};
      const startedAt = Date.now();
      for (const [r, fault] of FAULTS.entries()) {
        // The master of the first room's messages (and so of its channel).
        const master = await cluster.masterForKey(createKeys(prefix).roomMessages(seated.roomIds[0]!));
        const round = await exactlyOnceRound(seated, {
          run: r + 1,
          // A graceful failover may pass unnoticed by the senders; a killed master may not.
          mustBeFelt: fault === 'kill',
          fault: async () => {
            const result = fault === 'kill' ? await cluster.killMaster(master) : await cluster.failover(master);
            return { fault, faultMs: result.ms };
          },
        });
        console.log(`[cluster-failover] ${figures(round.row)}`);
        addUp(totals, round.row);
        problems.push(...round.problems);
        // The killed node comes back as a replica, so the next run has a replica to fail over to.
        if (fault === 'kill') await cluster.restartNode(master);
      }
      const errors = seated.members.flatMap((m) => m.errors);
      console.log(
        `[cluster-failover] total ${figures({ runs: FAULTS.length, ...totals, syncErrors: errors.length, ms: Date.now() - startedAt })}`,
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(problems, []);
    });
  },
);
