/**
 * The one logger: JSON lines (pino), one per event, quiet in tests (LOG_LEVEL=silent).
 * Modules get it (or a child with their `component`) injected, never import a global.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}
