/**
 * The per-user socket cap's Redis leases (src/chat/socket-limit.ts): claims are capped, and a
 * renewal — batched over many users per call — extends exactly the leases still held.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createSocketLimiter, LEASE_MS } from '../../src/chat/socket-limit.js';
import { createLogger } from '../../src/logger.js';
import { cleanRedis, newPrefix, redisSkip, testRedisUrl } from '../helpers/server.js';

describe('socket leases in Redis', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  const key = (uid: string): string => `${prefix}user:${uid}:sockets`;
  let redis: Redis;
  before(() => {
    redis = new Redis(testRedisUrl);
  });
  after(async () => {
    await cleanRedis(prefix);
    redis.disconnect();
  });

  it('caps claims per user, and a renewal over several batches extends only the held leases', async () => {
    const limiter = createSocketLimiter({ max: 2, redis, key, logger: createLogger('silent') });
    assert.equal(await limiter.acquire('cap', 's1'), true);
    assert.equal(await limiter.acquire('cap', 's2'), true);
    assert.equal(await limiter.acquire('cap', 's3'), false, 'a third socket is over the cap');
    assert.equal(await limiter.acquire('cap', 's2'), true, 'the same socket again is not a new one');

    // 450 users (three renewal batches), two sockets each; leases made to look nearly spent.
    const open = new Map<string, string[]>();
    for (let i = 0; i < 450; i++) {
      const uid = `u${i}`;
      assert.equal(await limiter.acquire(uid, `${uid}-a`), true);
      assert.equal(await limiter.acquire(uid, `${uid}-b`), true);
      open.set(uid, [`${uid}-a`, `${uid}-b`, `${uid}-gone`]);
    }
    const [sec] = await redis.time();
    const nearlySpent = Number(sec) * 1000 + 1000;
    const pipe = redis.pipeline();
    for (const uid of open.keys()) pipe.zadd(key(uid), nearlySpent, `${uid}-a`, nearlySpent, `${uid}-b`);
    await pipe.exec();

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
});
