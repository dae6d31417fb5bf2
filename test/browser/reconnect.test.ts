/**
 * A dropped connection: the server (Redis mode, so the data outlives it) stops and restarts while
 * the page is open and offline; messages posted meanwhile — more than one history page — appear
 * after the reconnect exactly once, in order, and a message typed while offline is delivered once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { allIds, ApiUser, browserSkip, ChatPage, launchBrowser, post, screenshot } from '../helpers/browser.js';
import { cleanRedis, redisSkip, startServer, type TestServer } from '../helpers/server.js';

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

test('after a server restart the page recovers every missed message exactly once', { skip }, async () => {
  const ann = await ApiUser.signIn(server.url, `Ann ${run}`);
  const bob = await ChatPage.signIn(browser, server.url, `Bob ${run}`);
  const roomId = await ann.createChat(`Reconnect ${run}`, [await bob.uid]);
  await bob.conv(roomId).waitFor();
  await bob.open(roomId);

  let annSocket = await ann.connect();
  await post(annSocket, roomId, ['before 1', 'before 2', 'before 3']);
  await bob.msg(roomId, 'before 3').waitFor();
  annSocket.close();

  // The server goes away: the page says so and keeps trying.
  await server.stop();
  const banner = bob.page.getByTestId('connection-banner');
  await banner.waitFor({ state: 'visible' });
  await bob.context.setOffline(true);
  await screenshot(bob.page, 'reconnect-banner');

  // Typed while disconnected: shown as sending, delivered after the reconnect.
  await bob.send(roomId, 'typed while offline');
  const offline = bob.msg(roomId, 'typed while offline');
  assert.equal(await offline.getAttribute('data-state'), 'sending');

  // Back up (same data); others write 120 messages while the page cannot reconnect yet.
  await server.restart();
  annSocket = await ann.connect();
  const missed = Array.from({ length: 120 }, (_, i) => `missed ${i + 1}`);
  await post(annSocket, roomId, missed);

  await bob.context.setOffline(false);
  await banner.waitFor({ state: 'hidden', timeout: 20_000 });
  await bob.waitSynced(2);
  await bob
    .msg(roomId, 'missed 120')
    .waitFor({ timeout: 5000 })
    .catch(async (err: unknown) => {
      const texts = await bob.texts(roomId);
      const error = await bob.page.getByTestId('app-error').textContent();
      throw new Error(
        `missed messages not shown: ${texts.length} texts, last ${texts.slice(-3).join('|')}; error: ${error}; ${String(err)}`,
      );
    });
  await bob.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
  assert.equal(await offline.getAttribute('data-state'), null);

  // Exactly the server's history: every message once, in id order.
  await post(annSocket, roomId, ['after reconnect']);
  await bob.msg(roomId, 'after reconnect').waitFor();
  const expected = await allIds(annSocket, roomId);
  assert.deepEqual(await bob.messageIds(roomId), expected);
  const texts = await bob.texts(roomId);
  for (const t of [...missed, 'before 1', 'typed while offline', 'after reconnect']) {
    assert.equal(texts.filter((x) => x === t).length, 1, `"${t}" shown once`);
  }
  await bob
    .pane(roomId)
    .getByTestId('msg-scroll')
    .evaluate((el) => (el.scrollTop = el.scrollHeight));
  await screenshot(bob.page, 'reconnect-recovered');

  // And after a reload the server renders the same newest 50.
  await bob.reload();
  assert.deepEqual(await bob.messageIds(roomId), expected.slice(-50));
  assert.deepEqual(await bob.cspViolations(), []);
  assert.deepEqual(bob.dialogs, []);
  annSocket.close();
  await bob.close();
});
