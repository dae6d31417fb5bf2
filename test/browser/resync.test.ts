/**
 * `resync`: the server node's adapter subscriber loses its Redis connection (killed with CLIENT
 * KILL, found among the node's own connections) while messages are posted. The node tells its
 * sockets to catch up; the page does so with `catch_up` on the same connection — no reconnect,
 * no `joined` — and ends with exactly the stored messages, each once, in order.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Redis } from 'ioredis';
import { allIds, ApiUser, browserSkip, ChatPage, launchBrowser, post } from '../helpers/browser.js';
import { cleanRedis, redisSkip, startServer, testRedisUrl, type TestServer } from '../helpers/server.js';

const skip = browserSkip || redisSkip;
const run = Math.random().toString(36).slice(2, 7);

let server: TestServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  [server, browser] = await Promise.all([
    startServer({ redis: true, env: { RATE_LIMIT_COUNT: '10000' } }),
    launchBrowser(),
  ]);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await server?.stop();
  await cleanRedis(server.prefix);
});

/** Local TCP ports of a process's sockets, from /proc (its socket inodes, looked up in the TCP tables). */
function localPorts(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const link = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  const ports = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[9] && inodes.has(f[9])) ports.add(String(parseInt(f[1]!.split(':')[1]!, 16)));
    }
  }
  return ports;
}

/** Kills the test server's own adapter subscriber connection (found by its local port among Redis's clients). */
async function killSubscriber(pid: number): Promise<void> {
  const ports = localPorts(pid);
  const redis = new Redis(testRedisUrl!);
  try {
    const clients = String(await redis.client('LIST')).split('\n');
    const sub = clients.find(
      (c) => c.includes('name=chat-adapter-sub') && ports.has(/addr=[^ ]*:(\d+) /.exec(c)?.[1] ?? ''),
    );
    const id = sub && /id=(\d+)/.exec(sub)?.[1];
    if (!id) throw new Error(`no adapter subscriber of pid ${pid} among ${clients.length} clients`);
    await redis.client('KILL', 'ID', id);
  } finally {
    redis.disconnect();
  }
}

test('after a resync the page catches up on the same connection, each message once', { skip }, async () => {
  const ann = await ApiUser.signIn(server.url, `Ann resync ${run}`);
  const bob = await ChatPage.signIn(browser, server.url, `Bob resync ${run}`);
  const roomId = await ann.createChat(`Resync ${run}`, [await bob.uid]);
  await bob.conv(roomId).waitFor();
  const sent: string[] = [];
  const received: string[] = [];
  bob.page.on('websocket', (ws) => {
    ws.on('framesent', (f) => sent.push(String(f.payload)));
    ws.on('framereceived', (f) => received.push(String(f.payload)));
  });
  await bob.reload();
  await bob.open(roomId);
  const socket = await ann.connect();
  await post(socket, roomId, ['before']);
  await bob.msg(roomId, 'before').waitFor();
  sent.length = 0;

  await killSubscriber(server.pid);
  const during = Array.from({ length: 20 }, (_, i) => `during ${i + 1}`);
  await post(socket, roomId, during);
  const end = Date.now() + 10_000;
  while (!received.some((f) => f.includes('"resync"'))) {
    if (Date.now() > end) throw new Error('no resync event reached the page');
    await new Promise((r) => setTimeout(r, 50));
  }
  await post(socket, roomId, ['after']);
  await bob.msg(roomId, 'after').waitFor();

  const live = during.filter((t) => received.some((f) => f.includes('"internal_msg"') && f.includes(`"${t}"`)));
  console.log(`resync: ${during.length - live.length} of ${during.length} messages missed live, recovered by catch_up`);
  assert.deepEqual(await bob.messageIds(roomId), await allIds(socket, roomId), 'exactly the stored messages, in order');
  const texts = await bob.texts(roomId);
  for (const t of ['before', ...during, 'after']) assert.equal(texts.filter((x) => x === t).length, 1, `"${t}" once`);
  assert.ok(
    sent.some((f) => f.includes('"catch_up"')),
    'caught up with catch_up',
  );
  assert.equal(sent.filter((f) => f.includes('"joined"')).length, 0, 'no joined: the connection stayed');
  assert.equal(await bob.page.getByTestId('chat-app').getAttribute('data-synced'), '1', 'no reconnect');
  assert.equal(await bob.page.getByTestId('connection-banner').isVisible(), false);
  socket.close();
  await bob.close();
});
