/**
 * Socket leases, held across every node: the cap on open sockets per user (MAX_SOCKETS_PER_USER)
 * and presence (CONTRACT "Presence"). With Redis, each open socket is a member of one sorted set
 * per user, scored by when its lease ends (Redis time, so node clocks do not matter); claiming a
 * slot is one Lua script, so two nodes cannot both take the last one. Nodes renew their sockets'
 * leases on a heartbeat, so the sockets of a node that dies without closing them (SIGKILL) stop
 * counting after LEASE_MS — short, so a user whose tabs were on that node is not locked out for
 * long (the page retries `too many connections` meanwhile).
 *
 * Presence is one sorted set, uid → until when the user counts as online: a lease's end while
 * they have sockets, RETURN_GRACE_MS after their last socket closed. A socket acquired while the
 * user is not in it brings them online; `sweep` (every node, every SWEEP_MS) claims the users
 * whose time has passed with no socket left — each user once, by one node — to announce them
 * offline: a reload within the grace is no flap, a crashed node's users go offline within
 * LEASE_MS + SWEEP_MS.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type Acquired = 'refused' | 'online' | 'more';

export interface SocketLimiter {
  /**
   * Takes a slot for the socket: 'refused' when the user already has `max` sockets open, else
   * 'online' when this socket brings the user online, or 'more' when they were online already.
   */
  acquire(uid: string, socketId: string): Promise<Acquired>;
  release(uid: string, socketId: string): Promise<void>;
  /** Renews the leases of this node's open sockets (Redis); `open` lists them by user. */
  renew(open: Map<string, string[]>): Promise<void>;
  /** The users who went offline since the last sweep, each returned by exactly one node. */
  sweep(): Promise<string[]>;
  /** Which of these users are online now. */
  online(uids: readonly string[]): Promise<Set<string>>;
}

export const LEASE_MS = 15_000;
export const HEARTBEAT_MS = LEASE_MS / 3;
/** A reload or reconnect within this time is not "coming online" (CONTRACT "Presence"). */
export const RETURN_GRACE_MS = 5_000;
export const SWEEP_MS = 2_000;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS: the user's sockets, presence. ARGV: socket id, lease ms, max, uid. 0 refused, 1 more, 2 online. */
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and open >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local was = redis.call('ZSCORE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', now + tonumber(ARGV[2]), ARGV[4])
if was then return 1 end
return 2
`;

/** KEYS: the user's sockets, presence. ARGV: socket id, grace ms, uid. */
const RELEASE = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
end
return 1
`;

/**
 * KEYS: presence, then many users' socket sets. ARGV: lease ms, then per user: uid, how many
 * socket ids, the ids (only those still listed are renewed). One call renews a whole batch: a
 * call per user cost ~40 µs each and, at 4,000 users, held the store's connection for 160 ms.
 */
const RENEW = `${NOW}
local lease = tonumber(ARGV[1])
local a = 2
for k = 2, #KEYS do
  local uid, n = ARGV[a], tonumber(ARGV[a + 1])
  for i = a + 2, a + 1 + n do redis.call('ZADD', KEYS[k], 'XX', now + lease, ARGV[i]) end
  redis.call('PEXPIRE', KEYS[k], lease)
  if redis.call('ZCARD', KEYS[k]) > 0 then redis.call('ZADD', KEYS[1], 'GT', now + lease, uid) end
  a = a + n + 2
end
return 1
`;

