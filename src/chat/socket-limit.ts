/**
 * Socket leases, held across every node: the cap on open sockets per user (MAX_SOCKETS_PER_USER)
 * and presence (CONTRACT "Presence").
 *
 * With Redis, each user has one hash, socket id → the node holding it, in the user's slot:
 * claiming a slot is one Lua script there, so two nodes cannot both take the last one. The lease
 * is the node's, not each socket's: every node renews one entry of its own in a registry (the
 * `nodes` sorted set, node id → lease end, Redis time) on a heartbeat, and keeps a set of the
 * users it holds sockets of. A node that dies without closing its sockets (SIGKILL) stops
 * renewing; once its lease has lapsed (LEASE_MS), one surviving node claims it and takes its
 * sockets out of those users' hashes — so a user whose tabs were there is not locked out for
 * long (the page retries `too many connections` meanwhile). Renewing costs one command per node
 * and heartbeat, whatever the number of sockets: renewing each user's lease had cost 5,000
 * script calls every 5 s at 5,000 idle sockets, and kept V8's young generation at its largest
 * (the allocation rate never fell low enough for V8 to shrink it).
 *
 * A node whose own lease lapsed while it lived (Redis restarted empty, or the node was cut off
 * for LEASE_MS) may have been claimed meanwhile: it notices at its next heartbeat, takes a new
 * node id — so a claim still running on the old one cannot remove what it writes now — and
 * writes its sockets back.
 *
 * On one Redis (no slots), a socket's claim — its slot, this node's set of users, presence — is one
 * script (CONNECT), and so is its release (DISCONNECT): one command per handshake instead of three
 * (the reconnect storm's survivor spent 0.63 instead of 0.67 ms per reconnecting client, 6 storms
 * each). A cluster takes the single-slot steps, in one round trip.
 *
 * Presence is one sorted set, uid → until when the user counts as online: +inf while they have
 * sockets, RETURN_GRACE_MS after their last socket closed, and "now" when a dead node's sockets
 * were their last. A socket acquired while the user is not in it brings them online; `sweep`
 * (every node, every SWEEP_MS) claims the users whose time has passed with no socket left — each
 * user once, by one node — to announce them offline: a reload within the grace is no flap, a
 * crashed node's users go offline within LEASE_MS + 2 × SWEEP_MS.
 */
import { randomBytes } from 'node:crypto';
import { luaScripts } from '../store/lua.js';
import { LUA_NOW } from '../store/scripts.js';
import type { Keys } from '../store/keys.js';
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
  /**
   * Renews this node's lease (one command). Where the lease had lapsed, writes this node's open
   * sockets back under a new node id and returns the users that brought back online.
   */
  heartbeat(): Promise<string[]>;
  /** The users who went offline since the last sweep, each returned by exactly one node; first claims a dead node's sockets. */
  sweep(): Promise<string[]>;
  /** Which of these users are online now. */
  online(uids: readonly string[]): Promise<Set<string>>;
  /** Shutting down: gives back whatever of this node's sockets is still held, and leaves the registry. */
  close(): Promise<void>;
}

/** A node's lease: its sockets stop counting this long after its last heartbeat. */
export const LEASE_MS = 15_000;
export const HEARTBEAT_MS = LEASE_MS / 3;
/** A reload or reconnect within this time is not "coming online" (CONTRACT "Presence"). */
export const RETURN_GRACE_MS = 5_000;
export const SWEEP_MS = 1_000;
/** A claim on a dead node that is not finished in this time (its claimer died too) is taken again. */
const REAP_CLAIM_MS = 30_000;
/** A user's hash outlives a lost release by this much at most (every claim renews it). */
const USER_KEY_TTL_MS = 24 * 3600_000;

/*
 * A user's hash lives in their slot, presence is one key elsewhere: each change is a step on the
 * user's hash, then one on presence, and the presence steps are written so any interleaving of
 * two nodes' steps ends right. Coming online raises the user's time to +inf (GT); the last socket
 * closing lowers it only where it exists (XX); going offline removes the user only while their
 * time is still the one the sweep saw passed; and a sweep that finds a user due who holds a socket
 * raises them back to +inf (a socket taken between another socket's release and its presence step).
 */

