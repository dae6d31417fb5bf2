/**
 * The store: users, rooms, membership, history, random rooms and the shared rate limit.
 * Two implementations — in-process (memory-store.ts) and Redis (redis-store.ts) — chosen once at
 * start-up (index.ts); one behavioural suite (test/store.test.ts) runs against both.
 *
 * Every method that changes more than one thing keeps the contract's rules under concurrency:
 * atomically in process; on Redis as ordered single-slot steps, or one script where only one Redis
 * runs it (redis-store.ts says how).
 */
import type { Message, RoomRef, RoomView, RoomWithMessages, UserProfile } from '../shared/types.js';

export interface HistoryRange {
  /** Strictly before this id (newest first, returned oldest first). */
  before?: string;
  /** Strictly after this id (oldest first). */
  after?: string;
  /** Already clamped by the caller to 1..LIMITS.historyMax. */
  limit: number;
}

export interface StoreLimits {
  randomRoomSize: number;
  historyKeep: number;
  rateLimitCount: number;
  rateLimitWindowMs: number;
  /** How long a `client_id` is remembered (LIMITS.clientIdKeepMs; tests may shorten it). */
  clientIdKeepMs: number;
  /** Rooms one user can be in at most: a group that would pass it for anyone is not made. */
  maxRoomsPerUser: number;
}

/** createGroup refused: these members are in maxRoomsPerUser rooms already. Nothing changed. */
export class RoomCapReached extends Error {
  constructor(readonly uids: string[]) {
    super(`in too many rooms: ${uids.join(', ')}`);
    this.name = 'RoomCapReached';
  }
}

export type PostResult =
  | {
      ok: true;
      id: string;
      time: string;
      /**
       * The message as stored now; null when its `client_id` was stored already (a resend:
       * nothing was stored, counted or published again, and there is nothing to deliver).
       */
      message: Message | null;
    }
  /** `overBudget`: refused for the user's event budget (PostOptions.budget), before anything else. */
  | { ok: false; error: 'not a member' | 'rate limited'; overBudget?: true };

/**
 * `budget`: the user's event budget (CONTRACT: every event counts) is taken in the post's own
 * first step, with the rate limit (one Redis round trip fewer per message), by a store that can
 * (`ChatStore.takesTextBudget`); the socket layer then takes none for `text` itself.
 */
export interface PostOptions {
  budget?: { perSecond: number; burst: number };
}

/** A read mark as it stands after `markRead`, and whether this call moved it. */
export interface ReadMark {
  last_read: string | null;
  moved: boolean;
}

/** What postMessage stores: the server sets id and time (and type `user` unless told). */
export type MessageDraft = Omit<Message, 'id' | 'time' | 'type'> & { type?: Message['type'] };

export interface DirectResult {
  room_id: string;
  /** The room was made now (its opening message is `opening`). */
  created: boolean;
  /** Who was added now (both when made; one who had left it; nobody when both were in). */
  added: string[];
  opening?: Message;
}

export interface JoinRandomResult {
  room: RoomRef;
  /** False when the user was already in a random room and got it back. */
  joined: boolean;
  /** Set when the room was newly made: its opening server message. */
  opening?: Message;
}

export interface ChatStore {
  /** 'memory' or 'redis': said in the start-up log line. */
  readonly kind: 'memory' | 'redis';

  /** Creates or updates a profile (sign-in). */
  saveUser(user: UserProfile): Promise<void>;
  getUser(uid: string): Promise<UserProfile | null>;
  /** Many profiles in one round trip, in the order asked (null for an unknown uid). */
  getUsers(uids: readonly string[]): Promise<(UserProfile | null)[]>;
  /** Every known user. */
  listUsers(): Promise<UserProfile[]>;
  /**
   * Users whose name starts with `prefix` (compared as names are: nameKey of src/shared/names.ts),
   * at most `limit`, in name order (so an exact match comes first). Reads an index, never every user.
   */
  searchUsers(prefix: string, limit: number): Promise<UserProfile[]>;
  /** Adds users saved before the name index existed to it (once, at start-up). */
  indexUsers(): Promise<number>;

