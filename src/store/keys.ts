/**
 * Every Redis key of the store, built here and nowhere else, under one configurable prefix
 * (REDIS_PREFIX, default `chat:`), so several deployments or test runs can share one Redis.
 * Keys of one room share a `{room id}` hash tag, so a room's keys stay in one Redis Cluster slot.
 */
export interface Keys {
  /** Hash uid → JSON profile. */
  users(): string;
  /** Sorted set of `<name key>\0<uid>` (all scores 0): users by name prefix (ZRANGEBYLEX). */
  userIndex(): string;
  /** Hash name key (normalised, case-folded) → uid: AUTH=password's one account per name. */
  accountNames(): string;
  /** Hash uid → argon2id hash of the account's password (never part of a profile). */
  passwords(): string;
  /** Hash room id → room name: the rooms of one user (the original's layout). */
  userRooms(uid: string): string;
  /** Hash room id → message id: the user's read mark in each room. */
  userReads(uid: string): string;
  /** String: the Random_<n> room the user is in, if any. */
  userRandom(uid: string): string;
  /** Counter: the next n of the creator's `<uid>_<n>` rooms. */
  userRoomCounter(uid: string): string;
  /** Sorted set uid → rate-limit log of the user's recent `text` timestamps. */
  rateLimit(uid: string): string;
  /** Sorted set socket id → lease end (ms): the user's open sockets on every node (socket cap). */
  userSockets(uid: string): string;
  /** Hash {t: tokens, ts: ms}: the user's event budget (token bucket, chat/event-budget.ts). */
  userBudget(uid: string): string;
  /** Set of member uids of one room. */
  roomMembers(roomId: string): string;
  /** Stream of the room's messages, capped (XADD MAXLEN ~). */
  roomMessages(roomId: string): string;
  /**
   * String `<id> <time>` of the message the user sent to the room with this client id, kept
   * LIMITS.clientIdKeepMs: a resend answers it instead of storing again. In the room's slot, so
   * the posting script checks and sets it atomically with the append.
   */
  clientId(roomId: string, uid: string, clientId: string): string;
  /** String set for LIMITS.typingIntervalMs after the user's typing notice in the room was relayed. */
  typing(roomId: string, uid: string): string;
  /** Sorted set room id → n of the open random rooms, for lowest-number-first. */
  randomRooms(): string;
  /** Counter: the n of the next new Random_<n>. */
  randomCounter(): string;
  /** Sorted set uid → until when the user counts as online (chat/socket-limit.ts). */
  presence(): string;
  /** Prefix of one limit's counters (limiter.ts; the library appends `:<key>`). */
  limit(name: 'signin' | 'password-failures' | 'rooms'): string;
}

export function createKeys(prefix: string): Keys {
  return {
    users: () => `${prefix}users`,
    userIndex: () => `${prefix}users:by-name`,
    accountNames: () => `${prefix}account:names`,
    passwords: () => `${prefix}account:passwords`,
    userRooms: (uid) => `${prefix}user:${uid}:rooms`,
    userReads: (uid) => `${prefix}user:${uid}:reads`,
    userRandom: (uid) => `${prefix}user:${uid}:random`,
    userRoomCounter: (uid) => `${prefix}user:${uid}:room_counter`,
    rateLimit: (uid) => `${prefix}user:${uid}:rate`,
    userSockets: (uid) => `${prefix}user:${uid}:sockets`,
    userBudget: (uid) => `${prefix}user:${uid}:budget`,
    roomMembers: (roomId) => `${prefix}room:{${roomId}}:members`,
    roomMessages: (roomId) => `${prefix}room:{${roomId}}:messages`,
    // uid before the client id: a uid may hold ':' but a client id cannot (A-Z a-z 0-9 _ -).
    clientId: (roomId, uid, clientId) => `${prefix}room:{${roomId}}:cid:${uid}:${clientId}`,
    typing: (roomId, uid) => `${prefix}room:{${roomId}}:typing:${uid}`,
    randomRooms: () => `${prefix}random:rooms`,
    randomCounter: () => `${prefix}random:counter`,
    presence: () => `${prefix}presence`,
    limit: (name) => `${prefix}limit:${name}`,
  };
}