/**
 * `acquire(key, id, node, max, ttl, open)`, on the user's hash: fields of this node that are not
 * open here any more (a release lost to a Redis error) are dropped first; 1 taken, 0 refused.
 * `online(presence, uid)`: raises the user's time to +inf (GT); 1 when the user was not online
 * (now they are). The single-slot steps below and the one-Redis script are made of these.
 */
const LUA_CLAIM = `
local function acquire(key, id, node, max, ttl, open)
  local fields = redis.call('HGETALL', key)
  local held = 0
  for i = 1, #fields, 2 do
    if fields[i] ~= id then
      if fields[i + 1] == node and not open[fields[i]] then redis.call('HDEL', key, fields[i])
      else held = held + 1 end
    end
  end
  if held >= tonumber(max) then return 0 end
  redis.call('HSET', key, id, node)
  redis.call('PEXPIRE', key, ttl)
  return 1
end
local function online(presence, uid)
  local was = redis.call('ZSCORE', presence, uid)
  redis.call('ZADD', presence, 'GT', 'inf', uid)
  if was then return 0 end
  return 1
end
local function open_from(first)
  local open = {}
  for i = first, #ARGV do open[ARGV[i]] = true end
  return open
end
`;

/**
 * User slot. KEYS: the user's hash. ARGV: socket id, node id, max, key ttl, then this node's open
 * sockets of the user. 1 taken, 0 refused.
 */
const ACQUIRE = `#!lua
${LUA_CLAIM}
return acquire(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], open_from(5))
`;

/**
 * Presence. KEYS: presence. ARGV: uid. 1 when the user was not online (now they are). Sent
 * together with ACQUIRE (one round trip): when ACQUIRE refuses, the user holds `max` sockets
 * already, so raising their time is true anyway.
 */
const ONLINE = `#!lua
${LUA_CLAIM}
return online(KEYS[1], ARGV[1])
`;

/**
 * One Redis only (its keys lie in three slots): a socket's whole claim in one script — the slot,
 * this node's set of users, presence. KEYS: the user's hash, presence, this node's users. ARGV:
 * socket id, node id, max, key ttl, uid, then this node's open sockets of the user. 0 refused
 * (nothing written: the user holds `max` sockets, so presence has them online already), 1 taken,
 * 2 taken and the user came online. A cluster takes the steps above instead (SADD, ACQUIRE and
 * ONLINE in one round trip): three commands where this is one, at every handshake.
 */
const CONNECT = `#!lua
${LUA_CLAIM}
if acquire(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], open_from(6)) == 0 then return 0 end
redis.call('SADD', KEYS[3], ARGV[5])
return 1 + online(KEYS[2], ARGV[5])
`;

/** User slot. KEYS: the user's hash. ARGV: socket id. Returns {sockets left, now}. */
const RELEASE = `#!lua
${LUA_NOW}
redis.call('HDEL', KEYS[1], ARGV[1])
return {redis.call('HLEN', KEYS[1]), now}
`;

/**
 * One Redis only, as CONNECT: a socket's release in one script. KEYS: the user's hash, presence,
 * this node's users. ARGV: socket id, uid, 1 when it was the user's last socket on this node,
 * the return grace (ms). The user's time drops to now + grace when no socket is left anywhere
 * (XX: a sweep may have removed them). A cluster sends RELEASE and SREM, then the ZADD.
 */
const DISCONNECT = `#!lua
${LUA_NOW}
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('SREM', KEYS[3], ARGV[2]) end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[4]), ARGV[2]) end
return 0
`;

/** The scripts that name keys of several slots, run on one Redis only (the slot test lists them). */
export const ONE_REDIS_LIMIT_SCRIPTS: readonly string[] = [CONNECT, DISCONNECT];

/** User slot. KEYS: the user's hash. ARGV: a dead node's id. Drops its sockets; returns {sockets left, now}. */
const REAP = `#!lua
${LUA_NOW}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if fields[i + 1] == ARGV[1] then redis.call('HDEL', KEYS[1], fields[i]) end
end
return {redis.call('HLEN', KEYS[1]), now}
`;

/** Registry. KEYS: nodes. ARGV: node id, lease ms. Renews; 1 when the node's lease was still there. */
const HEARTBEAT = `#!lua
${LUA_NOW}
local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if was then return 1 end
return 0
`;

