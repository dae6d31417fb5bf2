/**
 * The in-process store (REDIS_URL unset): one node, nothing kept across restarts. It mirrors the
 * Redis store's semantics exactly — stream-style `<ms>-<seq>` ids, the sliding-window rate limit,
 * approximate trimming that keeps at least historyKeep, lowest-number-first random rooms — and
 * the same behavioural suite runs against both. Each method runs without awaiting in between, so
 * it is atomic in one process.
 */
import { nameKey } from '../shared/names.js';
import { RANDOM_ROOM } from '../shared/room-label.js';
import type { Message, RoomRef, RoomView, RoomWithMessages, UserProfile } from '../shared/types.js';
import { byRoomId, compareIds, formatId, parseId, type ParsedId } from './ids.js';
import { directRoomId } from './direct.js';
import type { LocalFanout } from './fanout.js';
import {
  RoomCapReached,
  type ChatStore,
  type DirectResult,
  type HistoryRange,
  type JoinRandomResult,
  type MessageDraft,
  type PostResult,
  type ReadMark,
  type StoreLimits,
} from './types.js';

interface Room {
  name: string;
  members: Set<string>;
  messages: Message[];
  parsedIds: ParsedId[];
  lastMs: number;
  lastSeq: number;
}

/** Entries read after a read mark to count unread, as the Redis store does. */
const UNREAD_CAP = 100;

/** Like a Redis stream node (stream-node-max-entries 100): trimming drops whole blocks. */
const TRIM_BLOCK = 100;

const copy = <T>(value: T): T => structuredClone(value);

export class MemoryStore implements ChatStore {
  readonly kind = 'memory' as const;
  private readonly users = new Map<string, UserProfile>();
  private readonly accounts = new Map<string, { uid: string; passwordHash: string }>();
  private readonly userRoomMap = new Map<string, Map<string, string>>();
  private readonly userRandom = new Map<string, string>();
  private readonly roomCounters = new Map<string, number>();
  private readonly rateLog = new Map<string, number[]>();
  private readonly rooms = new Map<string, Room>();
  /** Open random rooms (with space): room id → n. */
  private readonly openRandom = new Map<string, number>();
  private randomCounter = 0;
  /** uid → room id → read mark (message id). */
  private readonly reads = new Map<string, Map<string, string>>();
  /** `room \0 uid \0 client id` → the stored message's id and time, and when to forget it. */
  private readonly clientIds = new Map<string, { id: string; time: string; until: number }>();

  /** `fanout`: where stored messages go to be delivered (the socket server attaches to it). */
  constructor(
    private readonly limits: StoreLimits,
    private readonly fanout?: LocalFanout,
  ) {}

  async saveUser(user: UserProfile): Promise<void> {
    this.users.set(user.uid, copy(user));
  }

  async getUser(uid: string): Promise<UserProfile | null> {
    const user = this.users.get(uid);
    return user ? copy(user) : null;
  }

  async getUsers(uids: readonly string[]): Promise<(UserProfile | null)[]> {
    return uids.map((uid) => {
      const user = this.users.get(uid);
      return user ? copy(user) : null;
    });
  }

  async listUsers(): Promise<UserProfile[]> {
    return [...this.users.values()].map(copy).sort((a, b) => (a.uid < b.uid ? -1 : 1));
  }

  async searchUsers(prefix: string, limit: number): Promise<UserProfile[]> {
    // The in-process store is one node's: a scan in name order is fine at its size.
    return [...this.users.values()]
      .map((u) => ({ u, key: `${nameKey(u.name)}\u0000${u.uid}` }))
      .filter((e) => e.key.startsWith(prefix))
      .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
      .slice(0, limit)
      .map((e) => copy(e.u));
  }

  async indexUsers(): Promise<number> {
    return 0;
  }

  async createAccount(user: UserProfile, nameKey: string, passwordHash: string): Promise<boolean> {
    if (this.accounts.has(nameKey)) return false;
    this.accounts.set(nameKey, { uid: user.uid, passwordHash });
    this.users.set(user.uid, copy(user));
    return true;
  }

