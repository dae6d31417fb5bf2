/**
 * Socket leases, held across every node: the cap on open sockets per user (MAX_SOCKETS_PER_USER)
 * and presence (CONTRACT "Presence"). With Redis, each open socket is a member of one sorted set
 * per user, scored by when its lease ends (Redis time, so node clocks do not matter); claiming a
 * slot is one Lua script in the user's slot, so two nodes cannot both take the last one. Nodes renew their sockets'
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
import { luaScripts } from '../store/lua.js';
import type { RedisClient } from '../store/redis-client.js';
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

/*
 * A user's socket set lives in their slot, presence is one key elsewhere: each change is a step
 * on the user's set, then one on presence, and the presence steps are written so any
 * interleaving of two nodes' steps ends right. Coming online raises the user's time (GT);
 * the last socket closing lowers it only where it exists (XX); going offline removes the user
 * only while their time is still the one the sweep saw passed (a socket taken meanwhile raised
 * it, and its node announces them online again).
 */

/** User slot. KEYS: the user's sockets. ARGV: socket id, lease ms, max. {0} refused, else {1, now}. */
const ACQUIRE = `#!lua
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and open >= tonumber(ARGV[3]) then return {0} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, now}
`;

/**
 * Presence. KEYS: presence. ARGV: uid, lease ms. Raises the user's time to now + lease (GT).
 * 1 when the user was not online (now they are). Sent together with ACQUIRE (one round trip):
 * when ACQUIRE refuses, the user holds `max` sockets already, so raising their time is true anyway.
 */
const ONLINE = `#!lua
${NOW}
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])
if was then return 0 end
return 1
`;

/** User slot. KEYS: the user's sockets. ARGV: socket id. Returns {sockets left, now}. */
const RELEASE = `#!lua
${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return {redis.call('ZCARD', KEYS[1]), now}
`;

/**
 * User slot. KEYS: the user's sockets. ARGV: lease ms, socket ids (only those still listed are
 * renewed). Returns the new lease end while the user has sockets, else 0.
 */
const RENEW = `#!lua
${NOW}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease)
if redis.call('ZCARD', KEYS[1]) > 0 then return now + lease end
return 0
`;

/** User slot. KEYS: the user's sockets. Returns how many of their sockets hold a lease now. */
const OPEN = `#!lua
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`;

/** Presence. KEYS: presence. ARGV: uid, the time the sweep saw. 1 when this call took them offline. */
const CLAIM_OFFLINE = `#!lua
if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

/** Users renewed at once (one script each, auto-pipelined), so other commands interleave. */
const RENEW_BATCH = 200;
/** Users looked at per sweep at most (the rest wait for the next one). */
const SWEEP_BATCH = 500;

type Scripts = {
  chatSocketAcquire(key: string, id: string, lease: number, max: number): Promise<[0] | [1, number]>;
  chatPresenceOnline(presence: string, uid: string, lease: number): Promise<number>;
  chatSocketRelease(key: string, id: string): Promise<[number, number]>;
  chatSocketRenew(key: string, lease: number, ...ids: string[]): Promise<number>;
  chatSocketOpen(key: string): Promise<number>;
  chatClaimOffline(presence: string, uid: string, seen: string): Promise<number>;
};

export interface SocketLimiterOptions {
  max: number;
  redis: RedisClient | null;
  key: (uid: string) => string;
  /** The presence sorted set. */
  presenceKey: string;
  logger: Logger;
}

export function createSocketLimiter(opts: SocketLimiterOptions): SocketLimiter {
  return opts.redis ? redisLimiter(opts, opts.redis) : memoryLimiter(opts.max);
}

function redisLimiter({ max, key, presenceKey, logger }: SocketLimiterOptions, redis: RedisClient): SocketLimiter {
  const cmd = luaScripts(redis, {
    chatSocketAcquire: { numberOfKeys: 1, lua: ACQUIRE },
    chatPresenceOnline: { numberOfKeys: 1, lua: ONLINE },
    chatSocketRelease: { numberOfKeys: 1, lua: RELEASE },
    chatSocketRenew: { numberOfKeys: 1, lua: RENEW },
    chatSocketOpen: { numberOfKeys: 1, lua: OPEN },
    chatClaimOffline: { numberOfKeys: 1, lua: CLAIM_OFFLINE },
  }) as unknown as Scripts;
  return {
    async acquire(uid, socketId) {
      // Both steps at once: the user's slot and the presence key, one round trip.
      const [taken, cameOnline] = await Promise.all([
        cmd.chatSocketAcquire(key(uid), socketId, LEASE_MS, max),
        cmd.chatPresenceOnline(presenceKey, uid, LEASE_MS),
      ]);
      if (taken[0] === 0) return 'refused';
      return cameOnline === 1 ? 'online' : 'more';
    },
    async release(uid, socketId) {
      // A lost release is not lost for long: the lease lapses by itself.
      try {
        const [left, now] = await cmd.chatSocketRelease(key(uid), socketId);
        if (left === 0) await redis.zadd(presenceKey, 'XX', Number(now) + RETURN_GRACE_MS, uid);
      } catch (err) {
        logger.warn({ err, uid }, 'socket release failed');
      }
    },
    async renew(open) {
      const users = [...open];
      // One batch after another, so messages posted meanwhile wait for one batch at most.
      for (let i = 0; i < users.length; i += RENEW_BATCH) {
        const batch = users.slice(i, i + RENEW_BATCH);
        try {
          const until = await Promise.all(batch.map(([uid, ids]) => cmd.chatSocketRenew(key(uid), LEASE_MS, ...ids)));
          const args: (string | number)[] = [];
          batch.forEach(([uid], j) => {
            if (Number(until[j]) > 0) args.push(Number(until[j]), uid);
          });
          if (args.length > 0) await redis.zadd(presenceKey, 'GT', ...args);
        } catch (err) {
          logger.warn({ err, users: batch.length }, 'socket lease renewal failed');
        }
      }
    },
    async sweep() {
      const [sec, micro] = await redis.time();
      const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
      const due = await redis.zrangebyscore(presenceKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, SWEEP_BATCH);
      const users: [uid: string, seen: string][] = [];
      for (let i = 0; i + 1 < due.length; i += 2) users.push([due[i] as string, due[i + 1] as string]);
      const open = await Promise.all(users.map(([uid]) => cmd.chatSocketOpen(key(uid))));
      const idle = users.filter((_, i) => open[i] === 0);
      const claimed = await Promise.all(idle.map(([uid, seen]) => cmd.chatClaimOffline(presenceKey, uid, seen)));
      return idle.filter((_, i) => claimed[i] === 1).map(([uid]) => uid);
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
