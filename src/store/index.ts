/**
 * Chooses the store once at start-up: Redis when REDIS_URL or REDIS_CLUSTER_NODES is set (the
 * composition root makes the client with createRedisClient and owns it), else the in-process
 * store.
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { LIMITS } from '../shared/limits.js';
import { Cluster } from 'ioredis';
import { adapterChannelPrefix, type LocalFanout } from './fanout.js';
import { createKeys } from './keys.js';
import { MemoryStore } from './memory-store.js';
import type { RedisClient } from './redis-client.js';
import { RedisStore } from './redis-store.js';
import { createReplicaWait } from './replica-wait.js';
import type { ChatStore, StoreLimits } from './types.js';

export type { ChatStore } from './types.js';
export { createRedisClient } from './redis-client.js';

/** How long a message's acknowledgement waits for a replica at most (same-region replication takes ~1 ms). */
const REPLICA_WAIT_MS = 500;

export function storeLimitsOf(config: Config): StoreLimits {
  return {
    rateLimitCount: config.rateLimitCount,
    rateLimitWindowMs: config.rateLimitWindowMs,
    historyKeep: config.historyKeep,
    randomRoomSize: config.randomRoomSize,
    clientIdKeepMs: LIMITS.clientIdKeepMs,
    maxRoomsPerUser: config.maxRoomsPerUser,
  };
}

/** `local`: the in-process store's way to the sockets (Redis publishes to every node instead). */
export function createStore(config: Config, logger: Logger, redis?: RedisClient, local?: LocalFanout): ChatStore {
  const limits = storeLimitsOf(config);
  if (config.redis === null) {
    logger.debug({ component: 'store', kind: 'memory' }, 'store created');
    return new MemoryStore(limits, local);
  }
  if (!redis) throw new Error('createStore: Redis is configured but no Redis client was given');
  logger.debug({ component: 'store', kind: 'redis', prefix: config.redisPrefix }, 'store created');
  return new RedisStore({
    redis,
    keys: createKeys(config.redisPrefix),
    limits,
    channelPrefix: adapterChannelPrefix(config.redisPrefix),
    ...(redis instanceof Cluster
      ? { replicaWait: createReplicaWait(redis, Math.min(REPLICA_WAIT_MS, config.storeTimeoutMs), logger) }
      : {}),
  });
}
