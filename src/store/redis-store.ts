/**
 * The Redis store, standalone or Redis Cluster alike. Layout (keys.ts): users in one hash, a
 * user's rooms in a hash room id → name, members in a set, messages in a stream whose ids are
 * the message ids. Every script a cluster runs touches one slot (scripts.ts); an operation that
 * spans a user's slot and a room's (posting, joining, leaving, the page query) is a short sequence
 * of them, ordered so the contract's rules hold under concurrency — each method says how. On one
 * Redis, `text` and `read` (the frequent ones) are one script each instead. Round trips:
 * commands issued together are auto-pipelined (one write per Redis node).
 */
import { randomBytes } from 'node:crypto';
import type { Message, RoomRef, RoomView, RoomWithMessages, UserProfile } from '../shared/types.js';
import { nameKey } from '../shared/names.js';
import { RANDOM_ROOM } from '../shared/room-label.js';
import { byRoomId, formatId, isMaxId, isMinId, parseId } from './ids.js';
import type { Keys } from './keys.js';
import * as scripts from './scripts.js';
import { directRoomId } from './direct.js';
import { roomChannel, shardChannel } from './fanout.js';
import { luaScripts, type Script } from './lua.js';
import type { RedisClient } from './redis-client.js';
import type { ReplicaWait } from './replica-wait.js';
import {
  RoomCapReached,
  type ChatStore,
  type DirectResult,
  type HistoryRange,
  type JoinRandomResult,
  type MessageDraft,
  type PostOptions,
  type PostResult,
  type ReadMark,
  type StoreLimits,
} from './types.js';
import { createTurnBatcher } from './turn-batcher.js';

export interface RedisStoreOptions {
  redis: RedisClient;
  keys: Keys;
  limits: StoreLimits;
  /** The Socket.IO adapter's channel prefix (fanout.ts): postMessage publishes each message there. */
  channelPrefix: string;
  /** On a cluster: waits for a replica to have what was written to this key (replica-wait.ts). */
  replicaWait?: ReplicaWait;
}

type StreamEntry = [id: string, fields: string[]];

/** Entries read after a read mark to count unread (CONTRACT: exact up to 99 at least). */
const UNREAD_CAP = 100;
/** Rooms per NEWEST_ENTRIES script: one of 100 rooms holds Redis 0.5–0.9 ms here (bench/README.md). */
const NEWEST_PER_SCRIPT = 100;
/** How long a user's claim on joining a random room holds if its node dies mid-way. */
const RANDOM_CLAIM_MS = 5000;
/** Waits for another call's claim on the same user's random room, at most this many times. */
const RANDOM_CLAIM_TRIES = 50;

const COMMANDS = {
  chatPostMessage: { numberOfKeys: 3, lua: scripts.POST_MESSAGE },
  chatTextTake: { numberOfKeys: 2, lua: scripts.TEXT_TAKE },
  chatPostText: { numberOfKeys: 7, lua: scripts.POST_TEXT },
  chatReadForward: { numberOfKeys: 2, lua: scripts.READ_FORWARD },
  chatReadClamp: { numberOfKeys: 2, lua: scripts.READ_CLAMP },
  chatReadMark: { numberOfKeys: 4, lua: scripts.READ_MARK },
  chatRandomClaim: { numberOfKeys: 1, lua: scripts.RANDOM_CLAIM },
  chatRandomSeat: { numberOfKeys: 3, lua: scripts.RANDOM_SEAT },
  chatRandomFree: { numberOfKeys: 2, lua: scripts.RANDOM_FREE },
  chatRoomAdd: { numberOfKeys: 2, lua: scripts.ROOM_ADD },
  chatRoomLeave: { numberOfKeys: 2, lua: scripts.ROOM_LEAVE },
  chatRoomDrop: { numberOfKeys: 2, lua: scripts.ROOM_DROP },
  chatUserAddRoom: { numberOfKeys: 1, lua: scripts.USER_ADD_ROOM },
  chatUserLeave: { numberOfKeys: 4, lua: scripts.USER_LEAVE },
  chatRoomSummary: { numberOfKeys: 1, lua: scripts.ROOM_SUMMARY },
  chatNewestEntries: { numberOfKeys: null, lua: scripts.NEWEST_ENTRIES },
  chatCreateAccount: { numberOfKeys: 4, lua: scripts.CREATE_ACCOUNT },
  chatDelIfEquals: { numberOfKeys: 1, lua: scripts.DEL_IF_EQUALS },
} as const;

