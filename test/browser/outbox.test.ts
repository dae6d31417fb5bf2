/**
 * The page's outbox against a real server (Redis mode, so data outlives a restart): messages
 * typed while the server is down go out once, in order, when it is back; a message pending at a
 * reload is sent once after it; a finally refused message offers Retry (same client_id, stored
 * once) and Discard (never stored, never shown again). The other side is a Node socket that
 * records every delivery, so a doubled delivery fails the test.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Message } from '../../src/shared/types.js';
import {
  allIds,
  ApiUser,
  browserSkip,
  ChatPage,
  closeSharedBrowser,
  post,
  screenshot,
  sharedBrowser,
  TestPages,
  type NodeSocket,
} from '../helpers/browser.js';
import { cleanRedis, redisSkip, startServer, type TestServer } from '../helpers/server.js';

const skip = browserSkip || redisSkip;
const run = Math.random().toString(36).slice(2, 7);
const PHONE = { width: 375, height: 740 };
const DESKTOP = { width: 1200, height: 800 };

/** Joins the user's rooms; returns every `internal_msg` the socket gets from then on, in arrival order. */
async function deliveries(socket: NodeSocket): Promise<Message[]> {
  const got: Message[] = [];
  socket.on('internal_msg', (m) => got.push(m));
  const res = await socket.timeout(5000).emitWithAck('joined', {});
  if (!res.ok) throw new Error(`joined refused: ${res.error}`);
  return got;
}

/** Waits until `marker` (sent after everything else by `socket`) has come back: what came before it is all. */
async function settle(socket: NodeSocket, roomId: string, got: Message[], marker: string): Promise<void> {
  await post(socket, roomId, [marker]);
  const end = Date.now() + 5000;
  while (!got.some((m) => m.msg === marker)) {
    if (Date.now() > end) throw new Error(`marker "${marker}" not delivered`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const textsOf = (got: Message[], prefix: string): string[] => got.map((m) => m.msg).filter((t) => t.startsWith(prefix));

after(closeSharedBrowser);

describe('the outbox across a server restart and a reload', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  // Console errors are expected here (the server goes away); each test looks at them itself.
  const pages = new TestPages(() => ({ browser, url: server.url }), { consoleErrors: true });

  before(async () => {
    [server, browser] = await Promise.all([
      startServer({ redis: true, env: { RATE_LIMIT_COUNT: '10000' } }),
      sharedBrowser(),
    ]);
  });
  after(async () => {
    await server?.stop();
    await cleanRedis(server.prefix);
  });
  afterEach(() => pages.done());

  /** Ann (a Node socket) and Bob (the page) in a room of their own, open on Bob's page. */
  async function pair(tag: string) {
    const ann = await ApiUser.signIn(server.url, `Ann ${tag} ${run}`);
    const bob = await pages.signIn(`Bob ${tag} ${run}`);
    const roomId = await ann.createChat(`Outbox ${tag} ${run}`, [await bob.uid]);
    await bob.conv(roomId).waitFor();
    await bob.open(roomId);
    return { ann, bob, roomId };
  }

  test('typed while the server is down: each delivered once, in order, on both sides', async () => {
    const { ann, bob, roomId } = await pair('offline');
    await server.stop();
    await bob.page.getByTestId('connection-banner').waitFor({ state: 'visible' });
    // Held offline while the server comes back, so Ann is listening before the page sends.
    await bob.context.setOffline(true);

    const typed = ['offline 1', 'offline 2', 'offline 3'];
    for (const t of typed) await bob.send(roomId, t);
    for (const t of typed) {
      const el = bob.msg(roomId, t);
      assert.equal(await el.getAttribute('data-state'), 'sending');
      assert.equal(await el.getByTestId('msg-status').textContent(), 'waiting for connection…');
    }
    await screenshot(bob.page, 'outbox-waiting-desktop');
    await bob.page.setViewportSize(PHONE);
    await screenshot(bob.page, 'outbox-waiting-phone');
    await bob.page.setViewportSize(DESKTOP);

    await server.restart();
    const socket = await ann.connect();
    const got = await deliveries(socket);
    await bob.context.setOffline(false);
    await bob.waitSynced(2);
    await bob.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
    await settle(socket, roomId, got, 'marker offline');

    assert.deepEqual(textsOf(got, 'offline '), typed, 'Ann got each once, in the order typed');
    assert.ok(
      got.filter((m) => m.msg.startsWith('offline ')).every((m) => m.client_id),
      'sent with client ids',
    );
    await bob.msg(roomId, 'marker offline').waitFor();
    assert.deepEqual(
      (await bob.texts(roomId)).filter((t) => t.startsWith('offline ')),
      typed,
      'Bob shows each once, in order',
    );
    const stored = await allIds(socket, roomId);
    assert.deepEqual(await bob.messageIds(roomId), stored, 'the page shows exactly the stored messages');
    assert.equal(await bob.page.evaluate(() => sessionStorage.length), 0, 'nothing left in the outbox');
    socket.close();
  });

  test('pending at a reload (made while the server is down): sent once after it', async () => {
    const { ann, bob, roomId } = await pair('reload');
    await server.stop();
    await bob.page.getByTestId('connection-banner').waitFor({ state: 'visible' });
    await bob.send(roomId, 'across the reload');
    await bob.msg(roomId, 'across the reload').waitFor();
    // The reload fails while the server is down; the tab's sessionStorage keeps the outbox.
    await bob.page.reload().catch(() => undefined);
    await server.restart();
    const socket = await ann.connect();
    const got = await deliveries(socket);
    await bob.page.goto(`${server.url}/chat`);
    await bob.waitSynced();
    await bob.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
    await settle(socket, roomId, got, 'marker reload');

    assert.deepEqual(textsOf(got, 'across the reload'), ['across the reload'], 'delivered once');
    await bob.msg(roomId, 'marker reload').waitFor();
    assert.equal((await bob.texts(roomId)).filter((t) => t === 'across the reload').length, 1, 'shown once');
    // Another reload: the server renders it once, and the outbox is empty.
    await bob.reload();
    assert.equal((await bob.texts(roomId)).filter((t) => t === 'across the reload').length, 1);
    assert.deepEqual(await bob.messageIds(roomId), (await allIds(socket, roomId)).slice(-50));
    assert.deepEqual(
      bob.problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)),
      [],
    );
    socket.close();
  });
});

