/**
 * While the store does not answer, the routes that need it say so with 503 (try again), never
 * 500 — the page, sign-in, the people list, the session lookup behind them — and every answer,
 * health checks included, carries helmet's security headers. A private redis-server is stopped
 * for this, never the machine's shared one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { login } from '../helpers/client.js';
import { startPrivateRedis, redisServerSkip, type PrivateRedis } from '../helpers/redis-server.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy'];

describe('status codes while Redis is down', { skip: redisServerSkip, timeout: 60_000 }, () => {
  let redis: PrivateRedis;
  let server: InProcessServer;
  let cookie = '';

  before(async () => {
    redis = await startPrivateRedis();
    server = await startInProcess({ env: { REDIS_URL: redis.url, STORE_TIMEOUT_MS: '500' } });
    cookie = (await login(server.url, 'status-codes')).cookie;
  });
  after(async () => {
    await server?.stop();
    await redis?.destroy();
  });

  it('health answers carry the security headers', async () => {
    for (const route of ['/healthz', '/readyz']) {
      const res = await fetch(`${server.url}${route}`);
      assert.equal(res.status, 200);
      for (const h of SECURITY_HEADERS) assert.ok(res.headers.get(h), `${route}: ${h}`);
    }
  });

  it('GET /chat, POST /login, GET /chat/get_users and POST /chat/create_chat answer 503, not 500', async () => {
    await redis.stop();
    try {
      const answers: Record<string, number> = {};
      const chat = await fetch(`${server.url}/chat`, { headers: { cookie }, redirect: 'manual' });
      answers['GET /chat'] = chat.status;
      const users = await fetch(`${server.url}/chat/get_users`, { headers: { cookie } });
      answers['GET /chat/get_users'] = users.status;
      assert.deepEqual(await users.json(), { status: 'ERROR', error: 'service unavailable' });
      const signIn = await fetch(`${server.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.url },
        body: JSON.stringify({ name: 'while down' }),
        redirect: 'manual',
      });
      answers['POST /login'] = signIn.status;
      const create = await fetch(`${server.url}/chat/create_chat`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', origin: server.url },
        body: JSON.stringify({ room_name: 'x', users: [] }),
      });
      answers['POST /chat/create_chat'] = create.status;
      const health = await fetch(`${server.url}/healthz`);
      answers['GET /healthz'] = health.status;
      for (const h of SECURITY_HEADERS) assert.ok(health.headers.get(h), `healthz while down: ${h}`);
      assert.deepEqual(answers, {
        'GET /chat': 503,
        'GET /chat/get_users': 503,
        'POST /login': 503,
        'POST /chat/create_chat': 503,
        'GET /healthz': 503,
      });
    } finally {
      await redis.start();
    }
    // Back by itself: the same session works again.
    const end = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < end && status !== 200) {
      status = (await fetch(`${server.url}/chat`, { headers: { cookie }, redirect: 'manual' })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
  });
});
