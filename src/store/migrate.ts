/**
 * The one-off move from the key layout before hash tags (version 1, LEGACY_LAYOUT in keys.ts) to
 * today's (version 2), run by `npm run migrate` and by every node at start-up before it serves.
 *
 * The old code only ever ran on one Redis, so the move itself is done there: each legacy key is
 * renamed to its tagged name by a script that is atomic per key, which makes two nodes starting
 * at once safe (whoever comes second finds the key gone) and a rerun after a crash a no-op for
 * what was moved. Then every random room gets its seat count, and `layout` = 2 is set last, so a
 * crash midway leaves the marker unset and the next start finishes the job. With the marker set,
 * a start costs one GET.
 *
 * On a Redis Cluster nothing is moved (legacy keys of one user sit in different slots, so no
 * script could move them atomically): a cluster holding legacy keys is refused with the way out.
 */
import { Cluster, type Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { createKeys, LEGACY_LAYOUT, type Keys } from './keys.js';
import type { RedisClient } from './redis-client.js';

export const LAYOUT_VERSION = '2';

export interface MigrateResult {
  /** Legacy keys renamed (or merged into a key of the new layout that existed already). */
  moved: number;
  /** Random rooms given a seat count. */
  seats: number;
  /** The marker said version 2 already: nothing was looked at. */
  alreadyDone: boolean;
}

/** Keys that live seconds to minutes (rate log, socket leases, event budget): dropped, not moved. */
const TRANSIENT = new Set(['rate', 'sockets', 'budget']);

/**
 * Moves KEYS[1] (legacy) to KEYS[2] (new). Returns 0 when the legacy key is gone (moved by
 * another node, or never there), 1 when renamed, 2 when merged into a new key that existed: a
 * hash, set or sorted set gains the fields it lacks (what the new key holds was written later and
 * wins); of two counters the larger stays (a room counter that went back would reuse room ids);
 * any other string keeps the new value. The legacy key is deleted in the same step.
 */
const MOVE_KEY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('RENAMENX', KEYS[1], KEYS[2]) == 1 then return 1 end
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'hash' then
  local h = redis.call('HGETALL', KEYS[1])
  for i = 1, #h, 2 do redis.call('HSETNX', KEYS[2], h[i], h[i + 1]) end
elseif t == 'set' then
  local s = redis.call('SMEMBERS', KEYS[1])
  for i = 1, #s do redis.call('SADD', KEYS[2], s[i]) end
elseif t == 'zset' then
  local z = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #z, 2 do redis.call('ZADD', KEYS[2], 'NX', z[i + 1], z[i]) end
elseif t == 'string' then
  local old, new = tonumber(redis.call('GET', KEYS[1])), tonumber(redis.call('GET', KEYS[2]))
  if old and new and old > new then redis.call('SET', KEYS[2], redis.call('GET', KEYS[1])) end
end
redis.call('DEL', KEYS[1])
return 2
`;

type MoveKey = (legacy: string, target: string) => Promise<number>;

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The new name of a legacy `user:<uid>:<what>` key, `null` to drop it (transient), or undefined
 * when it is not one (a key of the new layout, `user:{…}`, or an unknown suffix).
 */
export function userKeyTarget(keys: Keys, prefix: string, key: string): string | null | undefined {
  const head = `${prefix}user:`;
  if (!key.startsWith(head) || key.startsWith(`${head}{`)) return undefined;
  const rest = key.slice(head.length);
  // A uid may hold ':' (keys.ts), the suffix never does: split at the last one.
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const uid = rest.slice(0, colon);
  const what = rest.slice(colon + 1);
  if (TRANSIENT.has(what)) return null;
  const target: Record<string, (uid: string) => string> = {
    rooms: keys.userRooms,
    reads: keys.userReads,
    random: keys.userRandom,
    room_counter: keys.userRoomCounter,
  };
  return target[what]?.(uid);
}

async function scanAll(redis: Redis, pattern: string, each: (batch: string[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (batch.length > 0) await each(batch);
  } while (cursor !== '0');
}

/** The legacy keys that are not per user, with their new names. */
function fixedMoves(keys: Keys, p: string): [string, string][] {
  return [
    [LEGACY_LAYOUT.users(p), keys.users()],
    [LEGACY_LAYOUT.userIndex(p), keys.userIndex()],
    [LEGACY_LAYOUT.accountNames(p), keys.accountNames()],
    [LEGACY_LAYOUT.passwords(p), keys.passwords()],
    [LEGACY_LAYOUT.randomRooms(p), keys.randomRooms()],
    [LEGACY_LAYOUT.randomCounter(p), keys.randomCounter()],
  ];
}

async function migrateStandalone(redis: Redis, prefix: string, keys: Keys, logger: Logger): Promise<MigrateResult> {
  const move: MoveKey = (legacy, target) => redis.eval(MOVE_KEY, 2, legacy, target) as Promise<number>;
  let moved = 0;
  let merged = 0;
  const count = (n: number): void => {
    if (n > 0) moved++;
    if (n === 2) merged++;
  };
  // Every user the old code knew has a profile in the legacy users hash, so a Redis without any
  // of these keys holds no legacy data (a new deployment, a test run): no SCAN of its keyspace.
  // They are moved last, so a run that stops midway leaves them behind and the next one rescans.
  const fixed = fixedMoves(keys, prefix);
  if ((await redis.exists(...fixed.map(([legacy]) => legacy))) === 0) {
    await redis.set(keys.layout(), LAYOUT_VERSION);
    return { moved: 0, seats: 0, alreadyDone: false };
  }

  // Keys of the new layout (`user:{…}`) are left out by the pattern itself.
  const unknown: string[] = [];
  await scanAll(redis, `${escapeGlob(`${prefix}user:`)}[^{]*`, async (batch) => {
    const steps = batch.map(async (key) => {
      const target = userKeyTarget(keys, prefix, key);
      if (target === undefined) unknown.push(key);
      else if (target === null) await redis.unlink(key);
      else count(await move(key, target));
    });
    await Promise.all(steps);
  });
  if (unknown.length > 0)
    logger.warn(
      { keys: unknown.slice(0, 20), count: unknown.length },
      'migrate: user keys of no known kind left as they are',
    );

  // Seats: the old code decided capacity on the members set; the new one counts seats in the
  // {random} slot. A field set already was set by the new code (or a concurrent run): kept.
  let seats = 0;
  const seatsKey = keys.randomSeats();
  const roomIdOf = (key: string): string | null =>
    /^\{(Random_\d+)\}:members$/.exec(key.slice(`${prefix}room:`.length))?.[1] ?? null;
  await scanAll(redis, `${escapeGlob(`${prefix}room:{Random_`)}*}:members`, async (batch) => {
    const steps = batch.map(async (key) => {
      const room = roomIdOf(key);
      if (room === null || key !== keys.roomMembers(room)) return;
      const taken = await redis.scard(key);
      if (taken > 0 && (await redis.hsetnx(seatsKey, room, taken)) === 1) seats++;
    });
    await Promise.all(steps);
  });

  for (const [legacy, target] of fixed) count(await move(legacy, target));
  // Both names existing means the new code wrote before the move (a node of the new version
  // served while an old one still ran): the merge kept the newer values.
  if (merged > 0) logger.warn({ merged }, 'migrate: legacy keys merged into keys of the new layout');
  await redis.set(keys.layout(), LAYOUT_VERSION);
  return { moved, seats, alreadyDone: false };
}

/** Legacy keys on a cluster: looked for on every master, never moved there. */
async function checkCluster(redis: Cluster, prefix: string, keys: Keys): Promise<MigrateResult> {
  const found: string[] = [];
  const fixed = new Set(fixedMoves(keys, prefix).map(([legacy]) => legacy));
  for (const node of redis.nodes('master')) {
    await scanAll(node, `${escapeGlob(prefix)}*`, (batch) => {
      for (const key of batch) {
        if (fixed.has(key) || userKeyTarget(keys, prefix, key) !== undefined) found.push(key);
      }
      return Promise.resolve();
    });
    if (found.length > 0) break;
  }
  if (found.length > 0) {
    throw new Error(
      `this Redis Cluster holds keys of the old layout (e.g. ${found.slice(0, 3).join(', ')}): ` +
        'run `npm run migrate` against the standalone Redis they came from first, then move the data into the ' +
        'cluster (redis-cli --cluster import)',
    );
  }
  await redis.set(keys.layout(), LAYOUT_VERSION);
  return { moved: 0, seats: 0, alreadyDone: false };
}

export async function migrateLayout(redis: RedisClient, prefix: string, logger: Logger): Promise<MigrateResult> {
  const keys = createKeys(prefix);
  if ((await redis.get(keys.layout())) === LAYOUT_VERSION) return { moved: 0, seats: 0, alreadyDone: true };
  if (redis instanceof Cluster) return checkCluster(redis, prefix, keys);
  return migrateStandalone(redis, prefix, keys, logger);
}
