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
import { redisServerSkip, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { newPrefix, startServer, type TestServer } from '../helpers/server.js';
import { addUp, exactlyOnceRound, ROUND_ENV, seatTwenty, type Seated } from './exactly-once-kit.js';
import { figures } from './fault-kit.js';

const RUNS = 5;
const OUTAGE_MS = 5000;
describe(
  'exactly once: Redis stopped for 5 s and restarted, 20 clients resending',
  { skip: redisServerSkip, timeout: 180_000 },
  () => {
    let redis: PrivateRedis;
    let a: TestServer;
    let b: TestServer;
    let seated: Seated;

    before(async () => {
      redis = await startPrivateRedis();
      const prefix = newPrefix();
      const nodeEnv = { ...ROUND_ENV, REDIS_URL: redis.url };
      [a, b] = await Promise.all([startServer({ prefix, env: nodeEnv }), startServer({ prefix, env: nodeEnv })]);
      seated = await seatTwenty(a, b, 'eo-redis');
    });
    after(async () => {
      for (const m of seated?.members ?? []) m.socket?.close();
      await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
      await redis?.destroy();
    });

    it('every message acknowledged, stored once and delivered once to every member, over 5 outages', async () => {
      const problems: string[] = [];
      const totals: Record<string, number> = {};
      const startedAt = Date.now();
      for (let run = 1; run <= RUNS; run++) {
        const round = await exactlyOnceRound(seated, {
          run,
          mustBeFelt: true,
          fault: async () => {
            await redis.stop();
            await new Promise((r) => setTimeout(r, OUTAGE_MS));
            await redis.start();
            return { outageMs: OUTAGE_MS };
          },
        });
        console.log(`[exactly-once-redis] ${figures(round.row)}`);
        addUp(totals, round.row);
        problems.push(...round.problems);
      }
      const errors = seated.members.flatMap((m) => m.errors);
      console.log(
        `[exactly-once-redis] total ${figures({ runs: RUNS, ...totals, syncErrors: errors.length, ms: Date.now() - startedAt })}`,
      );
      assert.deepEqual(errors, []);
      assert.deepEqual(problems, []);
    });
  },
);
