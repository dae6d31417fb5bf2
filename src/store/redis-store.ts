/**
 * The Redis store. Every change of more than one key is one Lua script (scripts.ts), so it is
 * atomic across nodes and costs one round trip. Layout (keys.ts): users in one hash, a user's
 * rooms in a hash room id → name, members in a set, messages in a stream whose ids are the
 * message ids. Rooms are listed by room id (code-unit order), like the memory store.
 */
import type { Redis } from 'ioredis';
import { CHAT_NAMESPACE, roomChannel } from '../shared/events.js';
import type { Message, RoomRef, RoomView, RoomWithMessages, UserProfile } from '../shared/types.js';
import { nameKey } from '../shared/names.js';
import { byRoomId, formatId, isMaxId, isMinId, parseId } from './ids.js';
import type { Keys } from './keys.js';
import * as scripts from './scripts.js';
import { directRoomId } from './direct.js';
import {
  RoomCapReached,
  type ChatStore,
  type DirectResult,
  type HistoryRange,
  type JoinRandomResult,
  type MessageDraft,
  type PostResult,
  type StoreLimits,
} from './types.js';
import { createTurnBatcher } from './turn-batcher.js';

export interface RedisStoreOptions {
  redis: Redis;
  keys: Keys;
  limits: StoreLimits;
  /** The Socket.IO adapter's key: when set, postMessage publishes to every node's adapter. */
  adapterKey?: string;
}

type Arg = string | number;
type Script = (...args: Arg[]) => Promise<unknown>;
type StreamEntry = [id: string, fields: string[]];

/** Entries read after a read mark to count unread (CONTRACT: exact up to 99 at least). */
const UNREAD_CAP = 100;

const COMMANDS = {
  chatPostMessage: { numberOfKeys: 5, lua: scripts.POST_MESSAGE },
  chatJoinRandom: { numberOfKeys: 4, lua: scripts.JOIN_RANDOM },
  chatLeaveRoom: { numberOfKeys: 6, lua: scripts.LEAVE_ROOM },
  chatCreateGroup: { numberOfKeys: 1, lua: scripts.CREATE_GROUP },
  chatRoomSummaries: { numberOfKeys: 2, lua: scripts.ROOM_SUMMARIES },
  chatReadMark: { numberOfKeys: 3, lua: scripts.READ_MARK },
  chatCreateAccount: { numberOfKeys: 4, lua: scripts.CREATE_ACCOUNT },
  chatDirectRoom: { numberOfKeys: 4, lua: scripts.DIRECT_ROOM },
} as const;

type Commands = Record<keyof typeof COMMANDS, Script>;

