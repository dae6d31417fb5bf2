/**
 * The contract's numeric defaults (../shared/CONTRACT.md). Shared by the server, the browser and
 * the tests; operators can override the ones marked "setting" through configuration.
 */
export const LIMITS = {
  /** Longest message, in characters after trimming. */
  msgMaxChars: 2000,
  /** Longest display name, in characters after trimming. */
  nameMaxChars: 40,
  /** AUTH=password: password length, in characters. */
  passwordMinChars: 8,
  passwordMaxChars: 200,
  /** Longest room name, in characters after trimming. */
  roomNameMaxChars: 40,
  /** Longest course string on a profile. */
  courseMaxChars: 80,
  /** Members of a random room at most. */
  randomRoomSize: 10,
  /** `history` page size when none is asked for. */
  historyDefault: 50,
  /** `history` page size at most; a larger `limit` counts as this. */
  historyMax: 100,
  /** Messages rendered per room by `GET /chat`. */
  pageMessages: 50,
  /** Messages each room keeps at least (setting). */
  historyKeep: 1000,
  /** `text` events one user may send per window, across sockets and nodes (setting). */
  rateLimitCount: 20,
  /** The rate limit's window in milliseconds (setting). */
  rateLimitWindowMs: 10_000,
  /** Sign-ins, sign-ups and /sessionLogin per client address per minute (setting). */
  signInsPerMinute: 30,
  /** AUTH=password: failures per name within passwordLockMs, then 429 until it passes (settings). */
  passwordFailures: 5,
  passwordLockMs: 15 * 60_000,
  /** create_chat and direct together, per user per minute (setting). */
  roomsPerMinute: 10,
  /** Rooms one user can be in at most (setting). */
  maxRoomsPerUser: 1000,
  /** Events per user per second across sockets and nodes, and the burst allowed (settings). */
  eventsPerSecond: 50,
  eventBurst: 100,
  /** `typing` relayed at most this often per user and room. */
  typingIntervalMs: 2000,
  /** `get_users?q=`: users answered by default and at most. */
  usersDefault: 50,
  usersMax: 200,
  /** Users a group can be created with in one request. */
  createChatMaxUsers: 200,
  /** Rooms one `catch_up` request may name. */
  catchUpMaxRooms: 100,
  /** Messages per room one `catch_up` answer gives at most (then `more`, and `history {after}`). */
  catchUpPerRoom: 100,
  /** How long a `client_id` is remembered for deduplication (the contract: at least 24 hours). */
  clientIdKeepMs: 24 * 3600 * 1000,
} as const;

/** Direct conversations' room ids: this prefix and a hash of both uids (src/store/direct.ts). */
export const DIRECT_PREFIX = 'Direct_';

/** Refusals exactly as the contract words them. */
export const ERRORS = {
  invalidPayload: 'invalid payload',
  notMember: 'not a member',
  invalidMessage: 'invalid message',
  rateLimited: 'rate limited',
  unauthorized: 'unauthorized',
  /** Anything unexpected: logged on the server, answered generically. */
  internal: 'internal error',
  /** The store did not answer in time (e.g. Redis down). */
  unavailable: 'service unavailable',
} as const;

export type ErrorReason = (typeof ERRORS)[keyof typeof ERRORS];
