/**
 * `npm start`: one chat node on PORT. Configuration errors stop it with the variable named, a
 * port it cannot listen on with one line naming the port. It listens at once; with Redis down
 * it answers 503 until Redis is ready (server.ts).
 */
import { exitAfterShutdown, fail, listenError, loadConfigOrExit } from './lifecycle.js';
import { createLogger, loggerOptions } from './logger.js';
import { createChatServer } from './server.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, {}, loggerOptions(config));
  const server = await createChatServer(config, logger);
  const port = await server
    .listen(config.port)
    .catch((err: unknown) => fail(listenError(err, config.port) ?? String(err)));
  logger.info({ port, auth: config.auth, store: server.store.kind }, 'listening');
  process.once('SIGTERM', () => exitAfterShutdown(server, logger, 'SIGTERM'));
  process.once('SIGINT', () => exitAfterShutdown(server, logger, 'SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
