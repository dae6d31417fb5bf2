/** `npm start`: one chat node on PORT. Configuration errors stop it with the variable named. */
import { exitAfterShutdown, loadConfigOrExit } from './lifecycle.js';
import { createLogger } from './logger.js';
import { createChatServer } from './server.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const server = await createChatServer(config, logger);
  const port = await server.listen(config.port);
  logger.info({ port, auth: config.auth, store: server.store.kind }, 'listening');
  process.once('SIGTERM', () => exitAfterShutdown(server, logger, 'SIGTERM'));
  process.once('SIGINT', () => exitAfterShutdown(server, logger, 'SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