/** A room key as the two halves around the room id (or uid), for scripts that build keys. */
function template(build: (id: string) => string): [string, string] {
  const marker = '\u0000';
  const [pre, suf] = build(marker).split(marker);
  return [pre ?? '', suf ?? ''];
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

export class RedisStore implements ChatStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly keys: Keys;
  private readonly limits: StoreLimits;
  private readonly adapterKey: string | null;
  private readonly cmd: Commands;
  private readonly endOfTurn = createTurnBatcher();

  constructor(opts: RedisStoreOptions) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.limits = opts.limits;
    this.adapterKey = opts.adapterKey ?? null;
    for (const [name, def] of Object.entries(COMMANDS)) {
      this.redis.defineCommand(name, def);
    }
    this.cmd = this.redis as unknown as Commands;
  }

  private roomTemplates(): Arg[] {
    return [...template(this.keys.roomMembers), ...template(this.keys.roomMessages)];
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

  async roomSummaries(uid: string, perFirst: number, perOther: number): Promise<RoomView[]> {
    const rows = (await this.cmd.chatRoomSummaries(
      this.keys.userRooms(uid),
      this.keys.userReads(uid),
      ...template(this.keys.roomMessages),
      uid,
      Math.max(0, Math.floor(perFirst)),
      Math.max(0, Math.floor(perOther)),
      UNREAD_CAP,
    )) as [string, string, StreamEntry | null, string | null, number, StreamEntry[]][];
    return rows.map(([room_id, room_name, last, mark, unread, entries]) => ({
      room_id,
      room_name,
      last_message: last ? toMessage(room_id, last) : null,
      last_read: mark ?? null,
      unread,
      messages: entries.reverse().map((e) => toMessage(room_id, e)),
    }));
  }

  async markRead(uid: string, roomId: string, id: string): Promise<{ last_read: string | null } | null> {
    const reply = (await this.cmd.chatReadMark(
      this.keys.userReads(uid),
      this.keys.roomMembers(roomId),
      this.keys.roomMessages(roomId),
      uid,
      roomId,
      formatId(parseId(id)),
    )) as [0] | [1, string | null | undefined];
    if (reply[0] === 0) return null;
    return { last_read: reply[1] ?? null };
  }

  async createGroup(creator: UserProfile, roomName: string, memberUids: string[]): Promise<RoomWithMessages> {
    const members = [...new Set([creator.uid, ...memberUids])];
    const time = new Date().toISOString();
    const [roomId, openingId, ...rest] = (await this.cmd.chatCreateGroup(
      this.keys.userRoomCounter(creator.uid),
      ...this.roomTemplates(),
      ...template(this.keys.userRooms),
      creator.uid,
      creator.name,
      roomName,
      time,
      this.limits.historyKeep,
      this.limits.maxRoomsPerUser,
      ...members,
    )) as [string, string] | ['full', ...string[]];
    if (roomId === 'full') throw new RoomCapReached(openingId === undefined ? [] : [openingId, ...rest]);
    const opening = serverMessage(roomId, openingId, `Chat started by ${creator.name}`, time);
    return { room_id: roomId, room_name: roomName, messages: [opening] };
  }

  async directRoom(a: UserProfile, b: UserProfile): Promise<DirectResult> {
    const roomId = directRoomId(a.uid, b.uid);
    const time = new Date().toISOString();
    const reply = (await this.cmd.chatDirectRoom(
      this.keys.roomMembers(roomId),
      this.keys.roomMessages(roomId),
      this.keys.userRooms(a.uid),
      this.keys.userRooms(b.uid),
      roomId,
      a.uid,
      b.uid,
      a.name,
      b.name,
      time,
      this.limits.historyKeep,
      this.limits.maxRoomsPerUser,
    )) as ['full', ...string[]] | [number, number, number, string | null];
    if (reply[0] === 'full') throw new RoomCapReached(reply.slice(1) as string[]);
    const [created, addedA, addedB, openingId] = reply as [number, number, number, string | null];
    const added = [...(addedA ? [a.uid] : []), ...(addedB ? [b.uid] : [])];
    const result: DirectResult = { room_id: roomId, created: created === 1, added };
    if (openingId) result.opening = serverMessage(roomId, openingId, `Chat started by ${a.name}`, time);
    return result;
  }

  async joinRandom(user: Pick<UserProfile, 'uid' | 'name'>): Promise<JoinRandomResult> {
    const time = new Date().toISOString();
    const [joined, roomId, openingId] = (await this.cmd.chatJoinRandom(
      this.keys.userRandom(user.uid),
      this.keys.randomRooms(),
      this.keys.randomCounter(),
      this.keys.userRooms(user.uid),
      ...this.roomTemplates(),
      user.uid,
      user.name,
      this.limits.randomRoomSize,
      time,
      this.limits.historyKeep,
    )) as [number, string, string | null];
    // A random room's name is its id.
    const result: JoinRandomResult = { room: { room_id: roomId, room_name: roomId }, joined: joined === 1 };
    if (openingId) result.opening = serverMessage(roomId, openingId, `Chat started by ${user.name}`, time);
    return result;
  }

  async leaveRoom(uid: string, roomId: string): Promise<{ left: boolean; deleted: boolean }> {
    const [left, deleted] = (await this.cmd.chatLeaveRoom(
      this.keys.userRooms(uid),
      this.keys.roomMembers(roomId),
      this.keys.roomMessages(roomId),
      this.keys.userRandom(uid),
      this.keys.randomRooms(),
      this.keys.userReads(uid),
      uid,
      roomId,
      this.limits.randomRoomSize,
    )) as [number, number];
    return { left: left === 1, deleted: deleted === 1 };
  }

  async postMessage(draft: MessageDraft): Promise<PostResult> {
    const type = draft.type ?? 'user';
    const time = new Date().toISOString();
    const cid = draft.client_id ?? '';
    await this.endOfTurn();
    const reply = (await this.cmd.chatPostMessage(
      this.keys.roomMembers(draft.room_id),
      this.keys.rateLimit(draft.uid),
      this.keys.roomMessages(draft.room_id),
      // Without a client id the script reads no such key; any key of the room's slot will do.
      this.keys.clientId(draft.room_id, draft.uid, cid),
      this.keys.userReads(draft.uid),
      draft.uid,
      draft.name,
      draft.picture,
      draft.msg,
      type,
      time,
      this.limits.rateLimitCount,
      this.limits.rateLimitWindowMs,
      this.limits.historyKeep,
      draft.room_id,
      ...this.adapterTarget(draft.room_id),
      cid,
      this.limits.clientIdKeepMs,
    )) as [0, 'not a member' | 'rate limited'] | [1, string, number] | [2, string];
    if (reply[0] === 0) return { ok: false, error: reply[1] };
    if (reply[0] === 2) {
      const [id = '', storedTime = ''] = reply[1].split(' ');
      return { ok: true, id, time: storedTime, message: null, published: false };
    }
    const { room_id, uid, name, picture, msg } = draft;
    const message: Message = { id: reply[1], room_id, uid, name, picture, msg, time, type };
    if (cid) message.client_id = cid;
    return { ok: true, id: message.id, time, message, published: reply[2] === 1 };
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

  /**
   * Where the posting script publishes a room's message: the channel, namespace and Socket.IO
   * room exactly as @socket.io/redis-adapter names them (`${key}#${nsp}#${room}#`), built from the
   * same constants the socket server uses; empty without an adapter.
   */
  private adapterTarget(roomId: string): [channel: string, nsp: string, room: string] {
    if (this.adapterKey === null) return ['', '', ''];
    const room = roomChannel(roomId);
    return [`${this.adapterKey}#${CHAT_NAMESPACE}#${room}#`, CHAT_NAMESPACE, room];
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
