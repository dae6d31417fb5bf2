/**
 * Redis mode keeps the chat across a server process restart: sessions, rooms and messages
 * survive, and a client that was away catches up with `history {after: last seen id}` exactly
 * once, in order. Also after a SIGKILL: an acknowledged message is already stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { connect } from '../helpers/client.js';
import {
  closeAll,
  expectExactly,
  fullHistory,
  group,
  history,
  openTab,
  received,
  send,
  signIn,
  uname,
} from '../helpers/contract.js';
import { cleanRedis, newPrefix, redisSkip, startServer, type TestServer } from '../helpers/server.js';

describe('restart (Redis)', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  let server: TestServer;
  let extra: TestServer | undefined;

  before(async () => {
    server = await startServer({ redis: true, prefix });
  });
  after(async () => {
    closeAll();
    await server?.stop();
    await extra?.stop();
    await cleanRedis(prefix);
  });

  test('messages survive a restart; an away client catches up after its last seen id exactly once', async () => {
    const a = await signIn(server.url, uname('stays'));
    const b = await signIn(server.url, uname('goes away'));
    const roomId = await group(a, 'Durable', [b]);
    const at = await openTab(a);
    const bt = await openTab(b);
    const first: string[] = [];
    for (let i = 0; i < 10; i++) first.push((await send(at.socket, roomId, `before ${i}`)).id);
    await expectExactly<Message>([bt], 'internal_msg', 10, () => true, { settleMs: 'marker' });
    const lastSeen = received(bt, roomId).at(-1)!.id;
    assert.equal(lastSeen, first.at(-1));
    bt.socket.close();
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push((await send(at.socket, roomId, `while away ${i}`)).id);
    const before = await fullHistory(at.socket, roomId);
    assert.equal(before.length, 16);

    const disconnected = new Promise<void>((resolve) => at.socket.once('disconnect', () => resolve()));
    await server.restart();
    await disconnected;

    // The sessions live in Redis: both cookies still work against the new process.
    const page = await fetch(`${server.url}/chat`, { headers: { cookie: a.cookie }, redirect: 'manual' });
    assert.equal(page.status, 200);
    assert.match(await page.text(), />while away 4</);
    const a2 = await openTab(a);
    assert.deepEqual(await fullHistory(a2.socket, roomId), before);
    // New messages continue after the old ones.
    const late = (await send(a2.socket, roomId, 'after restart')).id;

    const back = await openTab(b);
    const caughtUp = await history(back.socket, { room_id: roomId, after: lastSeen });
    assert.deepEqual(
      caughtUp.map((m) => m.id),
      [...missed, late],
    );
    assert.deepEqual(
      caughtUp.map((m) => m.msg),
      ['while away 0', 'while away 1', 'while away 2', 'while away 3', 'while away 4', 'after restart'],
    );
    // Paging on from the newest one seen gives nothing more, so nothing arrives twice.
    assert.deepEqual(await history(back.socket, { room_id: roomId, after: late }), []);
    // Live delivery resumes for the returning client.
    const next = (await send(a2.socket, roomId, 'welcome back')).id;
    await expectExactly<Message>([back], 'internal_msg', 1, (m) => m.id === next, { settleMs: 'marker' });
  });

  test('an acknowledged message survives a SIGKILL of its node', async () => {
    extra = await startServer({ redis: true, prefix });
    const a = await signIn(extra.url, uname('killed'));
    const roomId = await group(a, 'Killed', []);
    const socket = await connect(extra.url, a.cookie);
    const tab = { socket };
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await send(tab.socket, roomId, `k${i}`)).id);
    await extra.kill('SIGKILL');
    socket.close();
    // Read back through the other node, which never saw these messages in memory.
    const reader = await openTab(a, server.url);
    const stored = (await fullHistory(reader.socket, roomId)).filter((m) => m.type === 'user');
    assert.deepEqual(
      stored.map((m) => m.id),
      ids,
    );
    extra = undefined;
  });
});