  /**
   * AUTH=password: saves a new account (profile and password hash) unless another account holds
   * the same name key (CONTRACT "Names": equal after normalisation and case folding); false then,
   * and nothing changes. Atomic, so two sign-ups of one name cannot both succeed.
   */
  createAccount(user: UserProfile, nameKey: string, passwordHash: string): Promise<boolean>;
  /** AUTH=password: the account of a name key and its password hash, for verification only. */
  findAccount(nameKey: string): Promise<{ uid: string; passwordHash: string } | null>;

  /** The user's rooms (room id to room name), in a stable order. */
  userRooms(uid: string): Promise<RoomRef[]>;
  isMember(uid: string, roomId: string): Promise<boolean>;
  /** Member uids of a room. */
  roomMembers(roomId: string): Promise<string[]>;
  /**
   * Every room of the user summarised (last message, read mark, unread), newest activity first
   * (CONTRACT `joined`), the first with its newest `perFirst` messages and the others with
   * `perOther` (oldest first): one round trip, whatever the number of rooms.
   */
  roomSummaries(uid: string, perFirst: number, perOther: number): Promise<RoomView[]>;
  /**
   * Moves the user's read mark in the room forward to `id` (never back, never past the newest
   * message): the mark as it now stands (null in an empty room), or null when not a member.
   */
  markRead(uid: string, roomId: string, id: string): Promise<ReadMark | null>;

  /**
   * Creates `<creator uid>_<n>` (n counting up per creator from 0) holding the creator and the
   * members, opened by a server message "Chat started by <name>". Unknown uids must have been
   * refused by the caller. Throws RoomCapReached (and changes nothing) when a member, the
   * creator included, is in maxRoomsPerUser rooms already; checked in the same atomic step.
   */
  createGroup(creator: UserProfile, roomName: string, memberUids: string[]): Promise<RoomWithMessages>;

  /**
   * The direct conversation of `a` and `b` (DIRECT_PREFIX + a hash of both uids, the same from
   * either side): made on first use with an opening message, either member who left it added
   * back. Each side's room name is the other's name. Throws RoomCapReached when a user who
   * would be added is in maxRoomsPerUser rooms already.
   */
  directRoom(a: UserProfile, b: UserProfile): Promise<DirectResult>;

  /** Joins the lowest-numbered `Random_<n>` with space, or a new one; at most randomRoomSize. */
  joinRandom(user: Pick<UserProfile, 'uid' | 'name'>): Promise<JoinRandomResult>;

  /** Removes the user from the room; the room and its history go with its last member. */
  leaveRoom(uid: string, roomId: string): Promise<{ left: boolean; deleted: boolean }>;

  /**
   * Atomically: answers the stored message when the draft's `client_id` was stored already (for
   * the same user and room, within clientIdKeepMs), else checks membership, applies the per-user
   * rate limit (a refused post does not count), stores the message with a server id and time,
   * remembers its `client_id` and moves the sender's read mark to it. The store delivers what it
   * stored to the room's sockets on every node itself (fanout.ts), in storage order; a resend
   * (message null) is delivered no more.
   */
  postMessage(draft: MessageDraft, options?: PostOptions): Promise<PostResult>;
  /** Whether postMessage takes PostOptions.budget (the Redis store: the budget lives in Redis). */
  readonly takesTextBudget?: boolean;

  /** The message stored for this client id (user and room), if it is remembered still. */
  findClientId(roomId: string, uid: string, clientId: string): Promise<{ id: string; time: string } | null>;

  /** Which of these rooms the user is a member of: one round trip. */
  memberOf(uid: string, roomIds: readonly string[]): Promise<Set<string>>;

  history(roomId: string, range: HistoryRange): Promise<Message[]>;

  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