/** Each script's number of keys: the slot test (test/unit/script-slots.test.ts) reads it. */
export const SCRIPT_KEYS = COMMANDS;

type Commands = Record<keyof typeof COMMANDS, Script>;

/** POST_TEXT's answer (scripts.ts): {3} over budget, {4} rate limited, else post_message's. */
type PostReply = [0, 'not a member'] | [1, string, number?] | [2, string] | [3] | [4];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An entry's `n` (scripts.ts NEXT_N_FN), or null for one written before `n` existed. */
function entryN([, fields]: StreamEntry): number | null {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'n') return Number(fields[i + 1]);
  return null;
}

function toMessage(roomId: string, [id, fields]: StreamEntry): Message {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  return {
    id,
    room_id: roomId,
    uid: f.uid ?? '',
    name: f.name ?? '',
    picture: f.picture ?? '',
    msg: f.msg ?? '',
    time: f.time ?? '',
    type: f.type === 'server' ? 'server' : 'user',
    ...(f.client_id ? { client_id: f.client_id } : {}),
  };
}

/** A user's entry in the name index: name key, NUL, uid (NUL sorts before every character). */
function indexEntry(user: Pick<UserProfile, 'uid' | 'name'>): string {
  return `${nameKey(user.name)}\u0000${user.uid}`;
}

function serverMessage(roomId: string, id: string, msg: string, time: string): Message {
  return { id, room_id: roomId, uid: '', name: '', picture: '', msg, time, type: 'server' };
}

/** The ms part of a stream id (0 for none). */
function idTime(id: string | undefined): number {
  return id ? Number(id.slice(0, id.indexOf('-'))) : 0;
}

export class RedisStore implements ChatStore {
  readonly kind = 'redis' as const;
  private readonly redis: RedisClient;
  private readonly keys: Keys;
  private readonly limits: StoreLimits;
  private readonly channelPrefix: string;
  private readonly replicaWait: ReplicaWait | null;
  private readonly cmd: Commands;
  private readonly endOfTurn = createTurnBatcher();
  /** postMessage's rate-log tokens: a random id of this store and a count (a random token per
   *  message cost ~2 % of the server's CPU in the profile). */
  private readonly tokenPrefix = `${randomBytes(6).toString('hex')}:`;
  private posts = 0;
  readonly takesTextBudget = true;

