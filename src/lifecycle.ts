/** Process lifecycle shared by `npm start` (main.ts) and the cluster's workers (cluster.ts). */
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Logger } from './logger.js';
import type { ChatServer } from './server.js';

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** One line for a port the node cannot listen on (in use, or not allowed), else null. */
export function listenError(err: unknown, port: number): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return `fatal: port ${port} is already in use (EADDRINUSE); set PORT to a free port`;
  if (code === 'EACCES')
    return `fatal: no permission to listen on port ${port} (EACCES); set PORT to a port above 1023`;
  return null;
}

/** The configuration, or exit 1 listing every bad variable by name. */
export function loadConfigOrExit(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

/** Shuts the node down gracefully (server.ts) and exits: 0 when clean, 1 otherwise. */
export function exitAfterShutdown(server: ChatServer, logger: Logger, reason: string): void {
  server.shutdown(reason).then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}
