/**
 * `npm run migrate`: moves the deployment's Redis (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_PREFIX)
 * from the key layout before hash tags to today's (store/migrate.ts). Every node also does this
 * at start-up; this is for doing it ahead of a deploy, and for seeing what it did. Safe to rerun.
 */
import { loadConfigOrExit } from '../lifecycle.js';
import { createLogger } from '../logger.js';
import { migrateLayout } from '../store/migrate.js';
import { createRedisClient, whenReady } from '../store/redis-client.js';

const CONNECT_TIMEOUT_MS = 15_000;

async function main(): Promise<number> {
  const config = loadConfigOrExit();
  if (config.redis === null) {
    process.stderr.write('REDIS_URL is not set: the in-process store keeps nothing to migrate\n');
    return 2;
  }
  const logger = createLogger('warn');
  // No command timeout: a SCAN step over a large keyspace may take a while, and nothing waits on it.
  const redis = createRedisClient(config.redis, 'chat-migrate', logger, { commandTimeoutMs: 0 });
  try {
    // An operator at a terminal: a Redis that does not answer is an error, not a wait forever.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis not ready within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
    });
    await Promise.race([whenReady(redis), late]).finally(() => clearTimeout(timer));
    const started = Date.now();
    const result = await migrateLayout(redis, config.redisPrefix, logger);
    const ms = Date.now() - started;
    process.stdout.write(
      result.alreadyDone
        ? `key layout of "${config.redisPrefix}" is already version 2: nothing to do\n`
        : `key layout of "${config.redisPrefix}" is now version 2: ${result.moved} keys moved, ` +
            `${result.seats} random rooms given seat counts (${ms} ms)\n`,
    );
    return 0;
  } finally {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
