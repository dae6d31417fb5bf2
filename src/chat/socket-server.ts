/**
 * Socket.IO on namespace `/chat`: the handshake is authenticated by the page's session, each
 * socket joins its user's room and its session's room, and this file only wires events to the
 * handler modules.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Cluster } from 'ioredis';
import type { HandshakeSession, Sessions } from '../auth/session.js';
import type { AuthProvider } from '../auth/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { CHAT_NAMESPACE, userChannel } from '../shared/events.js';
import type { ClientToServerEvents } from '../shared/events.js';
import type { Message } from '../shared/types.js';
import { ERRORS } from '../shared/limits.js';
import { adapterChannelPrefix, roomChannel, type LocalFanout } from '../store/fanout.js';
import { createKeys } from '../store/keys.js';
import { whenReady, type RedisClient } from '../store/redis-client.js';
import type { ChatStore } from '../store/types.js';
import { createCatchUpHandlers } from './catch-up-handlers.js';
import { createMemberHandlers } from './member-handlers.js';
import { createEventBudget, overBudgetAnswer } from './event-budget.js';
import { SocketQueue, type Drain } from './handler.js';
import { createMessageHandlers } from './message-handlers.js';
import { createNotifier, endLocalSession, type Notifier } from './notify.js';
import { createRoomHandlers } from './room-handlers.js';
import { HEARTBEAT_MS, SWEEP_MS, type SocketLimiter } from './socket-limit.js';
import { createThrottle } from './throttle.js';
import type { ChatNamespace, ChatServerIO, ChatSocket } from './types.js';
import { coalesceConnection } from './write-coalesce.js';

export interface SocketDeps {
  config: Config;
  logger: Logger;
  store: ChatStore;
  auth: AuthProvider;
  /** The session a handshake's cookie names (read only: a socket never changes it). */
  sessions: Pick<Sessions, 'read'>;
  /** Publisher and subscriber for the Redis adapter; null on the in-process store. */
  adapterClients: { pub: RedisClient; sub: RedisClient } | null;
  /** The in-process store's deliveries (fanout.ts); null on Redis, which publishes to the adapter. */
  localFanout: (LocalFanout & { attach(receiver: (message: Message) => void): void }) | null;
  /** The store's client (event budget, throttles, lease renewal); null on the in-process store. */
  redis: RedisClient | null;
  /** Socket leases and presence (socket-limit.ts), shared with the HTTP routes. */
  presence: SocketLimiter;
  drain: Drain;
  /** Counts every event's answer and its latency (the per-socket queue records them). */
  metrics?: Metrics;
}

type HandshakeRequest = IncomingMessage & { _query?: Record<string, string>; session?: HandshakeSession };

export interface ChatSockets {
  io: ChatServerIO;
  nsp: ChatNamespace;
  notify: Notifier;
}

