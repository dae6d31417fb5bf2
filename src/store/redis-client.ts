/**
 * The one Redis client factory. A chat must outlive a Redis restart without an operator: the
 * client retries forever (backoff capped at 2 s, each attempt logged), while a command issued
 * during the outage fails within a bounded time instead of hanging a socket's acknowledgement.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

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
}

const MAX_BACKOFF_MS = 2000;

export function createRedisClient(url: string, role: string, logger: Logger, opts: RedisClientOptions): Redis {
  const log = logger.child({ component: 'redis', role });
  const client = new Redis(url, {
    connectionName: role,
    // Null would make ioredis give up; a number keeps reconnecting.
    retryStrategy: (attempt) => {
      const delay = Math.min(100 * 2 ** Math.min(attempt - 1, 10), MAX_BACKOFF_MS);
      log.warn({ attempt, delayMs: delay }, 'redis reconnecting');
      return delay;
    },
    // Queued commands fail after one failed reconnection rather than waiting for the outage to end.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: opts.replayAfterReconnect ?? true,
    autoResendUnfulfilledCommands: opts.replayAfterReconnect ?? true,
    // 0: no timeout (the adapter's subscriber, whose (p)subscribe must not be timed out).
    ...(opts.commandTimeoutMs > 0 ? { commandTimeout: opts.commandTimeoutMs } : {}),
    enableAutoPipelining: true,
  });
  // Without a listener, an 'error' event would crash the process.
  client.on('error', (err: Error) => log.error({ err }, 'redis error'));
  client.on('ready', () => log.info('redis ready'));
  return client;
}

/**
 * Resolves once the client is connected (now or later); the client itself keeps retrying and
 * logs each attempt. A client without an offline queue refuses commands until then.
 */
export function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}
