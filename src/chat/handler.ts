/**
 * Runs one socket's events one at a time, in arrival order: async handlers could otherwise
 * overtake each other, and a socket's messages must be stored in the order it sent them.
 * Answers every event exactly once: the handler's result, or a generic error that is logged.
 * Every answer is also counted (by event and outcome or refusal reason) with the time since the
 * event arrived (metrics.ts): it is the one place that sees them all.
 */
import { performance } from 'node:perf_hooks';
import { ERRORS } from '../shared/limits.js';
import type { Ack } from '../shared/events.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { isStoreUnavailable } from '../store/unavailable.js';

/** Events one socket may have queued; past that the client is flooding us. */
const MAX_PENDING = 256;

export class Refusal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface Drain {
  /** True once shutdown began: new events are refused, in-flight ones finish. */
  draining: boolean;
  /** Handlers running now, across all sockets of this node. */
  inFlight: number;
}

export class SocketQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /**
   * `where` (uid, socket id) goes into each log line. Not a pino child logger: one per socket
   * holds ~400 bytes of heap for the socket's whole life (measured: 10,000 children), to serve
   * lines that rarely come.
   */
  constructor(
    private readonly logger: Logger,
    private readonly where: { uid: string; socket: string },
    private readonly drain: Drain,
    private readonly metrics?: Pick<Metrics, 'eventAnswered'>,
  ) {}

  run<T extends object>(event: string, ack: unknown, work: () => Promise<Ack<T>>): void {
    // The contract's every client event takes an acknowledgement; without one there is no way
    // to answer, so the event is ignored rather than half-processed.
    if (typeof ack !== 'function') return;
    const arrived = performance.now();
    const answer = ack as (r: Ack<T>) => void;
    const reply = (r: Ack<T>): void => {
      answer(r);
      this.metrics?.eventAnswered(event, r, (performance.now() - arrived) / 1000);
    };
    if (this.drain.draining) {
      reply({ ok: false, error: ERRORS.unavailable });
      return;
    }
    if (this.pending >= MAX_PENDING) {
      reply({ ok: false, error: ERRORS.rateLimited });
      return;
    }
    this.pending += 1;
    this.drain.inFlight += 1;
    this.tail = this.tail.then(async () => {
      let result: Ack<T>;
      try {
        result = await work();
      } catch (err) {
        if (err instanceof Refusal) result = { ok: false, error: err.reason };
        else if (isStoreUnavailable(err)) {
          this.logger.warn({ ...this.where, event, err: (err as Error).message }, 'store unavailable');
          result = { ok: false, error: ERRORS.unavailable };
        } else {
          this.logger.error({ ...this.where, event, err }, 'event handler failed');
          result = { ok: false, error: ERRORS.internal };
        }
      } finally {
        this.pending -= 1;
        this.drain.inFlight -= 1;
      }
      reply(result);
    });
  }
}
