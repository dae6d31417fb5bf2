/**
 * A user in 1,000 rooms: the page loads, reloads and reconnects after a server restart without a
 * single refused event (every frame the page receives is read), catching up in batched
 * `catch_up` events rather than a request per room, and shows what was posted meanwhile in
 * several rooms — including one with more than a catch-up page of new messages.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { allIds, ApiUser, browserSkip, ChatPage, launchBrowser, post, screenshot } from '../helpers/browser.js';
import { cleanRedis, redisSkip, startServer, type TestServer } from '../helpers/server.js';

const skip = browserSkip || redisSkip;
const run = Math.random().toString(36).slice(2, 7);
const ROOMS = 1000;

let server: TestServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  [server, browser] = await Promise.all([
    startServer({ redis: true, env: { RATE_LIMIT_COUNT: '100000' } }),
    launchBrowser(),
  ]);
});

after(async () => {
  if (skip) return;
  await browser?.close();
  await server?.stop();
  await cleanRedis(server.prefix);
});

/** Every Socket.IO frame the page sends and receives, from now on (including after reloads). */
function recordFrames(page: Page): { sent: string[]; received: string[] } {
  const frames = { sent: [] as string[], received: [] as string[] };
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => frames.sent.push(String(f.payload)));
    ws.on('framereceived', (f) => frames.received.push(String(f.payload)));
  });
  return frames;
}

const count = (frames: string[], needle: string): number => frames.filter((f) => f.includes(needle)).length;

test(
  `a user in ${ROOMS} rooms syncs with no refusal after a reload and a reconnect`,
  { skip, timeout: 240_000 },
  async () => {
    const ann = await ApiUser.signIn(server.url, `Ann many ${run}`);
    const bobName = `Bob many ${run}`;
    const bobUid = (await ApiUser.signIn(server.url, bobName)).uid;
    const rooms: string[] = new Array<string>(ROOMS);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < ROOMS; i = next++) rooms[i] = await ann.createChat(`Many ${i} ${run}`, [bobUid]);
      }),
    );

    const loadStart = Date.now();

    const bob = await ChatPage.signIn(browser, server.url, bobName);

    console.log(`${ROOMS} rooms: page loaded and synced in ${Date.now() - loadStart} ms`);
    const frames = recordFrames(bob.page);
    assert.equal(await bob.convs().count(), ROOMS);
    await bob.reload();
    assert.equal(await bob.convs().count(), ROOMS);
    // The load's catch-up: ten events of 100 rooms, not a request per room.
    assert.equal(count(frames.sent, '"catch_up"'), ROOMS / 100);
    assert.equal(count(frames.sent, '"history"'), 0);

    // The open room (the list's first) shows its news at once, without a badge: these are others.
    const open = await bob.page.locator('[data-testid="conv"].active').getAttribute('data-room-id');
    // (The list is newest activity first, so the open room is usually the last one made.)
    const picks = [0, 250, 499, 999].map((i) => (rooms[i] !== open ? i : i === ROOMS - 1 ? i - 1 : i + 1));

    // The server goes away; while the page cannot reconnect yet, Ann writes in four rooms.
    await server.stop();
    await bob.page.getByTestId('connection-banner').waitFor({ state: 'visible' });
    await bob.context.setOffline(true);
    await server.restart();
    const socket = await ann.connect();
    const [first, busy, middle, last] = picks as [number, number, number, number];
    const posted: Record<number, string[]> = {
      [first]: ['first room 1'],
      [middle]: ['middle room 1', 'middle room 2'],
      [last]: ['last room 1', 'last room 2', 'last room 3'],
      [busy]: Array.from({ length: 150 }, (_, i) => `busy room ${i + 1}`),
    };
    for (const [i, texts] of Object.entries(posted)) await post(socket, rooms[Number(i)]!, texts);
    frames.sent.length = 0;
    const offlineEnd = Date.now();
    await bob.context.setOffline(false);
    await bob.waitSynced(2);
    console.log(`${ROOMS} rooms: reconnected and caught up in ${Date.now() - offlineEnd} ms`);

    // Caught up: a badge with each room's count of new messages, and the messages in order.
    for (const [i, texts] of Object.entries(posted)) {
      const roomId = rooms[Number(i)]!;
      await bob
        .conv(roomId)
        .getByTestId('unread-badge')
        .filter({ hasText: String(texts.length) })
        .waitFor();
    }
    assert.equal(await bob.page.locator('[data-testid="unread-badge"]:visible').count(), 4, 'no other room has news');
    await bob.conv(rooms[busy]!).scrollIntoViewIfNeeded();
    await screenshot(bob.page, 'many-rooms-caught-up');
    for (const i of [last, busy]) {
      const roomId = rooms[i]!;
      await bob.open(roomId);
      await bob.msg(roomId, posted[i]!.at(-1)!).waitFor();
      // Loaded when opened (the newest page) on top of what catch-up brought: no gap, in order.
      const shown = await bob.messageIds(roomId);
      assert.ok(shown.length >= posted[i]!.length, `room ${i}: every new message shown`);
      assert.deepEqual(shown, (await allIds(socket, roomId)).slice(-shown.length), `room ${i} in order, no gap`);
    }
    // Ten catch_up events again, one history page for the room with 150 new messages (100 came
    // with its catch_up), one per room opened (the page loads a room's messages when it is
    // opened), and not one refusal in anything the page received.
    assert.equal(count(frames.sent, '"catch_up"'), ROOMS / 100);
    assert.equal(count(frames.sent, '"history"'), 3);
    assert.deepEqual(
      frames.received.filter((f) => f.includes('"ok":false')),
      [],
      'no event refused',
    );
    assert.equal(await bob.page.getByTestId('app-error').isVisible(), false, 'no "Could not sync"');
    assert.deepEqual(await bob.cspViolations(), []);
    socket.close();
    await bob.close();
  },
);
