/**
 * "At most once per interval per key, across nodes" (typing notices: once per 2 s per user and
 * room, however many sockets and nodes the user has). Redis: `SET NX PX`, one command; in
 * process: a map of until-times, swept as it grows.
 */
import type { RedisClient } from '../store/redis-client.js';

export interface Throttle {
  /** True for the first call per key within `ms` (the caller acts), false for the rest. */
  first(key: string, ms: number): Promise<boolean>;
}

const MEMORY_SWEEP_AT = 10_000;

export function createThrottle(redis: RedisClient | null): Throttle {
  if (redis) return { first: async (key, ms) => (await redis.set(key, '1', 'PX', ms, 'NX')) === 'OK' };
  const until = new Map<string, number>();
  return {
    async first(key, ms) {
      const now = Date.now();
      if (until.size >= MEMORY_SWEEP_AT) for (const [k, t] of until) if (t <= now) until.delete(k);
      if ((until.get(key) ?? 0) > now) return false;
      until.set(key, now + ms);
      return true;
    },
  };
}