/** KEYS: presence, the user's sockets. ARGV: uid. 1 when this call took the user offline. */
const CLAIM_OFFLINE = `${NOW}
local until_ = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not until_ or tonumber(until_) > now then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

/** Users per renewal call: small enough that other commands interleave between the calls. */
const RENEW_BATCH = 200;
/** Users looked at per sweep at most (the rest wait for the next one). */
const SWEEP_BATCH = 500;

type Scripts = {
  chatSocketAcquire(
    key: string,
    presence: string,
    id: string,
    lease: number,
    max: number,
    uid: string,
  ): Promise<number>;
  chatSocketRelease(key: string, presence: string, id: string, grace: number, uid: string): Promise<number>;
  chatSocketRenew(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  chatClaimOffline(presence: string, key: string, uid: string): Promise<number>;
};

const ACQUIRED: readonly Acquired[] = ['refused', 'more', 'online'];

export interface SocketLimiterOptions {
  max: number;
  redis: Redis | null;
  key: (uid: string) => string;
  /** The presence sorted set. */
  presenceKey: string;
  logger: Logger;
}

export function createSocketLimiter(opts: SocketLimiterOptions): SocketLimiter {
  return opts.redis ? redisLimiter(opts, opts.redis) : memoryLimiter(opts.max);
}

function redisLimiter({ max, key, presenceKey, logger }: SocketLimiterOptions, redis: Redis): SocketLimiter {
  redis.defineCommand('chatSocketAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('chatSocketRelease', { numberOfKeys: 2, lua: RELEASE });
  redis.defineCommand('chatSocketRenew', { lua: RENEW });
  redis.defineCommand('chatClaimOffline', { numberOfKeys: 2, lua: CLAIM_OFFLINE });
  const cmd = redis as unknown as Scripts;
  return {
    async acquire(uid, socketId) {
      const n = await cmd.chatSocketAcquire(key(uid), presenceKey, socketId, LEASE_MS, max, uid);
      return ACQUIRED[n] ?? 'refused';
    },
    async release(uid, socketId) {
      // A lost release is not lost for long: the lease lapses by itself.
      await cmd
        .chatSocketRelease(key(uid), presenceKey, socketId, RETURN_GRACE_MS, uid)
        .catch((err: unknown) => logger.warn({ err, uid }, 'socket release failed'));
    },
    async renew(open) {
      const users = [...open];
      // One batch after another, so messages posted meanwhile wait for one batch at most.
      for (let i = 0; i < users.length; i += RENEW_BATCH) {
        const batch = users.slice(i, i + RENEW_BATCH);
        const args: (string | number)[] = [LEASE_MS];
        for (const [uid, ids] of batch) args.push(uid, ids.length, ...ids);
        await cmd
          .chatSocketRenew(batch.length + 1, presenceKey, ...batch.map(([uid]) => key(uid)), ...args)
          .catch((err: unknown) => logger.warn({ err, users: batch.length }, 'socket lease renewal failed'));
      }
    },
    async sweep() {
      const [sec, micro] = await redis.time();
      const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
      const due = await redis.zrangebyscore(presenceKey, '-inf', now, 'LIMIT', 0, SWEEP_BATCH);
      const claimed = await Promise.all(due.map((uid) => cmd.chatClaimOffline(presenceKey, key(uid), uid)));
      return due.filter((_, i) => claimed[i] === 1);
    },
    async online(uids) {
      if (uids.length === 0) return new Set();
      const [[sec, micro], scores] = await Promise.all([redis.time(), redis.zmscore(presenceKey, ...uids)]);
      const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
      return new Set(uids.filter((_, i) => scores[i] !== null && Number(scores[i]) > now));
    },
  };
}

/** One node's leases and presence: sockets close for real (no lease to lapse), the grace is kept. */
function memoryLimiter(max: number): SocketLimiter {
  const open = new Map<string, Set<string>>();
  /** uid → until when the user counts as online (Infinity while sockets are open). */
  const presence = new Map<string, number>();
  return {
    async acquire(uid, socketId) {
      const set = open.get(uid) ?? new Set<string>();
      if (!set.has(socketId) && set.size >= max) return 'refused';
      const was = presence.has(uid);
      presence.set(uid, Infinity);
      open.set(uid, set.add(socketId));
      return was ? 'more' : 'online';
    },
    async release(uid, socketId) {
      const set = open.get(uid);
      set?.delete(socketId);
      if (set?.size === 0) {
        open.delete(uid);
        presence.set(uid, Date.now() + RETURN_GRACE_MS);
      }
    },
    async renew() {},
    async sweep() {
      const now = Date.now();
      const gone = [...presence].filter(([uid, until]) => until <= now && !open.has(uid)).map(([uid]) => uid);
      for (const uid of gone) presence.delete(uid);
      return gone;
    },
    async online(uids) {
      return new Set(uids.filter((uid) => presence.has(uid)));
    },
  };
}
