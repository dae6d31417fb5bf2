/**
 * The composition root: Redis clients, store, sign-in, HTTP app and Socket.IO, wired once.
 * `npm start` (main.ts) and the cluster entry (cluster.ts) both build a node with this.
 *
 * A node listens at once, even while Redis is down: /healthz and /readyz (and every other route)
 * answer 503 until its Redis clients are connected, and then it becomes ready by itself —
 * Socket.IO and its Redis adapter are made only then (`ready`).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import { firebaseCspSources } from './auth/firebase-csp.js';
import { createAuth } from './auth/index.js';
import { createSessions } from './auth/session.js';
import type { Drain } from './chat/handler.js';
import { createSocketServer } from './chat/socket-server.js';
import { createSocketLimiter } from './chat/socket-limit.js';
import type { ChatServerIO } from './chat/types.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import type { CspExtra } from './http/set-up-security.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createStore } from './store/index.js';
import { instrumentStore } from './store/instrumented.js';
import { createKeys } from './store/keys.js';
import { createLimiter } from './store/limiter.js';
import { createLocalFanout } from './store/fanout.js';
import { migrateLayout } from './store/migrate.js';
import { createRedisClient, whenReady, type RedisClient } from './store/redis-client.js';
import type { ChatStore } from './store/types.js';

/** The project root (dist/.. or src/..): views/ and public/ live there. */
/**
 * The listen backlog: connections the kernel holds before `accept`. When a node dies, its
 * clients all come back at once to the others; with Node's default of 511 the kernel dropped
 * 16-18 thousand SYNs in one bench storm of 3,000 reconnects, each costing its client a TCP
 * retry (1 s, then 3 s...), and the last client caught up after 23.5-27.1 s; with 4,096 none was
 * dropped and the last caught up at 16.5 s (bench/README.md, scenario 6). The kernel caps it at
 * net.core.somaxconn (4,096 on current Linux).
 */
export const LISTEN_BACKLOG = 4096;

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ChatServer {
  app: Express;
  httpServer: HttpServer;
  /** Socket.IO: made once Redis is ready (at once on the in-process store); see `ready`. */
  readonly io: ChatServerIO;
  store: ChatStore;
  metrics: Metrics;
  /** Resolves once the node serves the chat: Redis connected, Socket.IO and its adapter made. */
  ready: Promise<void>;
  listen(port: number): Promise<number>;
  /** Stops accepting, finishes in-flight events, moves clients elsewhere, closes Redis. */
  shutdown(reason: string): Promise<void>;
}

const DRAIN_TIMEOUT_MS = 10_000;

