/**
 * Real Redis for tests: TEST_REDIS_URL (scripts/test.mjs sets it to '' when no Redis answers, and
 * then these tests skip with `redisSkip` as the reason), or a Redis Cluster when
 * TEST_REDIS_CLUSTER_NODES names its seeds (the cluster stage of scripts/test.mjs runs the same
 * suites again that way). Every run works under its own key prefix and deletes its keys
 * afterwards, so runs and engineers can share one Redis.
 */
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createRedisClient, type RedisClient } from '../../src/store/redis-client.js';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
/** Seeds of a Redis Cluster to test on instead of `redisUrl` ('' or unset: none). */
export const clusterNodes = process.env.TEST_REDIS_CLUSTER_NODES ?? '';
export const onCluster = clusterNodes !== '';

/** The Redis the tests use, as the app's configuration names it. */
export const redisTarget: RedisTarget = onCluster
  ? {
      clusterNodes: clusterNodes.split(',').map((s) => {
        const [host = '127.0.0.1', port = '0'] = s.split(':');
        return { host, port: Number(port) };
      }),
    }
  : { url: redisUrl };

/** The server's environment for that Redis (REDIS_URL or REDIS_CLUSTER_NODES). */
export function redisEnv(): Record<string, string> {
  // The other one empty (unset for the config), whatever the test runner's own environment says.
  return onCluster
    ? { REDIS_CLUSTER_NODES: clusterNodes, REDIS_URL: '' }
    : { REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: '' };
}

/** A `{ skip }` reason when there is no Redis, else false. */
export const redisSkip: string | false = !onCluster && redisUrl === '' ? 'no Redis: TEST_REDIS_URL is empty' : false;

/** A key prefix no other run uses. */
export function uniquePrefix(tag = 'test'): string {
  return `${tag}:${randomBytes(6).toString('hex')}:`;
}

/** A client made by the project's own factory (auto-pipelining, bounded command time). */
export function testRedis(role = 'test', opts: { subscriber?: boolean } = {}): RedisClient {
  return createRedisClient(redisTarget, role, createLogger('silent'), { commandTimeoutMs: 5000, ...opts });
}

/** The masters to look at for keys: every master of a cluster, or the one Redis. */
function masters(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/** Every key under the prefix, on every master (SCAN is fine in tests, never on a request). */
export async function listKeys(redis: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

/** Deletes every key under the prefix; one key per command, as a cluster's slots require. */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<number> {
  const keys = await listKeys(redis, prefix);
  const deleted = await Promise.all(keys.map((k) => redis.unlink(k)));
  return deleted.reduce((a, b) => a + b, 0);
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
