/**
 * The one Redis client factory, for one Redis (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES). A chat must outlive a Redis restart or a failover without an operator:
 * the client retries forever (backoff capped at 2 s, each attempt logged), while a command issued
 * during the outage fails within a bounded time instead of hanging a socket's acknowledgement.
 *
 * In a cluster ioredis follows MOVED and ASK and retries TRYAGAIN and CLUSTERDOWN itself (none of
 * them ran the command, so a retry cannot double a write); what is left — a connection lost with
 * a command in flight — is "outcome unknown", answered `service unavailable` (unavailable.ts).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config.js';
import type { Logger } from '../logger.js';

/** Either kind of client: the store and its helpers use only what both offer. */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** A command not answered within this time rejects (e.g. while Redis is down). */
  commandTimeoutMs: number;
  /**
   * False for the store's client: a command is sent only while connected, and never again after
   * a reconnect. ioredis would otherwise queue it while Redis is down and send it when Redis is
   * back — after its timeout had already answered the client "service unavailable", so a message
   * reported as failed was stored anyway, and stored twice when the client resent it. Off, a
   * command issued while Redis is down fails at once; one in flight when the connection drops
   * fails by its timeout (its outcome is unknown, which is what "service unavailable" says).
   */
  replayAfterReconnect?: boolean;
  /** The Socket.IO adapter's subscriber: in a cluster, one sharded subscriber per master. */
  subscriber?: boolean;
}

const MAX_BACKOFF_MS = 2000;

function backoff(log: Logger, what: string): (attempt: number) => number {
  return (attempt) => {
    const delay = Math.min(100 * 2 ** Math.min(attempt - 1, 10), MAX_BACKOFF_MS);
    log.warn({ attempt, delayMs: delay }, what);
    return delay;
  };
}

export function createRedisClient(
  target: RedisTarget | string,
  role: string,
  logger: Logger,
  opts: RedisClientOptions,
): RedisClient {
  const log = logger.child({ component: 'redis', role });
  const replay = opts.replayAfterReconnect ?? true;
  const common: RedisOptions = {
    connectionName: role,
    // Queued commands fail after one failed reconnection rather than waiting for the outage to end.
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: replay,
    // 0: no timeout (the adapter's subscriber, whose (s)subscribe must not be timed out).
    ...(opts.commandTimeoutMs > 0 ? { commandTimeout: opts.commandTimeoutMs } : {}),
  };
  const where = typeof target === 'string' ? { url: target } : target;
  let client: RedisClient;
  if ('url' in where) {
    client = new Redis(where.url, {
      ...common,
      // Null would make ioredis give up; a number keeps reconnecting.
      retryStrategy: backoff(log, 'redis reconnecting'),
      enableOfflineQueue: replay,
      enableAutoPipelining: true,
    });
  } else {
    client = new Cluster(where.clusterNodes, {
      clusterRetryStrategy: backoff(log, 'redis cluster reconnecting'),
      // As for one Redis: the store's client sends nothing while the cluster is (re)connecting.
      enableOfflineQueue: replay,
      // Off in a cluster: ioredis follows a MOVED for a command sent alone, but one inside an
      // auto-pipelined batch reached the caller during a graceful failover (measured: 0-21 per
      // failover). Commands still go out without waiting for each other's answers.
      enableAutoPipelining: false,
      // A failover's replica takes over within cluster-node-timeout plus an election: keep
      // following redirections and retrying TRYAGAIN/CLUSTERDOWN a little longer than that.
      maxRedirections: 32,
      // A command whose connection closed may have run: ioredis would send it again elsewhere
      // after a delay ("failover" retry). Not for the store's client (see replayAfterReconnect).
      retryDelayOnFailover: replay ? 200 : 0,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      retryDelayOnMoved: 0,
      slotsRefreshTimeout: 2000,
      // A subscriber-only client sees no MOVED nor lost connection in a graceful failover: only
      // this refresh moves its sharded subscriptions to the new master (measured without it: no
      // message for 8 s and more; with 1 s: a gap of ~550 ms, which the resync then catches up).
      slotsRefreshInterval: 1000,
      shardedSubscribers: opts.subscriber === true,
      redisOptions: common,
    });
    stopRefreshingWhenEnded(client);
    client.on('+node', (node: Redis) =>
      log.info({ node: `${node.options.host}:${node.options.port}` }, 'cluster node added'),
    );
    client.on('-node', (node: Redis) =>
      log.warn({ node: `${node.options.host}:${node.options.port}` }, 'cluster node removed'),
    );
  }
  // Without a listener, an 'error' event would crash the process.
  client.on('error', (err: Error) => log.error({ err }, 'redis error'));
  client.on('ready', () => log.info('redis ready'));
  return client;
}

/**
 * ioredis (5.11) re-arms its `slotsRefreshInterval` timer from the callback of a slot refresh
 * that was in flight when the cluster was quit, and then refreshes an empty pool every interval
 * for ever: a timer that kept a test process (and would keep a shutting-down node) alive after
 * every connection was closed. Once the cluster has ended, refresh callbacks are dropped, which
 * ends that chain.
 */
function stopRefreshingWhenEnded(cluster: Cluster): void {
  const c = cluster as unknown as { refreshSlotsCache(callback?: (err?: Error) => void): void };
  const refresh = c.refreshSlotsCache.bind(cluster);
  c.refreshSlotsCache = (callback) =>
    refresh(callback && ((err) => (cluster.status === 'end' ? undefined : callback(err))));
}

/**
 * Resolves once the client is connected (now or later); the client itself keeps retrying and
 * logs each attempt. A client without an offline queue refuses commands until then.
 */
export async function whenReady(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  // A cluster is ready once it has the slot map; its masters' connections too, here: while one is
  // being made, a client without an offline queue refuses every other command to that master.
  if (client instanceof Cluster) await Promise.allSettled(client.nodes('master').map((n) => n.ping()));
}
