/** `npm start`: one chat node on PORT. Configuration errors stop it with the variable named. */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createChatServer } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const server = await createChatServer(config, logger);
  const port = await server.listen(config.port);
  logger.info({ port, auth: config.auth, store: server.store.kind }, 'listening');

  const stop = (signal: string) => {
    server.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
