/**
 * The per-user socket cap's Redis leases (src/chat/socket-limit.ts): claims are capped, and a
 * renewal — batched over many users per call — extends exactly the leases still held.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RedisClient } from '../../src/store/redis-client.js';
import { createSocketLimiter, LEASE_MS, RETURN_GRACE_MS } from '../../src/chat/socket-limit.js';
import { createLogger } from '../../src/logger.js';
import { createKeys } from '../../src/store/keys.js';
import { testRedis } from '../helpers/redis.js';
import { cleanRedis, newPrefix, redisSkip } from '../helpers/server.js';

describe('socket leases in Redis', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  const keys = createKeys(prefix);
  const key = (uid: string): string => keys.userSockets(uid);
  const presenceKey = keys.presence();
  let redis: RedisClient;
  before(() => {
    redis = testRedis('socket-limit-test');
  });
  after(async () => {
    await cleanRedis(prefix);
    redis.disconnect();
  });

  it('caps claims per user, and a renewal over several batches extends only the held leases', async () => {
    const limiter = createSocketLimiter({ max: 2, redis, key, presenceKey, logger: createLogger('silent') });
    assert.equal(await limiter.acquire('cap', 's1'), 'online', 'the first socket brings the user online');
    assert.equal(await limiter.acquire('cap', 's2'), 'more');
    assert.equal(await limiter.acquire('cap', 's3'), 'refused', 'a third socket is over the cap');
    assert.equal(await limiter.acquire('cap', 's2'), 'more', 'the same socket again is not a new one');

    // 450 users (three renewal batches), two sockets each; leases made to look nearly spent.
    const open = new Map<string, string[]>();
    for (let i = 0; i < 450; i++) {
      const uid = `u${i}`;
      assert.equal(await limiter.acquire(uid, `${uid}-a`), 'online');
      assert.equal(await limiter.acquire(uid, `${uid}-b`), 'more');
      open.set(uid, [`${uid}-a`, `${uid}-b`, `${uid}-gone`]);
    }
    const [sec] = await redis.time();
    const nearlySpent = Number(sec) * 1000 + 1000;
    // One command per user (each user's keys are a cluster slot of their own), sent together.
    await Promise.all(
      [...open.keys()].map((uid) => redis.zadd(key(uid), nearlySpent, `${uid}-a`, nearlySpent, `${uid}-b`)),
    );

    await limiter.renew(open);

    const [sec2] = await redis.time();
    const floor = Number(sec2) * 1000 + LEASE_MS - 5000;
    for (const uid of open.keys()) {
      const entries = await redis.zrange(key(uid), 0, -1, 'WITHSCORES');
      assert.equal(entries.length, 4, `${uid}: only the two held sockets, "gone" not added`);
      assert.ok(Number(entries[1]) > floor && Number(entries[3]) > floor, `${uid}: leases extended`);
      assert.ok((await redis.pttl(key(uid))) > LEASE_MS - 5000, `${uid}: key expiry extended`);
    }
  });

  it('presence: the last socket closing leaves a short grace (a reload is no flap); then one node claims the user offline', async () => {
    for (const limiter of [
      createSocketLimiter({ max: 5, redis, key, presenceKey, logger: createLogger('silent') }),
      createSocketLimiter({ max: 5, redis: null, key, presenceKey, logger: createLogger('silent') }),
    ]) {
      const uid = `grace-${Math.random().toString(36).slice(2, 8)}`;
      assert.equal(await limiter.acquire(uid, 'a'), 'online');
      assert.deepEqual([...(await limiter.online([uid, 'nobody']))], [uid]);
      await limiter.release(uid, 'a');
      assert.equal(await limiter.acquire(uid, 'b'), 'more', 'back within the grace');
      await limiter.release(uid, 'b');
      assert.deepEqual([...(await limiter.online([uid]))], [uid], 'online during the grace');
      assert.deepEqual(await limiter.sweep(), [], 'not swept during the grace');
    }
    const uid = `grace-redis-${Math.random().toString(36).slice(2, 8)}`;
    const nodes = [0, 1].map(() =>
      createSocketLimiter({ max: 5, redis, key, presenceKey, logger: createLogger('silent') }),
    );
    assert.equal(await nodes[0]!.acquire(uid, 'a'), 'online');
    await nodes[0]!.release(uid, 'a');
    const until = Number(await redis.zscore(presenceKey, uid));
    const [sec] = await redis.time();
    assert.ok(until - Number(sec) * 1000 <= RETURN_GRACE_MS + 1000, 'online until the grace ends');
    // The grace made to have passed: of two nodes sweeping at once, exactly one claims the user.
    await redis.zadd(presenceKey, 1, uid);
    const swept = await Promise.all(nodes.map((n) => n.sweep()));
    assert.deepEqual(
      swept.flat().filter((u) => u === uid),
      [uid],
    );
    assert.deepEqual([...(await nodes[1]!.online([uid]))], []);
    assert.equal(await nodes[1]!.acquire(uid, 'c'), 'online', 'the next socket brings the user online again');
  });
});
