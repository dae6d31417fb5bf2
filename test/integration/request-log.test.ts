/**
 * Request logs: one JSON line per request with method, path (no query string), status,
 * duration, request id and the signed-in user's id — never headers or cookies — and Cloud
 * Logging's `severity`. Read from the real node's stdout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

type Line = Record<string, unknown>;

const ALLOWED = ['level', 'severity', 'time', 'pid', 'reqId', 'method', 'path', 'status', 'durationMs', 'uid', 'msg'];

function requestLines(output: string): Line[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.msg === 'request completed' || l.msg === 'request errored');
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('request logs', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('logs method, path, status, duration, request id and uid; no headers, no cookies', async () => {
    const ann = await login(server.url, 'log-ann');
    const res = await fetch(`${server.url}/chat/get_users?q=secret-search`, {
      headers: { cookie: ann.cookie, 'x-request-id': 'req-log-test-1', 'user-agent': 'log-test-agent' },
    });
    assert.equal(res.status, 200);
    const line = (): Line | undefined => requestLines(server.output()).find((l) => l.reqId === 'req-log-test-1');
    await until('the request line', () => line() !== undefined);
    const l = line()!;
    assert.equal(l.method, 'GET');
    assert.equal(l.path, '/chat/get_users', 'no query string');
    assert.equal(l.status, 200);
    assert.equal(typeof l.durationMs, 'number');
    assert.equal(l.uid, ann.uid);
    assert.equal(l.severity, 'INFO');
    for (const key of Object.keys(l)) assert.ok(ALLOWED.includes(key), `unexpected field ${key}`);
    const raw = JSON.stringify(l);
    for (const leak of ['cookie', 'headers', 'connect.sid', 'log-test-agent', 'secret-search'])
      assert.ok(!raw.toLowerCase().includes(leak), `${leak} in ${raw}`);

    const all = requestLines(server.output());
    const bytes = all.map((x) => Buffer.byteLength(JSON.stringify(x)) + 1);
    console.log(
      `[request-log] ${all.length} request lines, ${Math.round(bytes.reduce((a, b) => a + b, 0) / all.length)} bytes each on average, at most ${Math.max(...bytes)}`,
    );
    assert.ok(Math.max(...bytes) < 400, 'a request line stays short');
  });

  it('a signed-out request has no uid; a 404 is logged with its status', async () => {
    await fetch(`${server.url}/no-such-page`, { headers: { 'x-request-id': 'req-log-test-2' } });
    const line = (): Line | undefined => requestLines(server.output()).find((l) => l.reqId === 'req-log-test-2');
    await until('the 404 line', () => line() !== undefined);
    assert.equal(line()!.status, 404);
    assert.equal(line()!.uid, undefined);
  });
});
