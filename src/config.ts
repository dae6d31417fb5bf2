/**
 * Configuration, read and validated once at start-up into a frozen object. Every problem is
 * listed by variable name; `loadConfig` throws a ConfigError and main.ts exits 1 with it.
 */
import { LIMITS } from './shared/limits.js';

export type AuthMode = 'dev' | 'password' | 'firebase';

export interface FirebaseWebConfig {
  apiKey: string;
  authDomain: string;
  projectId: string;
  appId?: string;
}

/** One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES: its seed nodes). */
export type RedisTarget = { url: string } | { clusterNodes: { host: string; port: number }[] };

export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  /** A standalone Redis (REDIS_URL); null with REDIS_CLUSTER_NODES or the in-process store. */
  redisUrl: string | null;
  /** Where the store lives: one Redis, a Redis Cluster's seed nodes, or null (in process). */
  redis: RedisTarget | null;
  /** Prefix of every Redis key and of the Socket.IO adapter's channels. */
  redisPrefix: string;
  sessionSecret: string;
  sessionMaxAgeMs: number;
  auth: AuthMode;
  firebase: {
    projectId: string;
    emulatorHost: string | null;
    /** Only these reach the browser. */
    web: FirebaseWebConfig;
    googleSignIn: boolean;
  } | null;
  /** Who may POST /chat/create_chat. */
  createChatRole: 'any' | 'mentor';
  rateLimitCount: number;
  rateLimitWindowMs: number;
  /** Sign-ins, sign-ups and /sessionLogin per client address per minute. */
  signInsPerMinute: number;
  /** AUTH=password: failed sign-ins per name within passwordLockMs before the name is locked. */
  passwordFailures: number;
  passwordLockMs: number;
  /** create_chat and direct together, per user per minute. */
  roomsPerMinute: number;
  /** Rooms one user can be in at most. */
  maxRoomsPerUser: number;
  /** Every event counts toward this budget per user (token bucket: per second, burst). */
  eventsPerSecond: number;
  eventBurst: number;
  historyKeep: number;
  randomRoomSize: number;
  /** A store call that takes longer is answered `service unavailable` (Redis down). */
  storeTimeoutMs: number;
  maxSocketsPerUser: number;
  /** Socket.IO maxHttpBufferSize: the largest accepted packet, in bytes. */
  maxPayloadBytes: number;
  /** A client must send a request's headers within this time, and the whole request within the next (slowloris). */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** Express `trust proxy` (App Engine's load balancer sets X-Forwarded-*). */
  trustProxy: boolean | number | string;
  logLevel: string;
  /** Human-readable logs (pino-pretty) instead of JSON lines: development on a terminal, or LOG_PRETTY. */
  logPretty: boolean;
  /** `Authorization: Bearer <token>` lets a non-loopback client read GET /metrics; null: loopback only. */
  metricsToken: string | null;
  /** Extra origins allowed to change state (besides the page's own). */
  allowedOrigins: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return dflt;
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], dflt: T): T => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return dflt;
    }
    return raw as T;
  };

  const nodeEnv = oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const production = nodeEnv === 'production';

  const redisUrl = str('REDIS_URL') ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push(`REDIS_URL must start with redis:// or rediss:// (got "${redisUrl}")`);
  }
  const clusterRaw = str('REDIS_CLUSTER_NODES');
  let clusterNodes: { host: string; port: number }[] | null = null;
  if (clusterRaw !== undefined) {
    clusterNodes = [];
    for (const entry of clusterRaw.split(',').map((e) => e.trim())) {
      // host:port, the host possibly an IPv6 literal in brackets.
      const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
      const port = m ? Number(m[2]) : 0;
      if (!m || port < 1 || port > 65535) {
        problems.push(`REDIS_CLUSTER_NODES must be host:port entries separated by commas (got "${entry}")`);
        continue;
      }
      clusterNodes.push({ host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port });
    }
    if (redisUrl !== null) problems.push('REDIS_URL and REDIS_CLUSTER_NODES are both set: set one of them');
  }
  const redisPrefix = str('REDIS_PREFIX') ?? 'chat:';
  // In a cluster the first {...} of a key is its hash tag: braces in the prefix would put every
  // key in one slot (or split a room's keys over several).
  if (clusterNodes !== null && /[{}]/.test(redisPrefix)) {
    problems.push(`REDIS_PREFIX must not contain { or } with REDIS_CLUSTER_NODES (got "${redisPrefix}")`);
  }
  const redis: RedisTarget | null = clusterNodes ? { clusterNodes } : redisUrl ? { url: redisUrl } : null;

  let sessionSecret = str('SESSION_SECRET');
  if (sessionSecret === undefined) {
    if (production) problems.push('SESSION_SECRET is required when NODE_ENV=production');
    // Development only: a fixed secret keeps dev sessions valid across restarts.
    sessionSecret = 'dev-only-insecure-secret';
  } else if (production && sessionSecret.length < 32) {
    problems.push('SESSION_SECRET must be at least 32 characters when NODE_ENV=production');
  }

  const auth = oneOf('AUTH', ['dev', 'password', 'firebase'] as const, 'dev');
  const allowDevAuth = oneOf('ALLOW_DEV_AUTH', ['true', 'false'] as const, 'false') === 'true';
  // Name-only sign-in lets anyone be anyone: never by accident in production.
  if (production && auth === 'dev' && !allowDevAuth) {
    problems.push(
      'AUTH=dev with NODE_ENV=production lets anyone sign in as anyone: set AUTH=password or AUTH=firebase, or ALLOW_DEV_AUTH=true to accept that',
    );
  }
  let firebase: Config['firebase'] = null;
  if (auth === 'firebase') {
    const projectId = str('FIREBASE_PROJECT_ID');
    if (projectId === undefined) problems.push('FIREBASE_PROJECT_ID is required when AUTH=firebase');
    const emulatorHost = str('FIREBASE_AUTH_EMULATOR_HOST') ?? null;
    if (emulatorHost !== null && !/^[\w.-]+:\d+$/.test(emulatorHost)) {
      problems.push(`FIREBASE_AUTH_EMULATOR_HOST must be host:port (got "${emulatorHost}")`);
    }
    const apiKey = str('FIREBASE_API_KEY') ?? (emulatorHost ? 'emulator-api-key' : undefined);
    if (apiKey === undefined) problems.push('FIREBASE_API_KEY is required when AUTH=firebase without an emulator');
    firebase = {
      projectId: projectId ?? '',
      emulatorHost,
      web: {
        apiKey: apiKey ?? '',
        authDomain: str('FIREBASE_AUTH_DOMAIN') ?? `${projectId ?? ''}.firebaseapp.com`,
        projectId: projectId ?? '',
        ...(str('FIREBASE_APP_ID') ? { appId: str('FIREBASE_APP_ID') } : {}),
      },
      googleSignIn: oneOf('FIREBASE_GOOGLE_SIGNIN', ['true', 'false'] as const, 'false') === 'true',
    };
  }

  const trustRaw = str('TRUST_PROXY');
  let trustProxy: Config['trustProxy'] = production ? 1 : false;
  if (trustRaw !== undefined) {
    if (trustRaw === 'true' || trustRaw === 'false') trustProxy = trustRaw === 'true';
    else if (/^\d+$/.test(trustRaw)) trustProxy = Number(trustRaw);
    else trustProxy = trustRaw;
  }

  const allowedOrigins = (str('ALLOWED_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of allowedOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(o))
      problems.push(`ALLOWED_ORIGINS entries must be origins like https://host (got "${o}")`);
  }

  const metricsToken = str('METRICS_TOKEN') ?? null;
  // Sent as a bearer token: long enough not to be guessed, and nothing a header would mangle.
  if (metricsToken !== null && !/^[\x21-\x7e]{32,}$/.test(metricsToken)) {
    problems.push('METRICS_TOKEN must be at least 32 printable characters without spaces (e.g. openssl rand -hex 32)');
  }
  const prettyRaw = oneOf('LOG_PRETTY', ['true', 'false', 'auto'] as const, 'auto');
  const logPretty =
    prettyRaw === 'auto' ? nodeEnv === 'development' && process.stdout.isTTY === true : prettyRaw === 'true';

  const config: Config = {
    env: nodeEnv,
    production,
    port: int('PORT', 3000, 0, 65535),
    redisUrl,
    redis,
    redisPrefix,
    sessionSecret,
    sessionMaxAgeMs: int('SESSION_MAX_AGE_DAYS', 14, 1, 365) * 24 * 3600 * 1000,
    auth,
    firebase,
    createChatRole: oneOf('CREATE_CHAT_ROLE', ['any', 'mentor'] as const, 'any'),
    rateLimitCount: int('RATE_LIMIT_COUNT', LIMITS.rateLimitCount, 1, 1_000_000),
    rateLimitWindowMs: int('RATE_LIMIT_WINDOW_MS', LIMITS.rateLimitWindowMs, 1, 86_400_000),
    signInsPerMinute: int('SIGNINS_PER_MINUTE', LIMITS.signInsPerMinute, 1, 1_000_000),
    passwordFailures: int('PASSWORD_FAILURES', LIMITS.passwordFailures, 1, 1000),
    passwordLockMs: int('PASSWORD_LOCK_MS', LIMITS.passwordLockMs, 1000, 86_400_000),
    roomsPerMinute: int('ROOMS_PER_MINUTE', LIMITS.roomsPerMinute, 1, 1_000_000),
    maxRoomsPerUser: int('MAX_ROOMS_PER_USER', LIMITS.maxRoomsPerUser, 1, 1_000_000),
    eventsPerSecond: int('EVENTS_PER_SECOND', LIMITS.eventsPerSecond, 1, 1_000_000),
    eventBurst: int('EVENT_BURST', LIMITS.eventBurst, 1, 1_000_000),
    historyKeep: int('HISTORY_KEEP', LIMITS.historyKeep, LIMITS.historyKeep, 10_000_000),
    randomRoomSize: int('RANDOM_ROOM_SIZE', LIMITS.randomRoomSize, 2, 1000),
    storeTimeoutMs: int('STORE_TIMEOUT_MS', 3000, 50, 60_000),
    maxSocketsPerUser: int('MAX_SOCKETS_PER_USER', 20, 1, 10_000),
    maxPayloadBytes: int('MAX_PAYLOAD_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    httpHeadersTimeoutMs: int('HTTP_HEADERS_TIMEOUT_MS', 20_000, 1000, 600_000),
    httpRequestTimeoutMs: int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    trustProxy,
    logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    logPretty,
    metricsToken,
    allowedOrigins,
  };
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs)
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
