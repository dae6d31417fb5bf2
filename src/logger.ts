/**
 * The one logger: JSON lines (pino), one per event, quiet in tests (LOG_LEVEL=silent).
 * Modules get it (or a child with their `component`) injected, never import a global.
 *
 * Each JSON line carries Cloud Logging's `severity` beside pino's numeric `level`, so App
 * Engine's log viewer filters and colours by level. With `pretty` (development on a terminal,
 * or LOG_PRETTY=true) lines go through pino-pretty instead — a devDependency, loaded only then,
 * so a production install never needs it; where it is missing the logger stays JSON.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** pino-pretty output (development). */
  pretty?: boolean;
  /** ISO-8601 `time` (production), which Cloud Logging reads as the entry's timestamp. */
  isoTime?: boolean;
}

/** pino's levels as Cloud Logging's LogSeverity names. */
export const SEVERITY: Readonly<Record<string, string>> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

function prettyTarget(): string | null {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return null;
  }
}

export function createLogger(level: string, bindings: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  const base = { pid: process.pid, ...bindings };
  const target = opts.pretty ? prettyTarget() : null;
  if (target) {
    return pino({
      level,
      base,
      transport: { target, options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  const logger = pino({
    level,
    base,
    formatters: { level: (label, number) => ({ severity: SEVERITY[label] ?? 'DEFAULT', level: number }) },
    ...(opts.isoTime ? { timestamp: pino.stdTimeFunctions.isoTime } : {}),
  });
  if (opts.pretty) logger.warn('LOG_PRETTY: pino-pretty is not installed (a devDependency), so logs stay JSON');
  return logger;
}

/** The logger options a configuration asks for. */
export function loggerOptions(config: { logPretty: boolean; production: boolean }): LoggerOptions {
  return { pretty: config.logPretty, isoTime: config.production };
}