/**
 * Registry. KEYS: nodes, claims (one slot). ARGV: claim ms. Claims one node whose lease lapsed,
 * or whose claim did (its claimer died too), for claim ms; returns its id, or nil.
 */
const CLAIM_NODE = `#!lua
${LUA_NOW}
local id = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)[1]
if not id then id = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1)[1] end
if not id then return false end
redis.call('ZREM', KEYS[1], id)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
return id
`;

/** Presence. KEYS: presence. ARGV: how many. The users whose time has passed (Redis time), with their times. */
const DUE = `#!lua flags=no-writes
${LUA_NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
`;

/** Presence. KEYS: presence. ARGV: uid, the time the sweep saw. 1 when this call took them offline. */
const CLAIM_OFFLINE = `#!lua
if redis.call('ZSCORE', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

/** Users written or claimed at once (one script each, auto-pipelined), so other commands interleave. */
const BATCH = 200;
/** Users looked at per sweep at most (the rest wait for the next one). */
const SWEEP_BATCH = 500;

type Scripts = {
  chatSocketAcquire(
    key: string,
    id: string,
    node: string,
    max: number,
    ttl: number,
    ...open: string[]
  ): Promise<number>;
  chatPresenceOnline(presence: string, uid: string): Promise<number>;
  chatSocketConnect(
    key: string,
    presence: string,
    users: string,
    id: string,
    node: string,
    max: number,
    ttl: number,
    uid: string,
    ...open: string[]
  ): Promise<number>;
  chatSocketDisconnect(
    key: string,
    presence: string,
    users: string,
    id: string,
    uid: string,
    last: number,
    grace: number,
  ): Promise<number>;
  chatSocketRelease(key: string, id: string): Promise<[number, number]>;
  chatSocketReap(key: string, node: string): Promise<[number, number]>;
  chatNodeHeartbeat(nodes: string, node: string, lease: number): Promise<number>;
  chatNodeClaim(nodes: string, claims: string, claimMs: number): Promise<string | null>;
  chatPresenceDue(presence: string, count: number): Promise<string[]>;
  chatClaimOffline(presence: string, uid: string, seen: string): Promise<number>;
};

export interface SocketLimiterOptions {
  max: number;
  redis: RedisClient | null;
  keys: Pick<Keys, 'userSockets' | 'presence' | 'nodes' | 'nodeClaims' | 'nodeUsers'>;
  logger: Logger;
}

export function createSocketLimiter(opts: SocketLimiterOptions): SocketLimiter {
  return opts.redis ? redisLimiter(opts, opts.redis) : memoryLimiter(opts.max);
}

function redisLimiter({ max, keys, logger }: SocketLimiterOptions, redis: RedisClient): SocketLimiter {
  const key = (uid: string): string => keys.userSockets(uid);
  const presenceKey = keys.presence();
  const nodes = { live: keys.nodes(), claims: keys.nodeClaims(), users: (id: string) => keys.nodeUsers(id) };
  const cmd = luaScripts(redis, {
    chatSocketAcquire: { numberOfKeys: 1, lua: ACQUIRE },
    chatPresenceOnline: { numberOfKeys: 1, lua: ONLINE },
    chatSocketConnect: { numberOfKeys: 3, lua: CONNECT },
    chatSocketDisconnect: { numberOfKeys: 3, lua: DISCONNECT },
    chatSocketRelease: { numberOfKeys: 1, lua: RELEASE },
    chatSocketReap: { numberOfKeys: 1, lua: REAP },
    chatNodeHeartbeat: { numberOfKeys: 1, lua: HEARTBEAT },
    chatNodeClaim: { numberOfKeys: 2, lua: CLAIM_NODE },
    chatPresenceDue: { numberOfKeys: 1, lua: DUE },
    chatClaimOffline: { numberOfKeys: 1, lua: CLAIM_OFFLINE },
  }) as unknown as Scripts;
  const base = randomBytes(6).toString('hex');
  let generation = 0;
  let node = `${base}.${generation}`;
  /** This node's open sockets by user: what its heartbeat stands for. */
  const local = new Map<string, Set<string>>();
  /** Whether a heartbeat has found this node's entry, or made it: a lapse is noticed from then on. */
  let known = false;
  /** The heartbeat running, if any (one at a time). */
  let beating: Promise<unknown> = Promise.resolve();
  /** Puts this node in the registry before its first claim, so whatever it claims can be given back. */
  const register = async (): Promise<void> => {
    await cmd.chatNodeHeartbeat(nodes.live, node, LEASE_MS);
    known = true;
  };

  /** One Redis takes a socket's claim and its release in one script each (CONNECT, DISCONNECT). */
  const oneRedis = !redis.isCluster;
  /** Adds the socket to this node's map; true when it is the user's first here. */
  const track = (uid: string, socketId: string): boolean => {
    const mine = local.get(uid);
    if (mine) {
      mine.add(socketId);
      return false;
    }
    local.set(uid, new Set([socketId]));
    return true;
  };
  /** Takes the socket out of this node's map; true when it was the user's last here. */
  const untrack = (uid: string, socketId: string): boolean => {
    const mine = local.get(uid);
    if (!mine?.delete(socketId) || mine.size > 0) return false;
    local.delete(uid);
    return true;
  };
  // A user enters this node's set before their first socket here is claimed (in the same round
  // trip, or the same script) and leaves it once their last one here is released: both go to the
  // same key, so to the same connection, in this order.
  const hold = (uid: string, socketId: string): Promise<unknown> | null =>
    track(uid, socketId) ? redis.sadd(nodes.users(node), uid) : null;
  const letGo = (uid: string, socketId: string): void => {
    // A stale member costs one no-op claim step.
    if (untrack(uid, socketId)) redis.srem(nodes.users(node), uid).catch(() => undefined);
  };

  /**
   * Takes a node's sockets out of its users' hashes; users left with none go offline `grace` ms
   * from now (0 for a dead node: its users' last sockets closed when it died).
   */
  const reap = async (dead: string, grace: number): Promise<void> => {
    const setKey = nodes.users(dead);
    let cursor = '0';
    do {
      const [next, uids] = await redis.sscan(setKey, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < uids.length; i += BATCH) {
        const batch = uids.slice(i, i + BATCH);
        const left = await Promise.all(batch.map((uid) => cmd.chatSocketReap(key(uid), dead)));
        const args: (string | number)[] = [];
        batch.forEach((uid, j) => {
          const [n, now] = left[j]!;
          if (Number(n) === 0) args.push(Number(now) + grace, uid);
        });
        if (args.length > 0) await redis.zadd(presenceKey, 'XX', ...args);
      }
    } while (cursor !== '0');
    await redis.del(setKey);
  };

  /** After this node's lease lapsed: a new id, and every open socket written back under it. */
  const reregister = async (): Promise<string[]> => {
    generation += 1;
    const old = node;
    node = `${base}.${generation}`;
    await cmd.chatNodeHeartbeat(nodes.live, node, LEASE_MS);
    const users = [...local];
    for (let i = 0; i < users.length; i += 1000)
      await redis.sadd(nodes.users(node), ...users.slice(i, i + 1000).map(([uid]) => uid));
    const back: string[] = [];
    for (let i = 0; i < users.length; i += BATCH) {
      const batch = users.slice(i, i + BATCH);
      const came = await Promise.all(
        batch.map(async ([uid, ids]) => {
          // No cap here: these sockets are open already. Each claim names all of them as open
          // here, or it would drop the user's others just written under this id.
          const open = [...ids];
          await Promise.all(
            open.map((id) =>
              cmd.chatSocketAcquire(key(uid), id, node, Number.MAX_SAFE_INTEGER, USER_KEY_TTL_MS, ...open),
            ),
          );
          return cmd.chatPresenceOnline(presenceKey, uid);
        }),
      );
      batch.forEach(([uid], j) => {
        if (came[j] === 1) back.push(uid);
      });
    }
    logger.warn(
      { node: old, now: node, users: users.length },
      'node lease had lapsed: sockets written back under a new id',
    );
    return back;
  };

  return {
    async acquire(uid, socketId) {
      if (!known) await register();
      if (oneRedis) {
        track(uid, socketId);
        let got: number;
        try {
          got = await cmd.chatSocketConnect(
            key(uid),
            presenceKey,
            nodes.users(node),
            socketId,
            node,
            max,
            USER_KEY_TTL_MS,
            uid,
            ...local.get(uid)!,
          );
        } catch (err) {
          letGo(uid, socketId);
          throw err;
        }
        if (got === 0) letGo(uid, socketId);
        return got === 0 ? 'refused' : got === 2 ? 'online' : 'more';
      }
      // Every step at once: this node's set of users, the user's slot and the presence key, one round trip.
      const entered = hold(uid, socketId);
      let taken: number;
      let cameOnline: number;
      try {
        [taken, cameOnline] = await Promise.all([
          cmd.chatSocketAcquire(key(uid), socketId, node, max, USER_KEY_TTL_MS, ...local.get(uid)!),
          cmd.chatPresenceOnline(presenceKey, uid),
          entered,
        ]);
      } catch (err) {
        letGo(uid, socketId);
        throw err;
      }
      if (taken === 0) {
        letGo(uid, socketId);
        return 'refused';
      }
      return cameOnline === 1 ? 'online' : 'more';
    },
    async release(uid, socketId) {
      // A release lost to an error is dropped at the user's next claim on this node, or with it.
      try {
        if (oneRedis) {
          const last = untrack(uid, socketId) ? 1 : 0;
          await cmd.chatSocketDisconnect(
            key(uid),
            presenceKey,
            nodes.users(node),
            socketId,
            uid,
            last,
            RETURN_GRACE_MS,
          );
          return;
        }
        const pending = cmd.chatSocketRelease(key(uid), socketId);
        letGo(uid, socketId);
        const [left, now] = await pending;
        if (left === 0) await redis.zadd(presenceKey, 'XX', Number(now) + RETURN_GRACE_MS, uid);
      } catch (err) {
        logger.warn({ err, uid }, 'socket release failed');
      }
    },
    heartbeat() {
      // One at a time: writing thousands of sockets back may take longer than a heartbeat.
      const next = beating
        .catch(() => undefined)
        .then(async () => {
          const kept = await cmd.chatNodeHeartbeat(nodes.live, node, LEASE_MS);
          const lapsed = kept === 0 && known;
          known = true;
          return lapsed ? reregister() : [];
        });
      beating = next;
      return next;
    },
    async sweep() {
      const dead = await cmd.chatNodeClaim(nodes.live, nodes.claims, REAP_CLAIM_MS);
      if (dead) {
        await reap(dead, 0);
        await redis.zrem(nodes.claims, dead);
        logger.warn({ node: dead }, "a dead node's sockets given back");
      }
      const due = await cmd.chatPresenceDue(presenceKey, SWEEP_BATCH);
      const users: [uid: string, seen: string][] = [];
      for (let i = 0; i + 1 < due.length; i += 2) users.push([due[i] as string, due[i + 1] as string]);
      const open = await Promise.all(users.map(([uid]) => redis.hlen(key(uid))));
      // Due but holding a socket: a presence step of a release came after the claim of a new socket.
      const holding = users.filter((_, i) => open[i]! > 0).flatMap(([uid]) => ['inf', uid]);
      if (holding.length > 0) await redis.zadd(presenceKey, 'GT', ...holding);
      const idle = users.filter((_, i) => open[i] === 0);
      const claimed = await Promise.all(idle.map(([uid, seen]) => cmd.chatClaimOffline(presenceKey, uid, seen)));
      return idle.filter((_, i) => claimed[i] === 1).map(([uid]) => uid);
    },
    async online(uids) {
      if (uids.length === 0) return new Set();
      const [[sec, micro], scores] = await Promise.all([redis.time(), redis.zmscore(presenceKey, ...uids)]);
      const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
      // A user with sockets has +inf, which Redis writes "inf" (not a number to Number()).
      return new Set(uids.filter((_, i) => scores[i] === 'inf' || Number(scores[i] ?? 0) > now));
    },
    async close() {
      // What is still held here (releases in flight are in the same queue, before this) goes now,
      // with the grace: the clients reconnect to another node within it.
      await beating.catch(() => undefined);
      await reap(node, RETURN_GRACE_MS);
      await redis.zrem(nodes.live, node);
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
    async heartbeat() {
      return [];
    },
    async sweep() {
      const now = Date.now();
      const gone = [...presence].filter(([uid, until]) => until <= now && !open.has(uid)).map(([uid]) => uid);
      for (const uid of gone) presence.delete(uid);
      return gone;
    },
    async online(uids) {
      return new Set(uids.filter((uid) => presence.has(uid)));
    },
    async close() {},
  };
}