describe('a finally refused message: Retry and Discard', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const WINDOW_MS = 3000;

  before(async () => {
    [server, browser] = await Promise.all([
      startServer({ redis: true, env: { RATE_LIMIT_COUNT: '2', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) } }),
      sharedBrowser(),
    ]);
  });
  after(async () => {
    await server?.stop();
    await cleanRedis(server.prefix);
  });

  test('Retry sends it once with the same client_id; Discard removes it for good', async () => {
    const ann = await ApiUser.signIn(server.url, `Ann refused ${run}`);
    const bob = await ChatPage.signIn(browser, server.url, `Bob refused ${run}`);
    const roomId = await ann.createChat(`Refused ${run}`, [await bob.uid]);
    await bob.conv(roomId).waitFor();
    await bob.open(roomId);
    const socket = await ann.connect();
    const got = await deliveries(socket);

    for (const t of ['one', 'two', 'three', 'four']) await bob.send(roomId, t);
    const three = bob.msg(roomId, 'three');
    const four = bob.msg(roomId, 'four');
    for (const el of [three, four]) {
      await el.getByTestId('msg-error').filter({ hasText: 'Not sent: rate limited' }).waitFor();
      assert.equal(await el.getAttribute('data-state'), 'failed');
      assert.equal(await el.getAttribute('data-msg-id'), null);
      await el.getByTestId('msg-retry').waitFor();
      await el.getByTestId('msg-discard').waitFor();
    }
    // "one" and "two" were stamped before "three" was refused: the window counts from before now.
    const windowFrom = Date.now();
    const clientId = await three.getAttribute('data-client-id');
    assert.match(clientId ?? '', /^[A-Za-z0-9_-]{8,64}$/);
    await screenshot(bob.page, 'outbox-failed-desktop');
    await bob.page.setViewportSize(PHONE);
    await screenshot(bob.page, 'outbox-failed-phone');
    await bob.page.setViewportSize(DESKTOP);
    // Refused means not stored: kept across a reload, still refused, nothing sent by reloading.
    await bob.reload();
    await bob.open(roomId);
    await three.getByTestId('msg-retry').waitFor();
    await four.getByTestId('msg-discard').waitFor();

    await four.getByTestId('msg-discard').click();
    await four.waitFor({ state: 'detached' });
    // Until "one" and "two" have left the window (however long the steps above took).
    await bob.page.waitForTimeout(Math.max(0, windowFrom + WINDOW_MS - Date.now()));
    await three.getByTestId('msg-retry').click();
    await bob.page.waitForFunction(() => document.querySelectorAll('[data-state]').length === 0);
    assert.equal(await three.getAttribute('data-client-id'), clientId, 'stored with the client_id it was refused with');
    assert.ok(await three.getAttribute('data-msg-id'));

    await bob.page.waitForTimeout(WINDOW_MS);
    await settle(socket, roomId, got, 'marker refused');
    assert.deepEqual(textsOf(got, ''), ['one', 'two', 'three', 'marker refused'], 'three once, four never');
    assert.equal(got.find((m) => m.msg === 'three')?.client_id, clientId);
    await bob.msg(roomId, 'marker refused').waitFor();
    await bob.reload();
    await bob.open(roomId);
    const texts = await bob.texts(roomId);
    assert.equal(texts.filter((t) => t === 'three').length, 1);
    assert.equal(texts.filter((t) => t === 'four').length, 0, 'a discarded message does not come back');
    assert.deepEqual(await bob.messageIds(roomId), await allIds(socket, roomId));
    // The toast never shows a stray "Error:" prefix (none was shown here at all).
    assert.equal(await bob.page.getByTestId('app-error').isVisible(), false);
    assert.deepEqual(await bob.cspViolations(), []);
    assert.deepEqual(bob.problems, []);
    socket.close();
    await bob.close();
  });
});