  async findAccount(nameKey: string): Promise<{ uid: string; passwordHash: string } | null> {
    const account = this.accounts.get(nameKey);
    return account ? { ...account } : null;
  }

  async userRooms(uid: string): Promise<RoomRef[]> {
    return this.roomRefs(uid);
  }

  async isMember(uid: string, roomId: string): Promise<boolean> {
    return this.rooms.get(roomId)?.members.has(uid) ?? false;
  }

  async roomMembers(roomId: string): Promise<string[]> {
    return [...(this.rooms.get(roomId)?.members ?? [])].sort();
  }

  async roomSummaries(uid: string, perFirst: number, perOther: number): Promise<RoomView[]> {
    const marks = this.reads.get(uid);
    const rooms = this.roomRefs(uid).map((ref) => {
      const room = this.rooms.get(ref.room_id);
      const messages = room?.messages ?? [];
      const mark = marks?.get(ref.room_id) ?? null;
      const from = mark === null ? 0 : firstIndex(room?.parsedIds ?? [], (id) => compareIds(id, parseId(mark)) > 0);
      let unread = 0;
      for (const m of messages.slice(from, from + UNREAD_CAP)) if (m.type === 'user' && m.uid !== uid) unread += 1;
      const last = messages.at(-1) ?? null;
      return {
        ...ref,
        last_message: last && copy(last),
        last_read: mark,
        unread,
        at: last ? Number(parseId(last.id).ms) : 0,
        messages,
      };
    });
    // Newest activity first, ties by room id (as the Redis store's script sorts).
    rooms.sort((a, b) => b.at - a.at || byRoomId(a, b));
    return rooms.map(({ at: _at, messages, ...summary }, i) => {
      const per = Math.max(0, Math.floor(i === 0 ? perFirst : perOther));
      return { ...summary, messages: per === 0 ? [] : messages.slice(-per).map(copy) };
    });
  }

  async markRead(uid: string, roomId: string, id: string): Promise<ReadMark | null> {
    const room = this.rooms.get(roomId);
    if (!room?.members.has(uid)) return null;
    const marks = this.reads.get(uid) ?? new Map<string, string>();
    this.reads.set(uid, marks);
    const newest = room.parsedIds.at(-1);
    const current = marks.get(roomId);
    if (!newest) return { last_read: current ?? null, moved: false };
    let wanted = parseId(id);
    if (compareIds(wanted, newest) > 0) wanted = newest;
    if (current !== undefined && compareIds(wanted, parseId(current)) <= 0) return { last_read: current, moved: false };
    marks.set(roomId, formatId(wanted));
    return { last_read: formatId(wanted), moved: true };
  }

  async createGroup(creator: UserProfile, roomName: string, memberUids: string[]): Promise<RoomWithMessages> {
    const everyone = [...new Set([creator.uid, ...memberUids])];
    const full = everyone.filter((uid) => (this.userRoomMap.get(uid)?.size ?? 0) >= this.limits.maxRoomsPerUser);
    if (full.length > 0) throw new RoomCapReached(full);
    const n = this.roomCounters.get(creator.uid) ?? 0;
    this.roomCounters.set(creator.uid, n + 1);
    const roomId = `${creator.uid}_${n}`;
    const room = this.newRoom(roomId, roomName);
    for (const uid of [creator.uid, ...memberUids]) this.addMember(room, roomId, uid);
    const opening = this.append(roomId, room, serverDraft(roomId, `Chat started by ${creator.name}`));
    return { room_id: roomId, room_name: roomName, messages: [copy(opening)] };
  }