export function createSocketServer(httpServer: HttpServer, deps: SocketDeps): ChatSockets {
  const { config, logger, store, auth } = deps;
  const io: ChatServerIO = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: config.maxPayloadBytes,
    // A cross-site page must not open a socket riding on our users' cookies. Either scheme of our
    // own host is ours (TLS may end at a proxy in front of us).
    allowRequest: (req, callback) => {
      const host = req.headers.host ?? '';
      const origin = req.headers.origin;
      const ok =
        origin === undefined ||
        origin === `http://${host}` ||
        origin === `https://${host}` ||
        config.allowedOrigins.includes(origin);
      callback(null, ok);
    },
  });
  if (deps.adapterClients) {
    // Sharded Pub/Sub (Redis >= 7), on one Redis and on a cluster alike: each Socket.IO room has
    // its own channel ("dynamic"), which a chat room's shares the slot of its keys with, so the
    // posting script publishes there (fanout.ts). Classic PUBLISH would go to every cluster node.
    io.adapter(
      createShardedAdapter(deps.adapterClients.pub, deps.adapterClients.sub, {
        channelPrefix: adapterChannelPrefix(config.redisPrefix),
        subscriptionMode: 'dynamic',
      }),
    );
  }

  // A WebSocket's frames of one turn leave in one write (write-coalesce.ts), whether it opened as
  // one or upgraded from long-polling (as the page's sockets do).
  io.engine.on('connection', coalesceConnection);

  // The session cookie is read once, at the handshake (later polling requests carry the sid),
  // onto the request as `session` ({ id, uid }), where auth.authenticate and 'connection' read it.
  io.engine.use((req: HandshakeRequest, res: unknown, next: (err?: Error) => void) => {
    if (req._query?.sid !== undefined) return next();
    // A WebSocket handshake's response object (engine.io's WebSocketResponse) stays reachable
    // from the TCP socket for the connection's life and holds the request: remembered here so
    // that 'connection' below can let the request go.
    if (req.headers.upgrade !== undefined && typeof res === 'object' && res !== null) handshakeResponses.set(req, res);
    deps.sessions.read(req).then(
      (found) => {
        if (found) req.session = found;
        next();
      },
      (err: unknown) => next(err instanceof Error ? err : new Error(String(err))),
    );
  });

  const nsp: ChatNamespace = io.of(CHAT_NAMESPACE);
  const notify = createNotifier(nsp, deps.adapterClients !== null);
  nsp.on('end_session', (uid, sessionId) => endLocalSession(nsp, uid, sessionId));
  deps.localFanout?.attach((message) => nsp.to(roomChannel(message.room_id)).emit('internal_msg', message));
  if (deps.adapterClients && deps.redis) resyncAfterSubscriberLoss(deps.adapterClients.sub, deps.redis, nsp, logger);
  const keys = createKeys(config.redisPrefix);
  const limiter = deps.presence;
  /** Every `ms`, runs `step` and tells the rooms of the users it returns that they came or went. */
  const announceEvery = (ms: number, step: () => Promise<string[]>, online: boolean, failed: string): void => {
    const timer = setInterval(() => {
      step()
        .then((uids) => Promise.all(uids.map(async (uid) => notify.presence(uid, online, await store.userRooms(uid)))))
        .catch((err: unknown) => logger.warn({ err }, failed));
    }, ms).unref();
    httpServer.once('close', () => clearInterval(timer));
  };
  // Leases live in Redis only; the in-process limiter has nothing to renew. A node whose lease
  // had lapsed writes its sockets back; the users that brings back online are announced again.
  if (deps.redis) announceEvery(HEARTBEAT_MS, () => limiter.heartbeat(), true, 'node heartbeat failed');
  // Users gone (no socket anywhere, the return grace passed, or their node died) are announced
  // offline by whichever node claims them first.
  announceEvery(SWEEP_MS, () => limiter.sweep(), false, 'presence sweep failed');

  // Socket.IO does not await middleware: the async check runs to its own end and calls next.
  const admit = async (socket: ChatSocket, next: (err?: Error) => void): Promise<void> => {
    try {
      const user = await auth.authenticate(handshakeOf(socket));
      if (!user) return next(new Error(ERRORS.unauthorized));
      const acquired = await limiter.acquire(user.uid, socket.id);
      if (acquired === 'refused') return next(new Error('too many connections'));
      // Given back once, whichever comes first: the socket's disconnect, or its connection closing
      // (a client gone while this middleware ran never reaches 'connection' nor 'disconnect').
      let held = true;
      const release = (): void => {
        if (!held) return;
        held = false;
        void limiter.release(user.uid, socket.id);
      };
      socket.once('disconnect', release);
      socket.conn.once('close', release);
      // Closed while the lease was being taken: 'close' has fired already.
      if (socket.conn.readyState === 'closed') release();
      // The first `joined` of a socket that brought its user online announces them to their rooms.
      const sid = handshakeOf(socket).session?.id;
      socket.data = { uid: user.uid, name: user.name, picture: user.picture, announce: acquired === 'online' };
      if (sid) socket.data.sid = sid;
      next();
    } catch (err) {
      logger.warn({ err }, 'handshake authentication failed');
      next(new Error(ERRORS.unavailable));
    }
  };
  nsp.use((socket, next) => void admit(socket, next));

  const budget = createEventBudget(deps.redis, (uid) => keys.userBudget(uid), {
    perSecond: config.eventsPerSecond,
    burst: config.eventBurst,
  });
  const overBudget = overBudgetAnswer(store);
  // `text` takes its budget token in the store's posting script, with the rate limit (one round
  // trip fewer per message), where both live in Redis; message-handlers.ts takes it itself for a
  // `text` refused before the store.
  const textBudget =
    store.takesTextBudget && budget.inStore ? { budget, overBudget, post: { budget: budget.inStore } } : null;

  const rooms = createRoomHandlers({ store, notify });
  const messages = createMessageHandlers({
    store,
    nsp,
    throttle: createThrottle(deps.redis),
    typingKey: (roomId, uid) => keys.typing(roomId, uid),
    textBudget,
  });
  const handlers: { [E in keyof ClientToServerEvents]: (socket: ChatSocket, payload: unknown) => Promise<object> } = {
    ...rooms,
    ...messages,
    ...createCatchUpHandlers({ store }),
    ...createMemberHandlers({ store, nsp, presence: limiter }),
  };

  // Every event counts toward the user's budget first (CONTRACT), across sockets and nodes
  // (`text`'s token is the handler's to take, where textBudget says so). Built once per node.
  const runners = Object.fromEntries(
    (Object.keys(handlers) as (keyof ClientToServerEvents)[]).map((event) => {
      const handle = handlers[event];
      const run =
        event === 'text' && textBudget
          ? (socket: ChatSocket, payload: unknown): Promise<object> => handle(socket, payload)
          : async (socket: ChatSocket, payload: unknown): Promise<object> =>
              (await budget.take(socket.data.uid))
                ? handle(socket, payload)
                : overBudget(socket.data.uid, event, payload);
      return [event, run as (socket: ChatSocket, payload: unknown) => Promise<{ ok: true }>];
    }),
  ) as Record<keyof ClientToServerEvents, (socket: ChatSocket, payload: unknown) => Promise<{ ok: true }>>;

  nsp.on('connection', (socket) => {
    const { uid } = socket.data;
    if (socket.data.announce) {
      store
        .userRooms(uid)
        .then((rooms) => notify.presence(uid, true, rooms))
        .catch((err: unknown) => logger.warn({ err, uid }, 'presence announcement failed'));
    }
    void socket.join(userChannel(uid));
    releaseHandshake(socket);
    const queue = new SocketQueue(logger, { uid, socket: socket.id }, deps.drain, deps.metrics);
    // One middleware per socket dispatches every event (Socket.IO runs it before any listener):
    // a listener and a closure per event and socket held ~3 KB of heap per idle socket.
    socket.use((packet, next) => {
      const event = packet[0];
      const run = Object.hasOwn(runners, event) ? runners[event as keyof ClientToServerEvents] : undefined;
      if (!run) return next();
      // `emit('text', cb)`: the acknowledgement came where the payload belongs. It is answered
      // (`invalid payload`), not left waiting forever.
      const [, payload, ack] = packet as [string, unknown, unknown];
      if (typeof payload === 'function' && ack === undefined) queue.run(event, payload, () => run(socket, undefined));
      else queue.run(event, ack, () => run(socket, payload));
    });
  });

  return { io, nsp, notify };
}

