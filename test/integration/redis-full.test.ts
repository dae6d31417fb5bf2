/**
 * Redis at `maxmemory` with `noeviction` (docs/deploy.md: it refuses writes rather than drop
 * state): nothing new is stored, and the chat says so with `service unavailable` (503 over HTTP),
 * never an internal error; the page still lists the user's rooms with their last messages and
 * unread counts (its scripts only read and say so, `#!lua flags=no-writes`). Once memory is free,
 * posting works again. A private redis-server, never the machine's shared one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { connect, createChat, emitAck, login, type ChatClient } from '../helpers/client.js';
import { postJson } from '../helpers/contract.js';
import { startPrivateRedis, redisServerSkip, type PrivateRedis } from '../helpers/redis-server.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

describe('Redis at maxmemory', { skip: redisServerSkip, timeout: 60_000 }, () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let server: InProcessServer;
  const tabs: ChatClient[] = [];

  before(async () => {
    redis = await startPrivateRedis({ appendonly: 'no', 'maxmemory-policy': 'noeviction' });
    admin = await redis.client();
    server = await startInProcess({ env: { REDIS_URL: redis.url, STORE_TIMEOUT_MS: '2000' } });
  });
  after(async () => {
    for (const t of tabs) t.close();
    admin?.disconnect();
    await server?.stop();
    await redis?.destroy();
  });

  it('the page still lists every room, writes answer service unavailable (503), and posting resumes once memory is free', async () => {
    const ann = await login(server.url, 'Full Ann');
    const bob = await login(server.url, 'Full Bob');
    const group = await createChat(server.url, ann.cookie, 'Full room', [bob.uid]);
    assert.equal(group.status, 200);
    const roomId = group.body.room_id!;
    const annTab = await connect(server.url, ann.cookie);
    const bobTab = await connect(server.url, bob.cookie);
    tabs.push(annTab, bobTab);
    for (const tab of tabs) assert.equal((await emitAck(tab, 'joined', {})).ok, true);
    assert.equal((await emitAck(annTab, 'text', { room_id: roomId, msg: 'before the memory ran out' })).ok, true);
    // Bob's message is unread for Ann; a direct conversation of Bob's she never opened has no
    // read mark (the page counts that one in a script of its own).
    assert.equal((await emitAck(bobTab, 'text', { room_id: roomId, msg: 'bob wrote last' })).ok, true);
    const direct = await postJson(server.url, '/chat/direct', { uid: ann.uid }, { cookie: bob.cookie });
    assert.equal(direct.status, 200, direct.text);
    const directId = (direct.json() as { room_id: string }).room_id;
    assert.equal((await emitAck(bobTab, 'text', { room_id: directId, msg: 'just to ann' })).ok, true);

    await admin.config('SET', 'maxmemory', '1');
    try {
      const page = await fetch(`${server.url}/chat`, { headers: { cookie: ann.cookie }, redirect: 'manual' });
      assert.equal(page.status, 200, 'GET /chat while Redis is full');
      const html = await page.text();
      for (const text of ['Full room', 'bob wrote last', 'just to ann'])
        assert.ok(html.includes(text), `the page lists "${text}"`);
      assert.equal(html.match(/class="unread-count">1</g)?.length, 2, 'one unread in each room (by n, and counted)');
      // Every socket event takes a token of the user's budget first, a write: refused the same way.
      assert.deepEqual(await emitAck(annTab, 'joined', {}), { ok: false, error: 'service unavailable' });
      assert.deepEqual(await emitAck(annTab, 'text', { room_id: roomId, msg: 'while full', client_id: 'full-0001' }), {
        ok: false,
        error: 'service unavailable',
      });
      const create = await createChat(server.url, ann.cookie, 'Another', []);
      assert.deepEqual(create, { status: 503, body: { status: 'ERROR', error: 'service unavailable' } });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    // The same client_id again (the page's retry): stored now, once.
    const retried = await emitAck<{ id: string }>(annTab, 'text', {
      room_id: roomId,
      msg: 'while full',
      client_id: 'full-0001',
    });
    assert.ok(retried.ok);
    const after = await emitAck<{ messages: { msg: string }[] }>(annTab, 'history', { room_id: roomId });
    assert.ok(after.ok);
    assert.equal(after.messages.filter((m) => m.msg === 'while full').length, 1);
  });
});
