/**
 * The store proxy of src/store/instrumented.ts, on the in-process store: every call timed by
 * method and outcome, a stored message counted once (a resend of its client_id is not), and the
 * store's answers passed through unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { storeLimitsOf } from '../../src/store/index.js';
import { instrumentStore } from '../../src/store/instrumented.js';
import { MemoryStore } from '../../src/store/memory-store.js';

async function value(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}) {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const hit = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return hit?.value ?? 0;
}

describe('instrumented store', () => {
  it('times each call by method and outcome and counts a stored message once', async () => {
    const metrics = createMetrics('unit-node');
    const store = instrumentStore(new MemoryStore(storeLimitsOf(loadConfig({ NODE_ENV: 'test' }))), metrics);
    assert.equal(store.kind, 'memory');
    const ann = { uid: 'ann', name: 'Ann', course: '', role: 'student' as const, picture: '' };
    await store.saveUser(ann);
    const room = await store.createGroup(ann, 'proxy', []);
    const draft = {
      room_id: room.room_id,
      uid: 'ann',
      name: 'Ann',
      picture: '',
      msg: 'hi',
      client_id: 'proxy-cid-0001',
    };
    const first = await store.postMessage(draft);
    const again = await store.postMessage(draft);
    assert.equal(first.ok && again.ok && first.id === again.id, true, 'the resend answers the stored message');
    const refused = await store.postMessage({ ...draft, uid: 'eve', client_id: 'proxy-cid-0002' });
    assert.deepEqual(refused, { ok: false, error: 'not a member' });

    assert.equal(await value(metrics, 'chat_messages_stored_total'), 1);
    assert.equal(
      await value(metrics, 'chat_store_latency_seconds', { method: 'postMessage', outcome: 'ok', le: '+Inf' }),
      3,
    );
    // A call that throws is timed as an error.
    const broken = instrumentStore(
      Object.assign(Object.create(MemoryStore.prototype) as MemoryStore, {
        ping: () => Promise.reject(new Error('down')),
      }),
      metrics,
    );
    await assert.rejects(broken.ping(), /down/);
    assert.equal(
      await value(metrics, 'chat_store_latency_seconds', { method: 'ping', outcome: 'error', le: '+Inf' }),
      1,
    );
  });
});
