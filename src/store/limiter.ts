/**
 * Fixed-window limits shared by every node (rate-limiter-flexible on the store's Redis, or in
 * process without one): sign-ins per client address, password failures per name, rooms created
 * per user. A well-kept library rather than our own Lua: these are plain counters per key and
 * window, off the message path; the per-user event budget, which runs on every event, is a
 * token bucket of our own (event-budget.ts).
 */
import type { RedisClient } from './redis-client.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface Limiter {
  /** Counts one event for `key`; false when the key is over its limit (the event is refused). */
  consume(key: string): Promise<boolean>;
  /** Whether `key` has used up its limit, without counting anything. */
  exhausted(key: string): Promise<boolean>;
}

export interface LimiterOptions {
  /** Key prefix (under REDIS_PREFIX), one per limit. */
  prefix: string;
  points: number;
  windowMs: number;
}

export function createLimiter(redis: RedisClient | null, opts: LimiterOptions): Limiter {
  const settings = {
    keyPrefix: opts.prefix,
    points: opts.points,
    duration: Math.max(1, Math.ceil(opts.windowMs / 1000)),
  };
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({ ...settings, storeClient: redis })
    : new RateLimiterMemory(settings);
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return true;
      } catch (err) {
        // A RateLimiterRes is the limit speaking; anything else is the store failing.
        if (err instanceof RateLimiterRes) return false;
        throw err;
      }
    },
    async exhausted(key) {
      const res = await limiter.get(key);
      return res !== null && res.consumedPoints >= opts.points;
    },
  };
}
