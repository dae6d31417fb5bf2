/**
 * GET /metrics on a real node (the build, spawned), driven by real socket.io-client sockets:
 * a stored message and a refusal are counted, the sockets gauge follows connections, the
 * histograms have samples, every series names its node; and only loopback or the token may read
 * it. The non-loopback caller is real: the node listens on every interface and the test connects
 * to the machine's own non-loopback address, so the node sees that address as the peer. On a
 * machine without one that part skips (the decision itself is unit-tested in
 * test/unit/metrics-access.test.ts either way).
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ERRORS } from '../../src/shared/limits.js';
import { connect, createChat, emitAck, login, type ChatClient } from '../helpers/client.js';
import { cleanRedis, redisSkip, startServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'metrics-token-for-tests-0123456789abcdef';

/** The machine's first non-loopback IPv4 address, if it has one. */
const outside = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

/** The value of one series (`name` with every label in `labels`), or 0 when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return 0;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/metrics`, { headers });
  return { status: res.status, text: await res.text() };
}

async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('GET /metrics', { timeout: 60_000 }, () => {
  let server: TestServer;
  const sockets: ChatClient[] = [];

  before(async () => {
    server = await startServer({ redis: !redisSkip, env: { METRICS_TOKEN: TOKEN } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.stop();
    if (server) await cleanRedis(server.prefix);
  });

  it('counts a message sent through Socket.IO, a refusal, and the sockets; histograms have samples', async () => {
    const ann = await login(server.url, 'metrics-ann');
    const bob = await login(server.url, 'metrics-bob');
    const eve = await login(server.url, 'metrics-eve');
    const room = (await createChat(server.url, ann.cookie, 'metrics', [bob.uid])).body.room_id!;

    const before = (await scrape(server.url)).text;
    const socketsBefore = sample(before, 'chat_connected_sockets');
    const annSocket = await connect(server.url, ann.cookie);
    const eveSocket = await connect(server.url, eve.cookie);
    sockets.push(annSocket, eveSocket);
    await until('the gauge to count two more sockets', async () => {
      return sample((await scrape(server.url)).text, 'chat_connected_sockets') === socketsBefore + 2;
    });

    const sent = await emitAck(annSocket, 'text', { room_id: room, msg: 'counted once' });
    assert.equal(sent.ok, true);
    const refused = await emitAck(eveSocket, 'text', { room_id: room, msg: 'not mine to send' });
    assert.deepEqual(refused, { ok: false, error: ERRORS.notMember });

    const { status, text } = await scrape(server.url);
    assert.equal(status, 200);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(text, name, labels) - sample(before, name, labels);
    assert.equal(delta('chat_messages_stored_total'), 1, 'one message stored');
    assert.equal(delta('chat_events_total', { event: 'text', outcome: 'ok' }), 1);
    assert.equal(delta('chat_events_total', { event: 'text', outcome: 'refused' }), 1);
    assert.equal(delta('chat_events_refused_total', { event: 'text', reason: 'not a member' }), 1);
    assert.ok(delta('chat_ack_latency_seconds_count', { event: 'text' }) >= 2, 'both answers timed');
    assert.ok(delta('chat_ack_latency_seconds_sum', { event: 'text' }) > 0);
    assert.ok(delta('chat_store_latency_seconds_count', { method: 'postMessage', outcome: 'ok' }) >= 1);
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') >= 0);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds\{/m, 'event-loop lag from the default metrics');
    // Every series names its node (one registry per process, a default label).
    const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(series.length > 20);
    for (const line of series) assert.match(line, /node="[^"]+"/, line);

    eveSocket.close();
    await until('the gauge to drop by one', async () => {
      return sample((await scrape(server.url)).text, 'chat_connected_sockets') === socketsBefore + 1;
    });
  });

  it('answers 404 to a non-loopback caller without the right token, 200 with it', { skip: !outside }, async () => {
    const url = `http://${outside}:${server.port}`;
    const none = await scrape(url);
    assert.equal(none.status, 404, 'no token');
    assert.doesNotMatch(none.text, /chat_/);
    assert.equal((await scrape(url, { authorization: `Bearer ${TOKEN}x` })).status, 404, 'wrong token');
    assert.equal((await scrape(url, { authorization: TOKEN })).status, 404, 'not a bearer token');
    // The node trusts no proxy (TRUST_PROXY unset outside production): a forwarded address is ignored.
    assert.equal((await scrape(url, { 'x-forwarded-for': '127.0.0.1' })).status, 404, 'forged forwarded address');
    const ok = await scrape(url, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^chat_connected_sockets\{node="[^"]+"\} \d+$/m);
  });

  it('answers 200 to a loopback caller without a token, 404 to unknown routes as before', async () => {
    assert.equal((await scrape(server.url)).status, 200);
    assert.equal((await fetch(`${server.url}/metrics-nope`)).status, 404);
  });
});