export async function createChatServer(config: Config, logger: Logger): Promise<ChatServer> {
  const redisClients: RedisClient[] = [];
  let redis: RedisClient | null = null;
  let adapterClients: { pub: RedisClient; sub: RedisClient } | null = null;
  if (config.redis) {
    const opts = { commandTimeoutMs: config.storeTimeoutMs };
    redis = createRedisClient(config.redis, 'chat-store', logger, { ...opts, replayAfterReconnect: false });
    // The adapter's subscriber sits in subscribe mode, so it needs a connection of its own.
    const pub = createRedisClient(config.redis, 'chat-adapter-pub', logger, opts);
    const sub = createRedisClient(config.redis, 'chat-adapter-sub', logger, { commandTimeoutMs: 0, subscriber: true });
    adapterClients = { pub, sub };
    redisClients.push(redis, pub, sub);
  }
  const metrics = createMetrics();
  // The in-process store delivers what it stores through this; Redis publishes to every node.
  const localFanout = config.redis ? null : createLocalFanout();
  const store = instrumentStore(createStore(config, logger, redis ?? undefined, localFanout ?? undefined), metrics);
  logger.info(
    { store: store.kind },
    store.kind === 'redis'
      ? `store: Redis${config.redis && 'clusterNodes' in config.redis ? ' Cluster' : ''}`
      : 'store: in-process (REDIS_URL unset; one node, nothing kept across restarts)',
  );

  const keys = createKeys(config.redisPrefix);
  const presence = createSocketLimiter({
    max: config.maxSocketsPerUser,
    redis,
    keys,
    logger,
  });
  const minute = 60_000;
  const limits = {
    signIns: createLimiter(redis, { prefix: keys.limit('signin'), points: config.signInsPerMinute, windowMs: minute }),
    passwordFailures: createLimiter(redis, {
      prefix: keys.limit('password-failures'),
      points: config.passwordFailures,
      windowMs: config.passwordLockMs,
    }),
    rooms: createLimiter(redis, { prefix: keys.limit('rooms'), points: config.roomsPerMinute, windowMs: minute }),
  };
  // The app needs the sockets (to announce rooms, to close a replaced session's sockets) and the
  // sockets need the HTTP server the app runs in: the late-bound notifier below closes that loop.
  const late: { sockets?: ReturnType<typeof createSocketServer> } = {};
  const auth = await createAuth({
    config,
    store,
    logger,
    passwordFailures: limits.passwordFailures,
    hooks: { sessionEnded: (uid, sessionId) => late.sockets?.notify.endSession(uid, sessionId) },
  });
  const csp: CspExtra | undefined = config.auth === 'firebase' ? firebaseCspSources(config) : undefined;
  const sessions = createSessions(config, redis);
  const drain: Drain = { draining: false, inFlight: 0 };

  const app = createApp({
    root: projectRoot,
    config,
    logger,
    store,
    auth,
    session: sessions.middleware,
    csp,
    isDraining: () => drain.draining,
    isReady: () => late.sockets !== undefined,
    metrics,
    limits,
    presence,
    announceRoom: (room, uids) => late.sockets?.notify.roomAdded(room, uids),
    onSignOut: ({ uid, sessionId }) => {
      // Firebase revokes every session of the user; a dev sign-out ends this one session.
      if (config.auth === 'firebase') late.sockets?.notify.disconnectUser(uid);
      else if (sessionId) late.sockets?.notify.endSession(uid, sessionId);
    },
  });
  // Slow clients must not hold connections forever (slowloris). Node checks these timeouts every
  // connectionsCheckingInterval (30 s by default, which would stretch a 20 s bound to 50 s).
  const httpServer = createServer({ connectionsCheckingInterval: 1000 }, app);
  httpServer.headersTimeout = config.httpHeadersTimeoutMs;
  httpServer.requestTimeout = config.httpRequestTimeoutMs;
  httpServer.keepAliveTimeout = 65_000; // above common load balancers' idle timeouts
  let stopping = false;
  // The store's client has no offline queue: wait until it is connected before serving. The
  // adapter's clients too: a (p)subscribe issued while the subscriber is still in its ready
  // check is sent at once (Redis allows it while loading), the check's INFO then fails in
  // subscriber mode, and ioredis reconnects without re-subscribing — a node deaf to the others.
  // So the adapter (made with the socket server) waits until all of them are ready together;
  // meanwhile the node answers 503 and each client retries with a logged, capped backoff.
  const ready = (async () => {
    if (redisClients.some((c) => c.status !== 'ready'))
      logger.warn('waiting for Redis; answering 503 until it is ready');
    while (!stopping && redisClients.some((c) => c.status !== 'ready')) await Promise.all(redisClients.map(whenReady));
    if (stopping) return;
    // Before serving anything: data of the layout before hash tags is moved first (a no-op GET
    // once done); a failure (e.g. a cluster holding that layout) stops the node.
    if (redis) {
      const migrated = await migrateLayout(redis, config.redisPrefix, logger);
      if (migrated.moved + migrated.seats > 0) logger.info(migrated, 'key layout migrated to version 2');
    }
    try {
      const indexed = await store.indexUsers();
      if (indexed > 0) logger.info({ users: indexed }, 'users added to the name index');
    } catch (err) {
      // Users saved before the name index are added at the next start; not a reason to stay down.
      logger.warn({ err: (err as Error).message }, 'name index not completed');
    }
    late.sockets = createSocketServer(httpServer, {
      config,
      logger,
      store,
      auth,
      sessions,
      adapterClients,
      localFanout,
      redis,
      presence,
      drain,
      metrics,
    });
    const { nsp } = late.sockets;
    metrics.countSockets(() => nsp.sockets.size);
    logger.info('ready');
  })();
  // On the in-process store there is nothing to wait for: the node is whole when returned.
  if (!config.redis) await ready;

  let shuttingDown: Promise<void> | null = null;
  return {
    app,
    httpServer,
    get io() {
      if (!late.sockets) throw new Error('Socket.IO is made once Redis is ready: await server.ready');
      return late.sockets.io;
    },
    store,
    metrics,
    ready,
    listen(port) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen({ port, backlog: LISTEN_BACKLOG }, () => {
          const addr = httpServer.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
      });
    },
    shutdown(reason) {
      shuttingDown ??= (async () => {
        logger.info({ reason }, 'shutting down');
        drain.draining = true;
        stopping = true;
        const io = late.sockets?.io;
        // 1. No new connections; new events on open sockets are refused as unavailable.
        httpServer.close();
        // 2. Events already accepted finish and are acknowledged (their writes complete).
        const until = Date.now() + DRAIN_TIMEOUT_MS;
        while (drain.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        // 3. Closing the transports (not disconnecting the sockets) makes clients reconnect by
        //    themselves, to another node behind the load balancer.
        io?.engine.close();
        httpServer.closeAllConnections();
        if (io) await io.close();
        // This node's sockets are given back now, not when its lease lapses.
        await presence.close().catch((err: unknown) => logger.warn({ err }, 'socket leases not given back'));
        await store.close();
        // The adapter's SUNSUBSCRIBEs (sent by io.close() without waiting) sit in ioredis's
        // auto-pipeline until the next tick; a QUIT written before them fails them with
        // "Connection is closed" as unhandled rejections (a test process running nodes in it sees them).
        await new Promise((r) => setImmediate(r));
        // A client still retrying (Redis down since start) has nothing to QUIT: just stop it.
        await Promise.allSettled(
          redisClients.map(async (c) => {
            if (c.status === 'ready') await c.quit();
            else c.disconnect();
          }),
        );
        logger.info({ inFlight: drain.inFlight }, 'shut down');
      })();
      return shuttingDown;
    },
  };
}
