/**
 * Start-up (issue 16): a node started while its Redis is down listens, answers 503, stays alive
 * while its clients retry, and becomes ready by itself when Redis comes up — then a sign-in, a
 * socket and a `text` work (the adapter, made only once its clients are ready, delivers the
 * message back). A port already in use stops the node with exit code 1 and one line naming the
 * port. Redis here is a private redis-server (the shared one is never stopped).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, createChat, emitAck, login, record, type ChatClient } from '../helpers/client.js';
import { redisServerSkip, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { root, startServer, type TestServer } from '../helpers/server.js';

async function get(url: string, accept = 'application/json'): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: { accept }, redirect: 'manual' });
  return { status: res.status, body: await res.text() };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('start-up with Redis down', { skip: redisServerSkip, timeout: 60_000 }, () => {
  let redis: PrivateRedis | undefined;
  let server: TestServer | undefined;
  let socket: ChatClient | undefined;
  after(async () => {
    socket?.close();
    await server?.stop();
    await redis?.destroy();
  });

  it('listens, answers 503 and stays alive; becomes ready by itself once Redis is up', async () => {
    redis = await startPrivateRedis();
    await redis.stop();
    server = await startServer({ env: { REDIS_URL: redis.url } });
    const s = server;

    assert.deepEqual(await get(`${s.url}/readyz`), { status: 503, body: '{"status":"starting"}' });
    assert.equal((await get(`${s.url}/healthz`)).status, 503);
    const page = await get(`${s.url}/login`, 'text/html');
    assert.equal(page.status, 503, 'other routes: 503 while starting');
    assert.equal((await get(`${s.url}/chat/get_users`)).body, '{"status":"ERROR","error":"service unavailable"}');
    // Several reconnect attempts of the store's client logged, and the process still there.
    const attempts = () => (s.output().match(/"role":"chat-store"[^\n]*"msg":"redis reconnecting"/g) ?? []).length;
    await until('three logged reconnect attempts', () => attempts() >= 3);
    assert.equal(s.proc.exitCode, null, `alive:\n${s.output().slice(-2000)}`);
    assert.equal((await get(`${s.url}/readyz`)).status, 503);

    await redis.start();
    await until('/readyz 200', async () => (await get(`${s.url}/readyz`)).status === 200);
    assert.equal((await get(`${s.url}/healthz`)).status, 200);

    const ann = await login(s.url, 'startup-ann');
    const bob = await login(s.url, 'startup-bob');
    const room = (await createChat(s.url, ann.cookie, 'after the outage', [bob.uid])).body.room_id!;
    socket = await connect(s.url, ann.cookie);
    const got = record(socket, 'internal_msg');
    assert.equal((await emitAck(socket, 'joined', {})).ok, true);
    const sent = await emitAck(socket, 'text', { room_id: room, msg: 'hello after start-up' });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    // Delivered through the Redis adapter: published by the store, received by this node's subscriber.
    await got.until(() => got.of('internal_msg').some((m) => m.msg === 'hello after start-up'), 5000, 'internal_msg');
    assert.equal(s.proc.exitCode, null);
  });
});

describe('start-up with the port in use', () => {
  it('exits 1 with one line on stderr naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const proc = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
        cwd: root,
        env: { ...process.env, PORT: String(port), REDIS_URL: '', NODE_ENV: 'test', LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
      assert.equal(code, 1);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line:\n${stderr}`);
      assert.match(lines[0]!, new RegExp(`port ${port}\\b.*in use`));
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    } finally {
      blocker.close();
    }
  });
});

describe('start-up with REDIS_URL and REDIS_CLUSTER_NODES both set (CONTRACT: a configuration error)', () => {
  it('exits 1 before listening, naming both variables, no stack trace', async () => {
    const proc = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        REDIS_URL: 'redis://127.0.0.1:6379/0',
        REDIS_CLUSTER_NODES: '127.0.0.1:7001',
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(out, /REDIS_URL and REDIS_CLUSTER_NODES are both set/);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(out, /listening/);
  });
});