  constructor(opts: RedisStoreOptions) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.limits = opts.limits;
    this.channelPrefix = opts.channelPrefix;
    this.replicaWait = opts.replicaWait ?? null;
    this.cmd = luaScripts(this.redis, COMMANDS);
  }

  async saveUser(user: UserProfile): Promise<void> {
    // Profile and name index together (a user's name does not change after sign-up: the dev uid
    // is made from it, a password account's name is fixed, a Firebase profile is made once).
    await this.redis
      .multi()
      .hset(this.keys.users(), user.uid, JSON.stringify(user))
      .zadd(this.keys.userIndex(), 0, indexEntry(user))
      .exec();
  }

  async getUser(uid: string): Promise<UserProfile | null> {
    const raw = await this.redis.hget(this.keys.users(), uid);
    return raw === null ? null : (JSON.parse(raw) as UserProfile);
  }

  async getUsers(uids: readonly string[]): Promise<(UserProfile | null)[]> {
    if (uids.length === 0) return [];
    const raws = await this.redis.hmget(this.keys.users(), ...uids);
    return raws.map((raw) => (raw === null ? null : (JSON.parse(raw) as UserProfile)));
  }

  async listUsers(): Promise<UserProfile[]> {
    const all = await this.redis.hvals(this.keys.users());
    return all.map((raw) => JSON.parse(raw) as UserProfile).sort((a, b) => (a.uid < b.uid ? -1 : 1));
  }

  async searchUsers(prefix: string, limit: number): Promise<UserProfile[]> {
    // Byte 0xFF never occurs in UTF-8: `[prefix` to `[prefix<FF>` is every entry that starts with it.
    const min = Buffer.from(`[${prefix}`);
    const max = Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]);
    const entries = await this.redis.zrangebylex(this.keys.userIndex(), min, max, 'LIMIT', 0, limit);
    if (entries.length === 0) return [];
    const uids = entries.map((e) => e.slice(e.lastIndexOf('\u0000') + 1));
    const raws = await this.redis.hmget(this.keys.users(), ...uids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as UserProfile);
  }

  async indexUsers(): Promise<number> {
    const [users, indexed] = await Promise.all([
      this.redis.hlen(this.keys.users()),
      this.redis.zcard(this.keys.userIndex()),
    ]);
    if (indexed >= users) return 0;
    let added = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.users(), cursor, 'COUNT', 1000);
      cursor = next;
      const entries: (string | number)[] = [];
      for (let i = 1; i < flat.length; i += 2) entries.push(0, indexEntry(JSON.parse(flat[i]!) as UserProfile));
      if (entries.length > 0) added += await this.redis.zadd(this.keys.userIndex(), ...entries);
    } while (cursor !== '0');
    return added;
  }

  async createAccount(user: UserProfile, nameKey: string, passwordHash: string): Promise<boolean> {
    const created = await this.cmd.chatCreateAccount(
      this.keys.accountNames(),
      this.keys.users(),
      this.keys.passwords(),
      this.keys.userIndex(),
      nameKey,
      user.uid,
      JSON.stringify(user),
      passwordHash,
      indexEntry(user),
    );
    return created === 1;
  }

  async findAccount(nameKey: string): Promise<{ uid: string; passwordHash: string } | null> {
    const uid = await this.redis.hget(this.keys.accountNames(), nameKey);
    if (uid === null) return null;
    const passwordHash = await this.redis.hget(this.keys.passwords(), uid);
    return passwordHash === null ? null : { uid, passwordHash };
  }

  async userRooms(uid: string): Promise<RoomRef[]> {
    const rooms = await this.redis.hgetall(this.keys.userRooms(uid));
    return Object.entries(rooms)
      .map(([room_id, room_name]) => ({ room_id, room_name }))
      .sort(byRoomId);
  }

  async isMember(uid: string, roomId: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.roomMembers(roomId), uid)) === 1;
  }

  async roomMembers(roomId: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.roomMembers(roomId))).sort();
  }

  /**
   * ONE REDIS ONLY: each room's newest entry (NEWEST_ENTRIES), in scripts of at most
   * NEWEST_PER_SCRIPT rooms sent together, so Redis is never held long by one of them.
   */
  private async newestEntries(ids: string[]): Promise<Map<string, StreamEntry[]>> {
    const calls: Promise<unknown>[] = [];
    // cjson writes an empty table as `{}`: never called without keys.
    for (let i = 0; i < ids.length; i += NEWEST_PER_SCRIPT) {
      const keys = ids.slice(i, i + NEWEST_PER_SCRIPT).map((id) => this.keys.roomMessages(id));
      calls.push(this.cmd.chatNewestEntries(keys.length, ...keys));
    }
    const out = new Map<string, StreamEntry[]>();
    const replies = await Promise.all(calls);
    let i = 0;
    for (const reply of replies)
      for (const entry of JSON.parse(reply as string) as (StreamEntry | false)[]) {
        out.set(ids[i++] ?? '', entry ? [entry] : []);
      }
    return out;
  }

  /**
   * Step 1, the user's slot: their rooms, read marks and the marks' `n`. Step 2, each room's slot,
   * all at once (auto-pipelined: one write per Redis node): for a room with a mark whose `n` is
   * known, its newest entries with a plain XREVRANGE (on one Redis, when only the newest is wanted:
   * NEWEST_ENTRIES for a hundred rooms at a time), unread being the newest entry's `n` minus the
   * mark's (scripts.ts NEXT_N_FN); for the others (never read, or marks and entries from before
   * `n`), ROOM_SUMMARY counts in Lua. Step 3, only for a room whose newest entry has no `n` (written
   * by an older node during a rolling deploy): ROOM_SUMMARY. Step 4, only when the first room
   * (known after sorting) wants more messages than the others: that room's newest `perFirst`.
   * Three or four round trips whatever the number of rooms. A script call of its own per read room
   * would cost Redis several times a XREVRANGE (the bench's page scenario); NEWEST_ENTRIES pays
   * that once per hundred rooms, and its one JSON reply saves ioredis ~17 strings per room.
   * A room left between the steps shows with no messages.
   */
  async roomSummaries(uid: string, perFirst: number, perOther: number): Promise<RoomView[]> {
    const first = Math.max(0, Math.floor(perFirst));
    const other = Math.max(0, Math.floor(perOther));
    const [rooms, marks, counts] = await Promise.all([
      this.redis.hgetall(this.keys.userRooms(uid)),
      this.redis.hgetall(this.keys.userReads(uid)),
      this.redis.hgetall(this.keys.userReadCounts(uid)),
    ]);
    const ids = Object.keys(rooms);
    const markN = (id: string) => (marks[id] === undefined ? undefined : counts[id]);
    const summary = (id: string) =>
      this.cmd.chatRoomSummary(this.keys.roomMessages(id), uid, marks[id] ?? '', UNREAD_CAP, other) as Promise<
        [StreamEntry | null, number, StreamEntry[]]
      >;
    // Rooms whose mark has its `n` need only their newest entry: on one Redis all of them in a few
    // scripts (NEWEST_ENTRIES), sent in the same write as the other rooms' summaries.
    const newest =
      !this.redis.isCluster && other === 0 ? this.newestEntries(ids.filter((id) => markN(id) !== undefined)) : null;
    const rows = await Promise.all(
      ids.map(async (id): Promise<[StreamEntry | null, number, StreamEntry[]] | null> => {
        const n = markN(id);
        if (n === undefined) return summary(id);
        const entries = newest
          ? ((await newest).get(id) ?? [])
          : ((await this.redis.xrevrange(
              this.keys.roomMessages(id),
              '+',
              '-',
              'COUNT',
              Math.max(1, other),
            )) as StreamEntry[]);
        const last = entries[0];
        if (!last) return [null, 0, []];
        const lastN = entryN(last);
        if (lastN === null) return null;
        return [last, Math.min(UNREAD_CAP, Math.max(0, lastN - Number(n))), other > 0 ? entries : []];
      }),
    );
    const unknown = ids.flatMap((id, i) => (rows[i] === null ? [i] : []));
    const late = await Promise.all(unknown.map((i) => summary(ids[i] ?? '')));
    unknown.forEach((i, j) => (rows[i] = late[j] ?? null));
    let views: RoomView[] = ids.map((room_id, i) => {
      const [last, unread, entries] = rows[i] ?? [null, 0, []];
      return {
        room_id,
        room_name: rooms[room_id] ?? room_id,
        last_message: last ? toMessage(room_id, last) : null,
        last_read: marks[room_id] ?? null,
        unread,
        messages: entries.reverse().map((e) => toMessage(room_id, e)),
      };
    });
    // Newest activity first; ties (e.g. empty rooms) by room id, as code units. Each room's time is
    // parsed once, not in every comparison (a user in 1,000 rooms: ~10,000 comparisons).
    const keyed = views.map((v) => ({ v, t: idTime(v.last_message?.id) }));
    keyed.sort((a, b) => b.t - a.t || (a.v.room_id < b.v.room_id ? -1 : 1));
    views = keyed.map((k) => k.v);
    const top = views[0];
    if (top && first > other) top.messages = await this.history(top.room_id, { limit: first });
    else if (top && first < other) top.messages = first === 0 ? [] : top.messages.slice(-first);
    return views;
  }

  /**
   * On one Redis: one script (READ_MARK). On a Redis Cluster: the room's slot (membership and the
   * clamp to the newest message), then the user's slot (forward only). A mark left behind by a
   * leave racing the two steps names a room the user is not in: it is never read (summaries start
   * from the user's rooms) and goes with the next leave.
   */
  async markRead(uid: string, roomId: string, id: string): Promise<ReadMark | null> {
    const room = [this.keys.roomMembers(roomId), this.keys.roomMessages(roomId)] as const;
    const marks = [this.keys.userReads(uid), this.keys.userReadCounts(uid)] as const;
    const wanted = formatId(parseId(id));
    if (!this.redis.isCluster) {
      const reply = (await this.cmd.chatReadMark(...room, ...marks, uid, wanted, roomId)) as
        [0] | [1, string | null, number];
      return reply[0] === 0 ? null : { last_read: reply[1] ?? null, moved: reply[2] === 1 };
    }
    const clamp = (await this.cmd.chatReadClamp(...room, uid, wanted)) as [0] | [1, string | null | undefined, string?];
    if (clamp[0] === 0) return null;
    if (!clamp[1]) return { last_read: (await this.redis.hget(marks[0], roomId)) ?? null, moved: false };
    const [mark, moved] = (await this.cmd.chatReadForward(...marks, roomId, clamp[1], clamp[2] ?? '')) as [
      string,
      number,
    ];
    return { last_read: mark, moved: moved === 1 };
  }

  /**
   * Lists the room in each user's rooms hash (each user's slot; a full user refuses), undoing
   * those made when anyone was full, then adds the members in the room's slot. Membership (the
   * room's set) is what posting checks, and it is made last, so nobody can post into a room
   * whose listing was undone. Nobody is told of the room before all steps are done.
   */
  private async listRoomFor(roomId: string, names: Map<string, string>): Promise<void> {
    const entries = [...names];
    const listed = await Promise.all(
      entries.map(
        ([uid, name]) =>
          this.cmd.chatUserAddRoom(
            this.keys.userRooms(uid),
            roomId,
            name,
            this.limits.maxRoomsPerUser,
          ) as Promise<number>,
      ),
    );
    const full = entries.filter((_, i) => listed[i] !== 1).map(([uid]) => uid);
    if (full.length === 0) return;
    await Promise.all(
      entries.filter((_, i) => listed[i] === 1).map(([uid]) => this.redis.hdel(this.keys.userRooms(uid), roomId)),
    );
    throw new RoomCapReached(full);
  }

  async createGroup(creator: UserProfile, roomName: string, memberUids: string[]): Promise<RoomWithMessages> {
    const members = [...new Set([creator.uid, ...memberUids])];
    const time = new Date().toISOString();
    // The counter is the creator's alone: the id is theirs whatever happens next (a refused
    // group leaves a gap in the numbers, as a refused group never existed).
    const n = (await this.redis.incr(this.keys.userRoomCounter(creator.uid))) - 1;
    const roomId = `${creator.uid}_${n}`;
    await this.listRoomFor(roomId, new Map(members.map((uid) => [uid, roomName])));
    const text = `Chat started by ${creator.name}`;
    const [openingId] = (await this.cmd.chatRoomAdd(
      this.keys.roomMembers(roomId),
      this.keys.roomMessages(roomId),
      text,
      time,
      this.limits.historyKeep,
      ...members,
    )) as [string, ...number[]];
    return { room_id: roomId, room_name: roomName, messages: [serverMessage(roomId, openingId, text, time)] };
  }

  async directRoom(a: UserProfile, b: UserProfile): Promise<DirectResult> {
    const roomId = directRoomId(a.uid, b.uid);
    const time = new Date().toISOString();
    const members = this.keys.roomMembers(roomId);
    const [inA, inB] = await this.redis.smismember(members, a.uid, b.uid);
    // Each side's rooms hash names the room after the other user.
    const names = new Map<string, string>();
    if (inA !== 1) names.set(a.uid, b.name);
    if (inB !== 1) names.set(b.uid, a.name);
    if (names.size > 0) await this.listRoomFor(roomId, names);
    const text = `Chat started by ${a.name}`;
    const [openingId, addedA, addedB] = (await this.cmd.chatRoomAdd(
      members,
      this.keys.roomMessages(roomId),
      text,
      time,
      this.limits.historyKeep,
      a.uid,
      b.uid,
    )) as [string | null, number, number];
    // Who was added is what the room's set says, so two simultaneous calls announce once.
    const added = [...(addedA === 1 ? [a.uid] : []), ...(addedB === 1 ? [b.uid] : [])];
    const result: DirectResult = { room_id: roomId, created: Boolean(openingId), added };
    if (openingId) result.opening = serverMessage(roomId, openingId, text, time);
    return result;
  }

  /**
   * 1. The user's slot: a claim (`pending:<token>`), so two calls for one user cannot both take a
   *    seat; a call that finds the user's room answers it, one that finds another's claim waits.
   * 2. The {random} slot: a seat, atomically (capacity is decided there, across nodes).
   * 3. The room's slot: the member (and the opening message when the room is new).
   * 4. The user's slot: the room listed and the claim replaced by the room.
   */
  async joinRandom(user: Pick<UserProfile, 'uid' | 'name'>): Promise<JoinRandomResult> {
    const randomKey = this.keys.userRandom(user.uid);
    const claim = `pending:${randomBytes(8).toString('hex')}`;
    for (let tries = 0; ; tries++) {
      const [claimed, current] = (await this.cmd.chatRandomClaim(randomKey, claim, RANDOM_CLAIM_MS)) as
        [1] | [0, string];
      if (claimed === 1) break;
      if (!current.startsWith('pending:')) {
        if (await this.isMember(user.uid, current)) {
          return { room: { room_id: current, room_name: current }, joined: false };
        }
        // A room the user is no longer in (left by a leave that lost a race): forget it.
        await this.cmd.chatDelIfEquals(randomKey, current);
      } else if (tries >= RANDOM_CLAIM_TRIES) {
        throw new Error('join_random: another join of this user did not finish');
      } else {
        await sleep(20);
      }
    }
    const [roomId] = (await this.cmd.chatRandomSeat(
      this.keys.randomRooms(),
      this.keys.randomCounter(),
      this.keys.randomSeats(),
      this.limits.randomRoomSize,
    )) as [string, number];
    const time = new Date().toISOString();
    const text = `Chat started by ${user.name}`;
    let openingId: string | null;
    try {
      [openingId] = (await this.cmd.chatRoomAdd(
        this.keys.roomMembers(roomId),
        this.keys.roomMessages(roomId),
        text,
        time,
        this.limits.historyKeep,
        user.uid,
      )) as [string | null, number];
      await this.redis.multi().hset(this.keys.userRooms(user.uid), roomId, roomId).set(randomKey, roomId).exec();
    } catch (err) {
      // The seat is given back and the claim dropped (best effort: the store may be the failure),
      // so a join that failed half-way leaves no phantom seat nor a user locked out for the claim.
      await Promise.allSettled([
        this.cmd.chatRoomLeave(this.keys.roomMembers(roomId), this.keys.roomMessages(roomId), user.uid, 0),
        this.cmd.chatRandomFree(
          this.keys.randomRooms(),
          this.keys.randomSeats(),
          roomId,
          RANDOM_ROOM.exec(roomId)?.[1] ?? '0',
          this.limits.randomRoomSize,
        ),
        this.cmd.chatDelIfEquals(randomKey, claim),
      ]);
      throw err;
    }
    // A random room's name is its id.
    const result: JoinRandomResult = { room: { room_id: roomId, room_name: roomId }, joined: true };
    if (openingId) result.opening = serverMessage(roomId, openingId, text, time);
    return result;
  }

  /**
   * The room's slot first (membership is the truth; a group or direct room goes with its last
   * member in the same step). A random room's end is decided by its seats in the {random} slot:
   * the last seat given back takes the room off the index (no join can reach it), and only then
   * are its keys deleted. The user's side (rooms, mark, random key) last, also when they were
   * not a member (it heals a listing left by an interrupted call).
   */
  async leaveRoom(uid: string, roomId: string): Promise<{ left: boolean; deleted: boolean }> {
    const random = RANDOM_ROOM.exec(roomId);
    const [left, deletedNow] = (await this.cmd.chatRoomLeave(
      this.keys.roomMembers(roomId),
      this.keys.roomMessages(roomId),
      uid,
      random ? 0 : 1,
    )) as [number, number, number];
    let deleted = deletedNow === 1;
    if (left === 1 && random) {
      const empty = await this.cmd.chatRandomFree(
        this.keys.randomRooms(),
        this.keys.randomSeats(),
        roomId,
        random[1] ?? '0',
        this.limits.randomRoomSize,
      );
      if (empty === 1) {
        deleted = (await this.cmd.chatRoomDrop(this.keys.roomMembers(roomId), this.keys.roomMessages(roomId))) === 1;
      }
    }
    await this.cmd.chatUserLeave(
      this.keys.userRooms(uid),
      this.keys.userReads(uid),
      this.keys.userRandom(uid),
      this.keys.userReadCounts(uid),
      roomId,
    );
    return { left: left === 1, deleted };
  }

  /**
   * On one Redis: one script (POST_TEXT), one round trip — the user's budget token and rate place,
   * the client id (a resend answers the stored message), membership, the append and the publish,
   * and the sender's read mark, atomically.
   *
   * On a Redis Cluster, where the user's keys and the room's lie in different slots, three steps:
   * 1. The user's slot: with `options.budget`, a token of the user's event budget (none left:
   *    refused `overBudget`, nothing else done); then a place in the rate limit (atomic, across
   *    nodes), with a token. One script (TEXT_TAKE).
   * 2. The room's slot: the client id, membership, the append and the publish, atomically — so
   *    deliveries follow storage order on every node. A post refused here (not a member, or a
   *    resend) gives its place back: refused events do not count. When step 1 refuses, step 2 runs
   *    in check mode, so a resend still answers its message and a non-member still hears `not a
   *    member` (the contract's order), not the limit.
   * 3. The user's slot: the sender's read mark moves to their message, issued before the ack so
   *    their next request on this node finds it.
   * Both ways run the same Lua functions (scripts.ts), so they answer alike.
   */
  async postMessage(draft: MessageDraft, options: PostOptions = {}): Promise<PostResult> {
    const type = draft.type ?? 'user';
    const time = new Date().toISOString();
    const cid = draft.client_id ?? '';
    const { room_id, uid, name, picture, msg } = draft;
    const budget = options.budget;
    const user = [this.keys.rateLimit(uid), this.keys.userBudget(uid)];
    const limit = [
      this.limits.rateLimitCount,
      this.limits.rateLimitWindowMs,
      // Unique among the user's places in the rate log, across nodes: this store's random id and a count.
      `${room_id} ${this.tokenPrefix}${(this.posts += 1)}`,
      budget?.perSecond ?? '',
      budget?.burst ?? '',
    ];
    // Without a client id the script reads no such key; any key of the room's slot will do.
    const room = [
      this.keys.roomMembers(room_id),
      this.keys.roomMessages(room_id),
      this.keys.clientId(room_id, uid, cid),
    ];
    // post_message's arguments (scripts.ts).
    const post = [
      uid,
      name,
      picture,
      msg,
      type,
      time,
      this.limits.historyKeep,
      room_id,
      shardChannel(this.channelPrefix, room_id),
      roomChannel(room_id),
      cid,
      this.limits.clientIdKeepMs,
    ];
    const marks = [this.keys.userReads(uid), this.keys.userReadCounts(uid)];
    await this.endOfTurn();
    const reply = this.redis.isCluster
      ? await this.postInSteps(room_id, user, limit, room, post, marks)
      : ((await this.cmd.chatPostText(...user, ...room, ...marks, ...limit, ...post)) as PostReply);
    switch (reply[0]) {
      case 3:
        return { ok: false, error: 'rate limited', overBudget: true };
      case 4:
        return { ok: false, error: 'rate limited' };
      case 0:
        return { ok: false, error: reply[1] };
      case 2: {
        const [id = '', storedTime = ''] = reply[1].split(' ');
        return { ok: true, id, time: storedTime, message: null };
      }
    }
    const message: Message = { id: reply[1], room_id, uid, name, picture, msg, time, type };
    if (cid) message.client_id = cid;
    return { ok: true, id: message.id, time, message };
  }

  /** postMessage's three steps on a Redis Cluster, answering as POST_TEXT does. */
  private async postInSteps(
    roomId: string,
    user: string[],
    limit: (string | number)[],
    room: string[],
    post: (string | number)[],
    marks: string[],
  ): Promise<PostReply> {
    const [rateKey = '', budgetKey = ''] = user;
    const step = (await this.cmd.chatTextTake(rateKey, budgetKey, ...limit)) as 0 | 1 | 2;
    if (step === 0) return [3];
    const taken = step === 2;
    const reply = (await this.cmd.chatPostMessage(...room, ...post, taken ? 'post' : 'check')) as PostReply;
    if (taken && reply[0] !== 1) await this.redis.zrem(rateKey, String(limit[2]));
    if (reply[0] !== 1) return reply;
    if (!taken) return [4];
    // Acknowledged only once a replica has it too (see replica-wait.ts).
    if (this.replicaWait) await this.replicaWait(room[1] ?? '');
    // Not awaited: the message is stored and delivered. It goes out before any later command of
    // this node on the user's slot, so a `joined` or GET /chat after the acknowledgement sees the
    // mark; were it lost, the user's own message would count as unread for them until they read on.
    const [id, n] = [reply[1], reply[2]];
    this.cmd.chatReadForward(...marks, roomId, id, n ?? '').catch(() => undefined);
    return reply;
  }

  async findClientId(roomId: string, uid: string, clientId: string): Promise<{ id: string; time: string } | null> {
    const stored = await this.redis.get(this.keys.clientId(roomId, uid, clientId));
    if (stored === null) return null;
    const [id = '', time = ''] = stored.split(' ');
    return { id, time };
  }

  async memberOf(uid: string, roomIds: readonly string[]): Promise<Set<string>> {
    if (roomIds.length === 0) return new Set();
    // The user's rooms hash names every room they are in: one HMGET answers for all of them.
    const names = await this.redis.hmget(this.keys.userRooms(uid), ...roomIds);
    return new Set(roomIds.filter((_, i) => names[i] !== null));
  }

  async history(roomId: string, range: HistoryRange): Promise<Message[]> {
    const key = this.keys.roomMessages(roomId);
    const limit = Math.max(1, Math.floor(range.limit));
    const before = range.before === undefined ? null : parseId(range.before);
    const after = range.after === undefined ? null : parseId(range.after);
    // Redis refuses an exclusive range that starts past the largest id or ends before the smallest.
    if ((before && isMinId(before)) || (after && isMaxId(after))) return [];
    if (after && !before) {
      const entries = (await this.redis.xrange(key, `(${formatId(after)}`, '+', 'COUNT', limit)) as StreamEntry[];
      return entries.map((e) => toMessage(roomId, e));
    }
    const end = before ? `(${formatId(before)}` : '+';
    const start = after ? `(${formatId(after)}` : '-';
    const entries = (await this.redis.xrevrange(key, end, start, 'COUNT', limit)) as StreamEntry[];
    return entries.reverse().map((e) => toMessage(roomId, e));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    // The composition root owns (and quits) the client.
  }
}