/**
 * Whatever was published while this node's adapter subscriber was disconnected (a Redis restart,
 * a network cut) never reached this node's sockets, and the store may have been writing again
 * before the subscriber was back. Once it is back, the node tells its sockets to catch up
 * (`resync`), and they do so with `catch_up`/`history {after}` as after a reconnect. The
 * transports stay open: closing them (as this node once did) killed the acknowledgements of
 * events in flight, whose messages were stored but never confirmed.
 *
 * ioredis re-sends the (p)subscribe when the connection is ready again; a PING on the same
 * connection is answered after it, so once the PONG is in, anything a client's catch-up does
 * not return yet reaches this node live.
 */
function resyncAfterSubscriberLoss(sub: RedisClient, store: RedisClient, nsp: ChatNamespace, logger: Logger): void {
  // The catch-up the clients start is answered by the store's client, which reconnects on its
  // own schedule: tell them once it is ready too (asked earlier, their `history` was refused).
  const resync = (why: string): void => {
    void whenReady(store).then(() => {
      logger.warn({ sockets: nsp.sockets.size }, why);
      nsp.local.emit('resync', { reason: 'subscriber' });
    });
  };
  if (sub instanceof Cluster) {
    // One sharded subscriber per master. After a failover, a lost node or a moved slot, ioredis
    // replaces the subscribers concerned and re-subscribes their channels, then says
    // `subscribersReady` — again at each slot refresh while a master is down. The
    // re-subscriptions are sent but not awaited, hence the pause; a burst of these events makes
    // one resync, after the last (measured: a SIGKILLed master gave ~95 events per node).
    let timer: NodeJS.Timeout | null = null;
    sub.on('subscribersReady', () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        resync('adapter subscribers reset: clients told to catch up');
      }, RESUBSCRIBE_SETTLE_MS).unref();
    });
    return;
  }
  let wasReady = sub.status === 'ready';
  sub.on('ready', () => {
    if (!wasReady) {
      wasReady = true;
      return;
    }
    sub
      .ping()
      .catch((err: unknown) => logger.warn({ err }, 'adapter subscriber ping failed'))
      .finally(() => resync('adapter subscriber back: clients told to catch up'));
  });
}

