/**
 * The Lua runner (src/store/lua.ts) on real Redis (and, in the cluster stage, a real Redis
 * Cluster): a script Redis has never seen runs through EVAL and is then cached, arguments reach
 * KEYS and ARGV in order, and a script's own error is the caller's, the script run once.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { luaScript, luaScripts } from '../../src/store/lua.js';
import type { RedisClient } from '../../src/store/redis-client.js';
import { testRedis } from '../helpers/redis.js';
import { cleanRedis, newPrefix, redisSkip } from '../helpers/server.js';

describe('Lua scripts by EVALSHA, EVAL on NOSCRIPT', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  let redis: RedisClient;
  before(() => {
    redis = testRedis('lua-test');
  });
  after(async () => {
    await cleanRedis(prefix);
    redis.disconnect();
  });

  it('runs a script Redis has not cached, then from the cache; KEYS and ARGV in order', async () => {
    // A comment no other run has: this exact script is in no script cache yet.
    const lua = `#!lua\n-- ${randomBytes(8).toString('hex')}\nredis.call('INCR', KEYS[1])\nreturn {KEYS[1], KEYS[2], ARGV[1], ARGV[2], redis.call('GET', KEYS[1])}`;
    const key1 = `${prefix}{lua}:a`;
    const key2 = `${prefix}{lua}:b`;
    const run = luaScript(redis, { numberOfKeys: 2, lua });
    // On one Redis: not cached before the first call (on a cluster the script goes to the key's master).
    const node = redis instanceof Cluster ? null : redis;
    if (node) assert.deepEqual(await node.script('EXISTS', sha1(lua)), [0]);
    assert.deepEqual(await run(key1, key2, 'x', 7), [key1, key2, 'x', '7', '1']);
    if (node) assert.deepEqual(await node.script('EXISTS', sha1(lua)), [1], 'loaded by the EVAL');
    assert.deepEqual(await run(key1, key2, 'y', 8), [key1, key2, 'y', '8', '2']);
  });

  it("passes a script's error on, having run it once", async () => {
    const key = `${prefix}{lua}:err`;
    const scripts = luaScripts(redis, {
      fail: {
        numberOfKeys: 1,
        lua: `#!lua\nredis.call('INCR', KEYS[1])\nreturn redis.error_reply('nope ${randomBytes(4).toString('hex')}')`,
      },
    });
    await assert.rejects(scripts.fail(key), /nope/);
    assert.equal(await redis.get(key), '1', 'the failing script ran exactly once');
  });
});

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
