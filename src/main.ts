/**
 * `npm start`: one chat node on PORT. Configuration errors stop it with the variable named, a
 * port it cannot listen on with one line naming the port. It listens at once; with Redis down
 * it answers 503 until Redis is ready (server.ts).
 */
import { exitAfterShutdown, fail, listenError, loadConfigOrExit } from './lifecycle.js';
import { createLogger, loggerOptions } from './logger.js';
import { createChatServer } from './server.js';

/** How long "listening" waits for the node to be ready before it is logged anyway. */
const READY_GRACE_MS = 1000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, {}, loggerOptions(config));
  const server = await createChatServer(config, logger);
  const port = await server
    .listen(config.port)
    .catch((err: unknown) => fail(listenError(err, config.port) ?? String(err)));
  // With Redis up the node is ready within milliseconds, and "listening" is logged once it is (as
  // scripts and tests reading that line expect); with Redis down it is logged after a moment with
  // ready:false, while the node already answers 503, and "ready" follows when Redis is up.
  const ready = await Promise.race([
    server.ready.then(() => true),
    new Promise<false>((resolve) => setTimeout(resolve, READY_GRACE_MS, false).unref()),
  ]);
  logger.info({ port, auth: config.auth, store: server.store.kind, ready }, 'listening');
  process.once('SIGTERM', () => exitAfterShutdown(server, logger, 'SIGTERM'));
  process.once('SIGINT', () => exitAfterShutdown(server, logger, 'SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
