/**
 * The latency histograms of src/metrics.ts are not prom-client's Histogram (too slow for two
 * observations per message) but must read the same: the same observations in prom-client's own
 * histogram give the same /metrics text and the same JSON, line for line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { createMetrics } from '../../src/metrics.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function chatLines(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.includes(prefix));
}

describe('latency histograms', () => {
  it('read exactly as prom-client histograms given the same observations', async () => {
    const metrics = createMetrics('n1');
    const reference = new Registry();
    reference.setDefaultLabels({ node: 'n1' });
    const ack = new Histogram({
      name: 'chat_ack_latency_seconds',
      help: "Time from an event's arrival to its acknowledgement, by event",
      labelNames: ['event'],
      buckets: BUCKETS,
      registers: [reference],
    });
    const store = new Histogram({
      name: 'chat_store_latency_seconds',
      help: 'Time of store calls, by method and outcome (ok or error)',
      labelNames: ['method', 'outcome'],
      buckets: BUCKETS,
      registers: [reference],
    });
    // Bounds themselves, between them, past the last one, zero.
    for (const [event, s] of [
      ['text', 0.003],
      ['text', 0.001],
      ['text', 0],
      ['history', 20],
      ['text', 10],
      ['joined', 0.0099],
    ] as const) {
      metrics.eventAnswered(event, { ok: true }, s);
      ack.observe({ event }, s);
    }
    for (const [method, ok, s] of [
      ['postMessage', true, 0.01],
      ['postMessage', false, 0.0005],
      ['isMember', true, 0.25],
    ] as const) {
      metrics.storeCall(method, ok, s);
      store.observe({ method, outcome: ok ? 'ok' : 'error' }, s);
    }
    const ours = await metrics.registry.metrics();
    const theirs = await reference.metrics();
    for (const name of ['chat_ack_latency_seconds', 'chat_store_latency_seconds']) {
      assert.deepEqual(chatLines(ours, name), chatLines(theirs, name));
      const json = async (r: Registry) => (await r.getMetricsAsJSON()).find((m) => m.name === name);
      assert.deepEqual(await json(metrics.registry), await json(reference));
    }
    assert.ok(chatLines(ours, 'chat_ack_latency_seconds_count{node="n1",event="text"} 4').length === 1);
  });
});