/** Upgrade handshakes' response objects, by request (see the engine middleware above). */
const handshakeResponses = new WeakMap<IncomingMessage, object>();
/**
 * What authenticates a connection once its request is gone (its cookie and session), for a
 * client that connects the namespace again over the same Engine.IO connection.
 */
const signIns = new WeakMap<object, HandshakeRequest>();

/** The socket's handshake request, or once it is let go, what stands in for it. */
function handshakeOf(socket: ChatSocket): HandshakeRequest {
  return (
    (socket.request as HandshakeRequest | null) ?? signIns.get(socket.conn) ?? ({ headers: {} } as HandshakeRequest)
  );
}

/**
 * Nothing reads a socket's handshake request after 'connection' (its user and session are on
 * `socket.data` and in its rooms; Socket.IO copied what it keeps into `socket.handshake`), but
 * engine.io keeps it for the connection's life: as `socket.conn.request` (Socket.IO's own memory
 * advice is to drop that) and as the `req` of the WebSocketResponse that the TCP socket's close
 * listener holds. Dropping both lets the IncomingMessage go: 3.6 KB of heap per idle socket
 * (measured at 5,000; engine.io deletes a property from it, which leaves it a dictionary of ~1.5 KB).
 * Socket.IO's `socket.handshake.headers` is that request's own headers object, kept as long: it
 * is emptied too (nothing here reads it; a browser sends a dozen headers, user agent and cookie
 * among them).
 */
function releaseHandshake(socket: ChatSocket): void {
  const conn = socket.conn as unknown as { request: HandshakeRequest | null };
  const req = conn.request;
  if (!req) return;
  const res = handshakeResponses.get(req);
  if (res && 'req' in res) (res as { req: unknown }).req = null;
  signIns.set(conn, { headers: { cookie: req.headers.cookie }, session: req.session } as HandshakeRequest);
  conn.request = null;
  socket.handshake.headers = {};
}

/** Time for a cluster's re-sent SSUBSCRIBEs to be in place before clients catch up. */
const RESUBSCRIBE_SETTLE_MS = 300;
