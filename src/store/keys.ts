/**
 * Every Redis key of the store, built here and nowhere else, under one configurable prefix
 * (REDIS_PREFIX, default `chat:`), so several deployments or test runs can share one Redis.
 *
 * Hash tags decide the Redis Cluster slot, and every multi-key change stays in one slot:
 * - a room's keys (and its Socket.IO room, see fanout.ts) share the tag `{<room id>}`;
 * - a user's keys share `{<uid>}`;
 * - the profiles, the name index and the accounts share `{users}` (an account is made atomically);
 * - the random-room index, its counter and its seat counts share `{random}`;
 * - the node registry and its claims share `{nodes}`.
 * The presence set and the limiter counters are single keys. The prefix itself carries no
 * braces in cluster mode (config.ts refuses it), or it would become every key's tag.
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
  /**
   * Hash room id → `n` of the message the read mark stands on (the room's count of `user`
   * messages up to it, scripts.ts): unread is then a subtraction. Written with the mark.
   */
  userReadCounts(uid: string): string;
  /** String: the Random_<n> room the user is in, if any (or `pending:<token>` while joining one). */
  userRandom(uid: string): string;
  /** Counter: the next n of the creator's `<uid>_<n>` rooms. */
  userRoomCounter(uid: string): string;
  /** Sorted set uid → rate-limit log of the user's recent `text` timestamps. */
  rateLimit(uid: string): string;
  /** Hash socket id → node id: the user's open sockets on every node (socket cap, chat/socket-limit.ts). */
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
  /** Sorted set room id → n of the open random rooms (with a free seat), for lowest-number-first. */
  randomRooms(): string;
  /** Counter: the n of the next new Random_<n>. */
  randomCounter(): string;
  /** Hash room id → seats taken, for every random room that exists: the rooms' capacity. */
  randomSeats(): string;
  /** Sorted set uid → until when the user counts as online (chat/socket-limit.ts). */
  presence(): string;
  /** Sorted set node id → lease end (ms): the nodes holding sockets (chat/socket-limit.ts). */
  nodes(): string;
  /** Sorted set node id → claim end: dead nodes whose sockets one node is giving back. With nodes(). */
  nodeClaims(): string;
  /** Set of the uids one node holds sockets of. */
  nodeUsers(node: string): string;
  /** Prefix of one limit's counters (limiter.ts; the library appends `:<key>`). */
  limit(name: 'signin' | 'password-failures' | 'rooms'): string;
  /** String: the key layout's version (migrate.ts). */
  layout(): string;
}

/**
 * `{id}`: the hash tag of one room or user. An id holding a brace (never one the server makes,
 * but a client may name any room) would end the tag early or empty it; such an id gets a
 * brace-free tag followed by the id itself, so its keys stay in one slot and apart from others.
 */
export function tagged(id: string): string {
  return /[{}]/.test(id) ? `{${id.replace(/[{}]/g, '_')}}~${id}` : `{${id}}`;
}

export function createKeys(prefix: string): Keys {
  const user = (uid: string, what: string): string => `${prefix}user:${tagged(uid)}:${what}`;
  const room = (roomId: string, what: string): string => `${prefix}room:${tagged(roomId)}:${what}`;
  return {
    users: () => `${prefix}{users}:profiles`,
    userIndex: () => `${prefix}{users}:by-name`,
    accountNames: () => `${prefix}{users}:account-names`,
    passwords: () => `${prefix}{users}:passwords`,
    userRooms: (uid) => user(uid, 'rooms'),
    userReads: (uid) => user(uid, 'reads'),
    userReadCounts: (uid) => user(uid, 'read-n'),
    userRandom: (uid) => user(uid, 'random'),
    userRoomCounter: (uid) => user(uid, 'room_counter'),
    rateLimit: (uid) => user(uid, 'rate'),
    // 'conns', not the 'sockets' sorted set of per-socket leases it replaced: another type.
    userSockets: (uid) => user(uid, 'conns'),
    userBudget: (uid) => user(uid, 'budget'),
    roomMembers: (roomId) => room(roomId, 'members'),
    roomMessages: (roomId) => room(roomId, 'messages'),
    // uid before the client id: a uid may hold ':' but a client id cannot (A-Z a-z 0-9 _ -).
    clientId: (roomId, uid, clientId) => room(roomId, `cid:${uid}:${clientId}`),
    typing: (roomId, uid) => room(roomId, `typing:${uid}`),
    randomRooms: () => `${prefix}{random}:rooms`,
    randomCounter: () => `${prefix}{random}:counter`,
    randomSeats: () => `${prefix}{random}:seats`,
    presence: () => `${prefix}presence`,
    nodes: () => `${prefix}{nodes}:live`,
    nodeClaims: () => `${prefix}{nodes}:claims`,
    nodeUsers: (node) => `${prefix}node:${tagged(node)}:users`,
    limit: (name) => `${prefix}limit:${name}`,
    layout: () => `${prefix}layout`,
  };
}

/**
 * The key layout before hash tags (version 1), for the one-off migration (migrate.ts) only:
 * what today's keys were called by the code that wrote them.
 */
export const LEGACY_LAYOUT = {
  users: (p: string) => `${p}users`,
  userIndex: (p: string) => `${p}users:by-name`,
  accountNames: (p: string) => `${p}account:names`,
  passwords: (p: string) => `${p}account:passwords`,
  userKey: (p: string, uid: string, what: string) => `${p}user:${uid}:${what}`,
  userKeyPattern: (p: string) => `${p}user:*`,
  randomRooms: (p: string) => `${p}random:rooms`,
  randomCounter: (p: string) => `${p}random:counter`,
} as const;
