/**
 * The cap on open sockets per user (MAX_SOCKETS_PER_USER), held across every node, and whether a
 * new socket brings its user online. With Redis, each open socket is a member of one sorted set
 * per user, scored by when its lease ends (Redis time, so node clocks do not matter); claiming a
 * slot is one Lua script, so two nodes cannot both take the last one. Nodes renew their sockets'
 * leases on a heartbeat, so the sockets of a node that dies without closing them (SIGKILL) stop
 * counting after LEASE_MS — short, so a user whose tabs were on that node is not locked out for
 * long (the page retries `too many connections` meanwhile). When a user's last socket closes, a
 * short-lived "seen" key keeps them from counting as coming online again on a reload or
 * reconnect within RETURN_GRACE_MS.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export interface SocketLimiter {
  /**
   * Takes a slot for the socket: 'refused' when the user already has `max` sockets open, else
   * 'online' when this socket brings the user online (no other socket, none closed within
   * RETURN_GRACE_MS), or 'more' when the user was online already.
   */
  acquire(uid: string, socketId: string): Promise<'refused' | 'online' | 'more'>;
  release(uid: string, socketId: string): Promise<void>;
  /** Renews the leases of this node's open sockets (Redis); `open` lists them by user. */
  renew(open: Map<string, string[]>): Promise<void>;
}

export const LEASE_MS = 15_000;
export const HEARTBEAT_MS = LEASE_MS / 3;
/** A reload or reconnect within this time is not "coming online" (CONTRACT "Presence"). */
export const RETURN_GRACE_MS = 5_000;

/** KEYS: the user's socket set, the user's "seen" key. ARGV: socket id, lease ms, max. 0 refused, 1 more, 2 online. */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and open >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if open == 0 and redis.call('EXISTS', KEYS[2]) == 0 then return 2 end
return 1
`;

/** KEYS: the user's socket set, the user's "seen" key. ARGV: socket id, grace ms. */
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return 1
`;

/**
 * KEYS: many users' socket sets. ARGV: lease ms, then per key: how many socket ids, the ids
 * (only those still listed are renewed). One call renews a whole batch of users: a call per
 * user cost ~40 µs each and, at 4,000 users, held the store's connection for 160 ms.
 */
const RENEW = `
local t = redis.call('TIME')
local lease = tonumber(ARGV[1])
local until_ = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + lease
local a = 2
for k = 1, #KEYS do
  local n = tonumber(ARGV[a])
  for i = a + 1, a + n do redis.call('ZADD', KEYS[k], 'XX', until_, ARGV[i]) end
  redis.call('PEXPIRE', KEYS[k], lease)
  a = a + n + 1
end
return 1
`;

/** Users per renewal call: small enough that other commands interleave between the calls. */
const RENEW_BATCH = 200;

type Scripts = {
  chatSocketAcquire(key: string, seen: string, id: string, lease: number, max: number): Promise<number>;
  chatSocketRelease(key: string, seen: string, id: string, grace: number): Promise<number>;
  chatSocketRenew(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
};

const ACQUIRED = ['refused', 'more', 'online'] as const;

export function createSocketLimiter(opts: {
  max: number;
  redis: Redis | null;
  key: (uid: string) => string;
  seenKey: (uid: string) => string;
  logger: Logger;
}): SocketLimiter {
  const { max, redis, key, seenKey, logger } = opts;
  if (!redis) {
    const open = new Map<string, Set<string>>();
    const seenUntil = new Map<string, number>();
    return {
      async acquire(uid, socketId) {
        const set = open.get(uid) ?? new Set<string>();
        if (!set.has(socketId) && set.size >= max) return 'refused';
        const online = set.size === 0 && (seenUntil.get(uid) ?? 0) <= Date.now();
        seenUntil.delete(uid);
        open.set(uid, set.add(socketId));
        return online ? 'online' : 'more';
      },
      async release(uid, socketId) {
        const set = open.get(uid);
        set?.delete(socketId);
        if (set?.size === 0) {
          open.delete(uid);
          seenUntil.set(uid, Date.now() + RETURN_GRACE_MS);
        }
      },
      async renew() {},
    };
  }
  redis.defineCommand('chatSocketAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('chatSocketRelease', { numberOfKeys: 2, lua: RELEASE });
  redis.defineCommand('chatSocketRenew', { lua: RENEW });
  const cmd = redis as unknown as Scripts;
  return {
    async acquire(uid, socketId) {
      return ACQUIRED[await cmd.chatSocketAcquire(key(uid), seenKey(uid), socketId, LEASE_MS, max)] ?? 'refused';
    },
    async release(uid, socketId) {
      // A lost release is not lost for long: the lease lapses by itself.
      await cmd
        .chatSocketRelease(key(uid), seenKey(uid), socketId, RETURN_GRACE_MS)
        .catch((err: unknown) => logger.warn({ err, uid }, 'socket release failed'));
    },
    async renew(open) {
      const users = [...open];
      // One batch after another, so messages posted meanwhile wait for one batch at most.
      for (let i = 0; i < users.length; i += RENEW_BATCH) {
        const batch = users.slice(i, i + RENEW_BATCH);
        const args: (string | number)[] = [LEASE_MS];
        for (const [, ids] of batch) args.push(ids.length, ...ids);
        await cmd
          .chatSocketRenew(batch.length, ...batch.map(([uid]) => key(uid)), ...args)
          .catch((err: unknown) => logger.warn({ err, users: batch.length }, 'socket lease renewal failed'));
      }
    },
  };
}
