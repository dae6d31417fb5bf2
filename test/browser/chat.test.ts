/**
 * The chat page in headless Chromium against a real server (in-process store): live chat between
 * two browsers, groups, random rooms, exit, scroll-back, XSS payloads, a refused message and the
 * phone layout. Every page must finish with no CSP violation, console error or dialog.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  ApiUser,
  browserSkip,
  ChatPage,
  closeSharedBrowser,
  post,
  screenshot,
  sharedBrowser,
  TestPages,
} from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const run = Math.random().toString(36).slice(2, 7);
const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_IMG = '<img src=x onerror=alert(1)>';

after(closeSharedBrowser);

describe('chat page', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  const pages = new TestPages(() => ({ browser, url: server.url }));
  const signIn = pages.signIn.bind(pages);

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { RATE_LIMIT_COUNT: '10000' } }), sharedBrowser()]);
  });

  after(async () => {
    await server?.stop();
  });

  afterEach(() => pages.done());

  test('two users chat live in a group made through the New chat dialog', async () => {
    const bob = await signIn(`Bob ${run}`, { course: 'Physics' });
    const ann = await signIn(`Ann ${run}`);
    await screenshot(ann.page, 'chat-empty');

    const roomName = `Study group ${run}`;
    const roomId = await ann.createChat(roomName, [`Bob ${run}`], 'new-chat-modal');
    // Bob gets the tab without reloading.
    await bob.conv(roomId).waitFor();
    assert.equal(await bob.page.getByTestId('conv-name').filter({ hasText: roomName }).count(), 1);
    await bob.open(roomId);
    // The pane the browser rendered (room_added) knows the room has no older messages to load.
    await bob.pane(roomId).getByTestId('history-start').waitFor();
    assert.equal(await bob.pane(roomId).getByTestId('load-older').isVisible(), false);

    await ann.send(roomId, 'Hello Bob');
    // Own message on the right; it leaves the "sending" state once acknowledged.
    const own = ann.messages(roomId).filter({ hasText: 'Hello Bob' });
    await own.waitFor();
    assert.equal(await own.getAttribute('data-kind'), 'own');
    await ann.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
    // Bob sees it on the left with Ann's name and a localised time.
    const theirs = bob.messages(roomId).filter({ hasText: 'Hello Bob' });
    await theirs.waitFor();
    assert.equal(await theirs.getAttribute('data-kind'), 'ext');
    assert.equal(await theirs.getByTestId('msg-name').textContent(), `Ann ${run}`);
    assert.equal(await theirs.getByTestId('msg-time').getAttribute('data-local'), '1');

    // A burst: every message once on both pages, in the order sent, whether each one's
    // internal_msg came before or after its acknowledgement.
    const burst = ['quick 1', 'quick 2', 'quick 3', 'quick 4', 'quick 5'];
    for (const t of burst) await ann.send(roomId, t);
    await ann.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
    await bob.msg(roomId, 'quick 5').waitFor();
    for (const p of [ann, bob]) {
      const texts = (await p.texts(roomId)).filter((t) => t.startsWith('quick '));
      assert.deepEqual(texts, burst);
    }

    // Typing: Bob types, Ann sees "… is typing".
    await bob.pane(roomId).getByTestId('msg-input').pressSequentially('Hi', { delay: 20 });
    await ann
      .pane(roomId)
      .getByTestId('typing')
      .filter({ hasText: `Bob ${run} is typing` })
      .waitFor();
    await bob.pane(roomId).getByTestId('msg-input').press('Enter');
    await ann.msg(roomId, 'Hi').waitFor();
    // The indicator goes once the message arrives.
    await ann.pane(roomId).getByTestId('typing').filter({ hasText: /^$/ }).waitFor();

    // Order and uniqueness: both pages show the same ids, increasing, once each.
    await bob.messages(roomId).filter({ hasText: 'Hello Bob' }).waitFor();
    const annIds = await ann.messageIds(roomId);
    assert.deepEqual(await bob.messageIds(roomId), annIds);
    assert.equal(new Set(annIds).size, annIds.length);

    // Unread badge: Ann looks at another room while Bob writes.
    // (A chat needs someone else in it: nobody ticked is refused.)
    const other = await ann.createChat(`Elsewhere ${run}`, [`Bob ${run}`]);
    assert.equal(await ann.pane(other).isVisible(), true);
    await bob.send(roomId, 'Are you there?');
    const badge = ann.conv(roomId).getByTestId('unread-badge');
    await badge.filter({ hasText: '1' }).waitFor();
    // The list previews the newest message as the server renders it ("<name>: <text>"): for Ann
    // from the live internal_msg, for Bob from his own message once acknowledged.
    for (const p of [ann, bob]) {
      const preview = p.conv(roomId).getByTestId('conv-last');
      await preview.filter({ hasText: `Bob ${run}: Are you there?` }).waitFor();
      assert.equal(await preview.textContent(), `Bob ${run}: Are you there?`);
    }
    await screenshot(ann.page, 'chat-unread');
    await ann.open(roomId);
    await badge.waitFor({ state: 'hidden' });
    // One pane at a time.
    assert.equal(await ann.pane(other).isVisible(), false);
    assert.equal(await ann.page.locator('[data-testid="pane"]:visible').count(), 1);
    await screenshot(ann.page, 'chat-live-ann');
    await screenshot(bob.page, 'chat-live-bob');

    // Keyboard: arrows move between rooms in the list, Enter in the box sends.
    await ann.conv(roomId).focus();
    await ann.page.keyboard.press('ArrowDown');
    assert.equal(await ann.pane(other).isVisible(), true);
    assert.equal(await ann.pane(roomId).isVisible(), false);
    await ann.page.keyboard.press('ArrowUp');
    assert.equal(await ann.pane(roomId).isVisible(), true);
    assert.equal(await ann.pane(other).isVisible(), false);

    // After a reload the server renders the same messages.
    await bob.reload();
    assert.deepEqual(await bob.messageIds(roomId), await ann.messageIds(roomId));
  });

  test('random rooms: a third user joins, exit removes the tab here and in other tabs', async () => {
    const names = [`Cy ${run}`, `Di ${run}`, `Ed ${run}`];
    const [cy, di, ed] = [await signIn(names[0]!), await signIn(names[1]!), await signIn(names[2]!)];
    const roomId = await cy.joinRandom();
    assert.match(roomId, /^Random_\d+$/);
    // While in a random room the button is hidden.
    await cy.page.getByTestId('random-chat').waitFor({ state: 'hidden' });
    assert.equal(await di.joinRandom(), roomId);
    await cy
      .messages(roomId)
      .filter({ hasText: `${names[1]} has entered the room.` })
      .waitFor();

    await cy.send(roomId, 'Welcome!');
    await di.messages(roomId).filter({ hasText: 'Welcome!' }).waitFor();
    assert.equal(await ed.joinRandom(), roomId);
    // Ed's pane shows the history he joined into.
    await ed.messages(roomId).filter({ hasText: 'Welcome!' }).waitFor();
    await cy
      .messages(roomId)
      .filter({ hasText: `${names[2]} has entered the room.` })
      .waitFor();
    await di
      .messages(roomId)
      .filter({ hasText: `${names[2]} has entered the room.` })
      .waitFor();
    await ed.send(roomId, 'Hi all');
    await cy.messages(roomId).filter({ hasText: 'Hi all' }).waitFor();
    await screenshot(cy.page, 'random-room');

    // A second tab of Di's: exiting in one removes the room in the other (room_removed).
    const diTab2 = await di.context.newPage();
    await diTab2.goto(`${server.url}/chat`);
    await diTab2.waitForFunction(() => Number(document.getElementById('chat-app')?.dataset.synced ?? 0) >= 1);
    await diTab2.locator(`[data-testid="conv"][data-room-id="${roomId}"]`).waitFor();
    await di.exit(roomId);
    await diTab2.locator(`[data-testid="conv"][data-room-id="${roomId}"]`).waitFor({ state: 'detached' });
    await di.page.getByTestId('random-chat').waitFor({ state: 'visible' });
    await diTab2.getByTestId('random-chat').waitFor({ state: 'visible' });
    await cy
      .messages(roomId)
      .filter({ hasText: `${names[1]} has left the room.` })
      .waitFor();
    await screenshot(di.page, 'after-exit');
    await screenshot(cy.page, 'exit-notice');
    await diTab2.close();
  });

  test('scrolling up loads older messages and keeps the view in place', async () => {
    const poster = await ApiUser.signIn(server.url, `Poster ${run}`);
    const reader = await ApiUser.signIn(server.url, `Reader ${run}`);
    const roomId = await poster.createChat(`Long ${run}`, [reader.uid]);
    const socket = await poster.connect();
    const texts = Array.from({ length: 75 }, (_, i) => `old message ${i + 1}`);
    const ids = await post(socket, roomId, texts);
    socket.close();

    const page = await signIn(`Reader ${run}`);
    await page.open(roomId);
    // The page loads the newest 50 when the room is opened (the server renders only the first room's).
    await page.msg(roomId, 'old message 75').waitFor();
    assert.equal(await page.messages(roomId).count(), 50);
    assert.deepEqual((await page.messageIds(roomId)).slice(-50), ids.slice(-50));
    const scroller = page.pane(roomId).getByTestId('msg-scroll');
    const anchor = page.msg(roomId, 'old message 26');
    await scroller.evaluate((el) => (el.scrollTop = 0));
    await page.msg(roomId, 'old message 1').waitFor({ state: 'attached' });
    await page.pane(roomId).getByTestId('history-start').waitFor({ state: 'visible' });
    // 75 messages plus the room's opening notice, each once, in id order.
    const shown = await page.messageIds(roomId);
    assert.equal(shown.length, 76);
    assert.deepEqual(shown.slice(1), ids);
    // The message that was at the top stays in view instead of jumping away.
    const box = await anchor.boundingBox();
    const frame = await scroller.boundingBox();
    assert.ok(box && frame && box.y >= frame.y - 5 && box.y < frame.y + frame.height, 'old top message still visible');
    await screenshot(page.page, 'scroll-back');
  });

  test('markup in names, room names and messages is shown as text', async () => {
    const evil = await signIn(`${XSS_IMG}${run}`);
    const victim = await signIn(`Victim ${run}`);
    const roomId = await evil.createChat(`${XSS_SCRIPT}${run}`, [`Victim ${run}`]);
    await victim.conv(roomId).waitFor();
    await victim.open(roomId);
    await evil.send(roomId, XSS_SCRIPT);
    await evil.send(roomId, XSS_IMG);
    await victim.msg(roomId, XSS_IMG).waitFor();
    assert.deepEqual((await victim.texts(roomId)).slice(-2), [XSS_SCRIPT, XSS_IMG]);
    assert.equal(await victim.conv(roomId).getByTestId('conv-name').textContent(), `${XSS_SCRIPT}${run}`);
    assert.equal(await victim.messages(roomId).last().getByTestId('msg-name').textContent(), `${XSS_IMG}${run}`);
    // Nothing was parsed as markup: no stray <img src=x> or <script> inside the panes.
    for (const p of [evil, victim]) {
      assert.equal(
        await p.page.locator('[data-testid="panes"] img[src="x"], [data-testid="conv-list"] img[src="x"]').count(),
        0,
      );
      assert.equal(await p.page.locator('[data-testid="panes"] script').count(), 0);
    }
    // The dialog lists the name as text too.
    await victim.openNewChat();
    await victim.page
      .getByTestId('user-name')
      .filter({ hasText: `${XSS_IMG}${run}` })
      .waitFor();
    await screenshot(victim.page, 'xss-dialog');
    await victim.page.keyboard.press('Escape');
    await victim.page.getByTestId('new-chat-modal').waitFor({ state: 'hidden' });
    // And after a reload, rendered by the server.
    await victim.reload();
    await victim.open(roomId);
    assert.deepEqual((await victim.texts(roomId)).slice(-2), [XSS_SCRIPT, XSS_IMG]);
    await screenshot(victim.page, 'xss');
    await victim.page.waitForTimeout(300);
    assert.deepEqual(victim.dialogs, []);
  });

  test('phone layout: the list and a room take turns on a 375x740 screen', async () => {
    const friend = await ApiUser.signIn(server.url, `Friend ${run}`);
    const phone = await signIn(`Phone ${run}`, { viewport: { width: 375, height: 740 } });
    const roomId = await friend.createChat(`Pocket ${run}`, [await phone.uid]);
    await phone.conv(roomId).waitFor();
    assert.equal(await phone.pane(roomId).isVisible(), false);
    await screenshot(phone.page, 'phone-list');
    await phone.open(roomId);
    await phone.pane(roomId).waitFor({ state: 'visible' });
    assert.equal(await phone.page.getByTestId('conv-list').isVisible(), false);
    await phone.send(roomId, 'From my phone');
    await phone.messages(roomId).filter({ hasText: 'From my phone' }).waitFor();
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `no sideways scrolling (${width}px)`);
    await screenshot(phone.page, 'phone-room');
    await phone.pane(roomId).getByTestId('back').click();
    await phone.page.getByTestId('conv-list').waitFor({ state: 'visible' });
    assert.equal(await phone.pane(roomId).isVisible(), false);
  });
});

describe('a refused message', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { RATE_LIMIT_COUNT: '2' } }), sharedBrowser()]);
  });
  after(async () => {
    await server?.stop();
  });

  test('shows the reason on the message', async () => {
    const page = await ChatPage.signIn(browser, server.url, `Quick ${run}`);
    const roomId = await page.joinRandom();
    for (const t of ['one', 'two', 'three']) await page.send(roomId, t);
    const failed = page.messages(roomId).filter({ hasText: 'three' });
    await failed.getByTestId('msg-error').filter({ hasText: 'Not sent: rate limited' }).waitFor();
    assert.equal(await failed.getAttribute('data-state'), 'failed');
    assert.equal(await failed.getAttribute('data-msg-id'), null);
    assert.equal((await page.messageIds(roomId)).length >= 2, true);
    await screenshot(page.page, 'message-refused');
    assert.deepEqual(await page.cspViolations(), []);

    // Signing out is a same-origin form POST; back at the form, bad input is explained.
    await page.page.getByTestId('logout').click();
    await page.page.waitForURL(`${server.url}/login`);
    await page.page.getByTestId('login-name').fill('   ');
    await page.page.getByTestId('login-submit').click();
    await page.page.getByTestId('login-error').waitFor();
    await screenshot(page.page, 'login-error');
    assert.deepEqual(await page.cspViolations(), []);
    await page.close();
  });
});
