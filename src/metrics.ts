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
import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
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
  // Answers are counted in plain numbers and handed to the counter when it is read (its
  // `collect`): Counter#inc hashes its labels into a string on every call, once per message.
  const answered = new Map<string, { ok: number; refused: number }>();
  new Counter({
    name: 'chat_events_total',
    help: 'Socket.IO events answered, by event and outcome (ok or refused)',
    labelNames: ['event', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const [event, n] of answered) {
        if (n.ok > 0) this.inc({ event, outcome: 'ok' }, n.ok);
        if (n.refused > 0) this.inc({ event, outcome: 'refused' }, n.refused);
        n.ok = 0;
        n.refused = 0;
      }
    },
  });
  const refused = new Counter({
    name: 'chat_events_refused_total',
    help: "Socket.IO events refused, by event and reason (the contract's refusal strings)",
    labelNames: ['event', 'reason'] as const,
    registers: [registry],
  });
  // The two latency histograms are observed several times per message; see SeriesHistogram.
  const ack = new SeriesHistogram(
    'chat_ack_latency_seconds',
    "Time from an event's arrival to its acknowledgement, by event",
    ['event'],
    LATENCY_BUCKETS,
  );
  const store = new SeriesHistogram(
    'chat_store_latency_seconds',
    'Time of store calls, by method and outcome (ok or error)',
    ['method', 'outcome'],
    LATENCY_BUCKETS,
  );
  registry.registerMetric(ack as unknown as Metric);
  registry.registerMetric(store as unknown as Metric);

  return {
    registry,
    node,
    eventAnswered(event, result, seconds) {
      let n = answered.get(event);
      if (!n) answered.set(event, (n = { ok: 0, refused: 0 }));
      if (result.ok) n.ok += 1;
      else {
        n.refused += 1;
        const reason = typeof result.error === 'string' && REASONS.has(result.error) ? result.error : 'other';
        refused.inc({ event, reason });
      }
      ack.observe(event, undefined, seconds);
    },
    storeCall(method, ok, seconds) {
      store.observe(method, ok ? 'ok' : 'error', seconds);
    },
    messageStored() {
      stored.inc();
    },
    countSockets(count) {
      sockets = count;
    },
  };
}

/** A sample as prom-client's registry reads it from a metric's `get()`. */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null | undefined;
}

interface Exported {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

/** One label set's counts: per bucket (not cumulative), then the total and the sum. */
interface Series {
  labels: Record<string, string>;
  buckets: Float64Array;
  count: number;
  sum: number;
}

/**
 * A Prometheus histogram of one or two labels, read by prom-client's registry like its own
 * (the same series, names and text, pinned by comparing both). Every message makes two
 * observations (its acknowledgement, its store call); prom-client's Histogram#observe turns the
 * float bucket bound into a property name twice and hashes the labels into a new string each
 * time: with the events counter, 5–18 µs per message in a loop on this loaded 2-core VM
 * against 0.2–0.6 µs this way, and ~1 KB of garbage per message (sampled) against none. This
 * one finds its series in nested Maps and bumps a typed array.
 */
class SeriesHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Map<string | undefined, Series>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly [string] | readonly [string, string],
    private readonly bounds: readonly number[],
  ) {}

  observe(first: string, second: string | undefined, value: number): void {
    let inner = this.series.get(first);
    if (!inner) this.series.set(first, (inner = new Map()));
    let s = inner.get(second);
    if (!s) {
      const labels: Record<string, string> = { [this.labelNames[0]]: first };
      if (this.labelNames[1] !== undefined && second !== undefined) labels[this.labelNames[1]] = second;
      inner.set(second, (s = { labels, buckets: new Float64Array(this.bounds.length), count: 0, sum: 0 }));
    }
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i += 1;
    if (i < this.bounds.length) s.buckets[i] = (s.buckets[i] as number) + 1;
    s.count += 1;
    s.sum += value;
  }

  /**
   * What prom-client's Histogram#getForPromString answers, which its registry writes as text:
   * cumulative buckets, +Inf, sum and count per series, the series' labels after `le` (so the
   * text is the same as prom-client's own histogram's, line for line).
   */
  getForPromString(): Promise<Exported> {
    const values: Sample[] = [];
    for (const inner of this.series.values()) {
      for (const s of inner.values()) {
        const bucket = `${this.name}_bucket`;
        let acc = 0;
        this.bounds.forEach((le, i) => {
          acc += s.buckets[i] as number;
          values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
        });
        values.push({
          labels: { le: '+Inf' },
          sharedLabels: s.labels,
          value: s.count,
          metricName: bucket,
          exemplar: null,
        });
        const sum = `${this.name}_sum`;
        const count = `${this.name}_count`;
        values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: sum, exemplar: undefined });
        values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: count, exemplar: undefined });
      }
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** The same with each sample's labels in one object, as prom-client's Histogram#get (JSON). */
  async get(): Promise<Exported> {
    const data = await this.getForPromString();
    for (const v of data.values) {
      v.labels = { ...v.labels, ...v.sharedLabels };
      delete v.sharedLabels;
    }
    return data;
  }

  reset(): void {
    this.series.clear();
  }
}