  async directRoom(a: UserProfile, b: UserProfile): Promise<DirectResult> {
    const roomId = directRoomId(a.uid, b.uid);
    const existing = this.rooms.get(roomId);
    const need = [a, b].filter((u) => !existing?.members.has(u.uid));
    const full = need.filter((u) => (this.userRoomMap.get(u.uid)?.size ?? 0) >= this.limits.maxRoomsPerUser);
    if (full.length > 0) throw new RoomCapReached(full.map((u) => u.uid));
    const room = existing ?? this.newRoom(roomId, '');
    const result: DirectResult = { room_id: roomId, created: !existing, added: need.map((u) => u.uid) };
    if (!existing) result.opening = copy(this.append(roomId, room, serverDraft(roomId, `Chat started by ${a.name}`)));
    // Each side's name for the room is the other user's.
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      room.members.add(me.uid);
      let mine = this.userRoomMap.get(me.uid);
      if (!mine) this.userRoomMap.set(me.uid, (mine = new Map()));
      mine.set(roomId, other.name);
    }
    return result;
  }

  async joinRandom(user: Pick<UserProfile, 'uid' | 'name'>): Promise<JoinRandomResult> {
    const current = this.userRandom.get(user.uid);
    const currentRoom = current === undefined ? undefined : this.rooms.get(current);
    if (current !== undefined && currentRoom?.members.has(user.uid)) {
      return { room: { room_id: current, room_name: currentRoom.name }, joined: false };
    }
    let roomId: string;
    let n: number;
    let opening: Message | undefined;
    const lowest = [...this.openRandom.entries()].sort((a, b) => a[1] - b[1])[0];
    if (lowest) {
      [roomId, n] = lowest;
    } else {
      n = this.randomCounter++;
      roomId = `Random_${n}`;
      const created = this.newRoom(roomId, roomId);
      opening = copy(this.append(roomId, created, serverDraft(roomId, `Chat started by ${user.name}`)));
    }
    const room = this.rooms.get(roomId) as Room;
    this.addMember(room, roomId, user.uid);
    this.userRandom.set(user.uid, roomId);
    if (room.members.size >= this.limits.randomRoomSize) this.openRandom.delete(roomId);
    else this.openRandom.set(roomId, n);
    const result: JoinRandomResult = { room: { room_id: roomId, room_name: room.name }, joined: true };
    if (opening) result.opening = opening;
    return result;
  }

  async leaveRoom(uid: string, roomId: string): Promise<{ left: boolean; deleted: boolean }> {
    const room = this.rooms.get(roomId);
    if (!room?.members.delete(uid)) return { left: false, deleted: false };
    this.userRoomMap.get(uid)?.delete(roomId);
    this.reads.get(uid)?.delete(roomId);
    if (this.userRandom.get(uid) === roomId) this.userRandom.delete(uid);
    if (room.members.size === 0) {
      this.rooms.delete(roomId);
      this.openRandom.delete(roomId);
      return { left: true, deleted: true };
    }
    const random = RANDOM_ROOM.exec(roomId);
    if (random && room.members.size < this.limits.randomRoomSize) this.openRandom.set(roomId, Number(random[1]));
    return { left: true, deleted: false };
  }

  async postMessage(draft: MessageDraft): Promise<PostResult> {
    const now = Date.now();
    this.forgetClientIds(now);
    const cidKey = draft.client_id === undefined ? null : `${draft.room_id}\0${draft.uid}\0${draft.client_id}`;
    const prev = cidKey === null ? undefined : this.clientIds.get(cidKey);
    if (prev) return { ok: true, id: prev.id, time: prev.time, message: null };
    const room = this.rooms.get(draft.room_id);
    if (!room?.members.has(draft.uid)) return { ok: false, error: 'not a member' };
    const window = this.limits.rateLimitWindowMs;
    // Sliding window: a post counts while it is younger than the window; refused posts never count.
    const log = (this.rateLog.get(draft.uid) ?? []).filter((t) => t > now - window);
    this.rateLog.set(draft.uid, log);
    if (log.length >= this.limits.rateLimitCount) return { ok: false, error: 'rate limited' };
    log.push(now);
    const { room_id, uid, name, picture, msg, client_id } = draft;
    const message = this.append(room_id, room, {
      room_id,
      uid,
      name,
      picture,
      msg,
      type: draft.type ?? 'user',
      ...(client_id === undefined ? {} : { client_id }),
    });
    if (cidKey !== null) {
      this.clientIds.set(cidKey, { id: message.id, time: message.time, until: now + this.limits.clientIdKeepMs });
    }
    // The sender has read their own message.
    const marks = this.reads.get(uid) ?? new Map<string, string>();
    this.reads.set(uid, marks.set(room_id, message.id));
    this.fanout?.deliver(copy(message));
    return { ok: true, id: message.id, time: message.time, message: copy(message) };
  }

  async findClientId(roomId: string, uid: string, clientId: string): Promise<{ id: string; time: string } | null> {
    this.forgetClientIds(Date.now());
    const entry = this.clientIds.get(`${roomId}\0${uid}\0${clientId}`);
    return entry ? { id: entry.id, time: entry.time } : null;
  }

  async memberOf(uid: string, roomIds: readonly string[]): Promise<Set<string>> {
    const mine = this.userRoomMap.get(uid);
    return new Set(roomIds.filter((id) => mine?.has(id)));
  }

  /** Client ids are remembered in insertion order with one lifetime, so the oldest go first. */
  private forgetClientIds(now: number): void {
    for (const [key, entry] of this.clientIds) {
      if (entry.until > now) return;
      this.clientIds.delete(key);
    }
  }

  async history(roomId: string, range: HistoryRange): Promise<Message[]> {
    const room = this.rooms.get(roomId);
    if (!room) return [];
    const limit = Math.max(1, Math.floor(range.limit));
    const ids = room.parsedIds;
    const before = range.before === undefined ? null : parseId(range.before);
    const after = range.after === undefined ? null : parseId(range.after);
    // [lo, hi): the indexes strictly between `after` and `before`.
    const lo = after ? firstIndex(ids, (id) => compareIds(id, after) > 0) : 0;
    const hi = before ? firstIndex(ids, (id) => compareIds(id, before) >= 0) : ids.length;
    if (hi <= lo) return [];
    const slice =
      after && !before ? room.messages.slice(lo, lo + limit) : room.messages.slice(Math.max(lo, hi - limit), hi);
    return slice.map(copy);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private roomRefs(uid: string): RoomRef[] {
    const rooms = this.userRoomMap.get(uid) ?? new Map<string, string>();
    return [...rooms].map(([room_id, room_name]) => ({ room_id, room_name })).sort(byRoomId);
  }

  private newRoom(roomId: string, name: string): Room {
    const room: Room = { name, members: new Set(), messages: [], parsedIds: [], lastMs: 0, lastSeq: -1 };
    this.rooms.set(roomId, room);
    return room;
  }

  private addMember(room: Room, roomId: string, uid: string): void {
    room.members.add(uid);
    let mine = this.userRoomMap.get(uid);
    if (!mine) this.userRoomMap.set(uid, (mine = new Map()));
    mine.set(roomId, room.name);
  }

  /** Stores a message with the next stream-style id and trims like `XADD MAXLEN ~`. */
  private append(roomId: string, room: Room, draft: Omit<Message, 'id' | 'time'>): Message {
    const now = Date.now();
    if (now > room.lastMs) {
      room.lastMs = now;
      room.lastSeq = 0;
    } else {
      room.lastSeq += 1;
    }
    const id = `${room.lastMs}-${room.lastSeq}`;
    const message: Message = { ...draft, id, room_id: roomId, time: new Date(now).toISOString() };
    room.messages.push(message);
    room.parsedIds.push(parseId(id));
    const excess = room.messages.length - this.limits.historyKeep;
    if (excess >= TRIM_BLOCK) {
      const drop = excess - (excess % TRIM_BLOCK);
      room.messages.splice(0, drop);
      room.parsedIds.splice(0, drop);
    }
    return message;
  }
}

function serverDraft(roomId: string, msg: string): Omit<Message, 'id' | 'time'> {
  return { room_id: roomId, uid: '', name: '', picture: '', msg, type: 'server' };
}

/** Binary search: the first index whose id satisfies `pred` (monotonic), or the length. */
function firstIndex(ids: ParsedId[], pred: (id: ParsedId) => boolean): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(ids[mid] as ParsedId)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
