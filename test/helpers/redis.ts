/**
 * Real Redis for tests: TEST_REDIS_URL (scripts/test.mjs sets it to '' when no Redis answers, and
 * then these tests skip with `redisSkip` as the reason). Every run works under its own key prefix
 * and deletes its keys afterwards, so runs and engineers can share one Redis.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.js';
import { createRedisClient } from '../../src/store/redis-client.js';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** A `{ skip }` reason when there is no Redis, else false. */
export const redisSkip: string | false = redisUrl === '' ? 'no Redis: TEST_REDIS_URL is empty' : false;

/** A key prefix no other run uses. */
export function uniquePrefix(tag = 'test'): string {
  return `${tag}:${randomBytes(6).toString('hex')}:`;
}

/** A client made by the project's own factory (auto-pipelining, bounded command time). */
export function testRedis(role = 'test'): Redis {
  return createRedisClient(redisUrl, role, createLogger('silent'), { commandTimeoutMs: 5000 });
}

/** Deletes every key under the prefix (SCAN is fine in tests, never on a request). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
