/**
 * The node's Prometheus metrics (prom-client): one registry per process and every metric object
 * the chat records, made here and injected where they are recorded — the per-socket queue
 * (every event's answer and its latency), the store proxy (store latency, messages stored) and
 * the composition root (connected sockets, read when scraped). GET /metrics serves the registry
 * (http/set-up-metrics.ts).
 *
 * Every series carries a `node` label. Prometheus adds `instance` from the scrape target, which
 * tells nodes apart only when each node is scraped at its own address; a scrape through App
 * Engine's load balancer (or a cluster's primary) reaches whichever node it is given, so the
 * node says who it is: `GAE_INSTANCE` where App Engine sets it, else host name and pid.
 */
import os from 'node:os';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERRORS } from './shared/limits.js';

/** Seconds: from 1 ms (a memory-store answer) to 10 s (past STORE_TIMEOUT_MS's ceiling of use). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Refusal reasons are the contract's fixed strings; anything else is counted as `other`. */
const REASONS: ReadonlySet<string> = new Set(Object.values(ERRORS));

export interface Metrics {
  readonly registry: Registry;
  readonly node: string;
  /** An event was answered `result` after `seconds` since it arrived. */
  eventAnswered(event: string, result: { ok: boolean; error?: unknown }, seconds: number): void;
  /** A store call took `seconds`; `ok` false when it threw. */
  storeCall(method: string, ok: boolean, seconds: number): void;
  messageStored(): void;
  /** The connected sockets are read from `count` at each scrape (nothing to keep in step). */
  countSockets(count: () => number): void;
}

export function nodeName(env: Record<string, string | undefined> = process.env): string {
  return env.GAE_INSTANCE?.trim() || `${os.hostname()}:${process.pid}`;
}

export function createMetrics(node: string = nodeName()): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node });
  // Process CPU, memory, GC and nodejs_eventloop_lag_seconds (with its percentiles).
  collectDefaultMetrics({ register: registry });

  let sockets: () => number = () => 0;
  new Gauge({
    name: 'chat_connected_sockets',
    help: 'Socket.IO sockets connected to this node (namespace /chat)',
    registers: [registry],
    collect() {
      this.set(sockets());
    },
  });
  const stored = new Counter({
    name: 'chat_messages_stored_total',
    help: 'Messages stored by this node (a resend of a stored client_id is not counted)',
    registers: [registry],
  });
  const events = new Counter({
    name: 'chat_events_total',
    help: 'Socket.IO events answered, by event and outcome (ok or refused)',
    labelNames: ['event', 'outcome'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'chat_events_refused_total',
    help: "Socket.IO events refused, by event and reason (the contract's refusal strings)",
    labelNames: ['event', 'reason'] as const,
    registers: [registry],
  });
  const ack = new Histogram({
    name: 'chat_ack_latency_seconds',
    help: "Time from an event's arrival to its acknowledgement, by event",
    labelNames: ['event'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const store = new Histogram({
    name: 'chat_store_latency_seconds',
    help: 'Time of store calls, by method and outcome (ok or error)',
    labelNames: ['method', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });

  return {
    registry,
    node,
    eventAnswered(event, result, seconds) {
      events.inc({ event, outcome: result.ok ? 'ok' : 'refused' });
      if (!result.ok) {
        const reason = typeof result.error === 'string' && REASONS.has(result.error) ? result.error : 'other';
        refused.inc({ event, reason });
      }
      ack.observe({ event }, seconds);
    },
    storeCall(method, ok, seconds) {
      store.observe({ method, outcome: ok ? 'ok' : 'error' }, seconds);
    },
    messageStored() {
      stored.inc();
    },
    countSockets(count) {
      sockets = count;
    },
  };
}
