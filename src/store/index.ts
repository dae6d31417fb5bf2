/**
 * Chooses the store once at start-up: Redis when REDIS_URL is set (the composition root makes
 * the client with createRedisClient and owns it), else the in-process store.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { LIMITS } from '../shared/limits.js';
import { createKeys } from './keys.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { ChatStore, StoreLimits } from './types.js';

export type { ChatStore } from './types.js';
export { createRedisClient } from './redis-client.js';

/** The Socket.IO adapter's key; the store publishes messages on its channels. */
export function adapterKeyOf(config: Pick<Config, 'redisPrefix'>): string {
  return `${config.redisPrefix}socket.io`;
}

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

export function createStore(config: Config, logger: Logger, redis?: Redis): ChatStore {
  const limits = storeLimitsOf(config);
  if (config.redisUrl === null) {
    logger.debug({ component: 'store', kind: 'memory' }, 'store created');
    return new MemoryStore(limits);
  }
  if (!redis) throw new Error('createStore: REDIS_URL is set but no Redis client was given');
  logger.debug({ component: 'store', kind: 'redis', prefix: config.redisPrefix }, 'store created');
  return new RedisStore({ redis, keys: createKeys(config.redisPrefix), limits, adapterKey: adapterKeyOf(config) });
}
