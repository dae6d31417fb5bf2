/**
 * Who is here, in headless Chromium against a real server (in-process store): the members panel
 * (members with online state and the count, kept current, Esc closes it and focus goes back),
 * presence dots turning on and off as another user's socket comes and goes, direct messages both
 * ways between two browsers, the New chat people search on the server (by prefix, with online
 * state, never the whole directory), and random rooms' friendly names. Screenshots of the members
 * panel, a direct conversation and the people search in all four variants go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  ApiUser,
  browserSkip,
  type ChatPage,
  closeSharedBrowser,
  post,
  screenshots,
  settled,
  sharedBrowser,
  TestPages,
  LAYOUTS,
} from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const run = Math.random().toString(36).slice(2, 7);
/** The contract's bounds: online within 2 s of connecting, offline within 30 s of leaving. */
const ONLINE_WITHIN_MS = 2_000 + 3_000;
const OFFLINE_WITHIN_MS = 30_000;

async function direct(user: ApiUser, uid: string): Promise<{ room_id: string; room_name: string }> {
  const res = await fetch(`${user.baseUrl}/chat/direct`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', cookie: user.cookie, Origin: user.baseUrl },
    body: JSON.stringify({ uid }),
  });
  const body = (await res.json()) as { status: string; room_id: string; room_name: string };
  if (body.status !== 'OK') throw new Error(`direct: ${JSON.stringify(body)}`);
  return body;
}

/** Opens the room's members panel; resolves once it has focus (Bootstrap has finished opening it). */
async function openMembers(chat: ChatPage, roomId: string): Promise<void> {
  await chat.pane(roomId).getByTestId('members').click();
  await chat.page.waitForFunction(() => document.getElementById('members-panel')?.contains(document.activeElement));
}

after(closeSharedBrowser);

describe('people: members, presence, direct messages, search', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  const pages = new TestPages(() => ({ browser, url: server.url }));
  const signIn = pages.signIn.bind(pages);

  before(async () => {
    // Each kept even when the other fails, so `after` stops the server (a hook failure must not leave it running).
    const [s, b] = await Promise.allSettled([startServer({ env: { RATE_LIMIT_COUNT: '10000' } }), sharedBrowser()]);
    if (s.status === 'fulfilled') server = s.value;
    if (b.status === 'fulfilled') browser = b.value;
    for (const r of [s, b]) if (r.status === 'rejected') throw r.reason;
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(() => pages.done());

  test('a presence dot turns on when another user connects and off after they leave (within the contract)', async () => {
    const ann = await signIn(`Ann dot ${run}`);
    const ben = await ApiUser.signIn(server.url, `Ben dot ${run}`);
    // Ben starts the direct conversation without a socket: offline.
    const room = await direct(ben, await ann.uid);
    const conv = `[data-testid="conv"][data-room-id="${room.room_id}"]`;
    await ann.conv(room.room_id).waitFor();
    assert.equal(await ann.conv(room.room_id).getByTestId('conv-name').textContent(), `Ben dot ${run}`);
    await ann.page.locator(`${conv} [data-testid="presence"][data-online="false"]`).waitFor();
    assert.equal(await ann.conv(room.room_id).getByTestId('presence-text').textContent(), ', offline');
    // After a reload too: the page asks who each direct conversation is with once it is connected.
    await ann.reload();
    await ann.page.locator(`${conv} [data-testid="presence"][data-online="false"]`).waitFor();

    const socket = await ben.connect();
    let started = Date.now();
    await ann.page
      .locator(`${conv} [data-testid="presence"][data-online="true"]`)
      .waitFor({ timeout: ONLINE_WITHIN_MS });
    const onlineMs = Date.now() - started;
    assert.equal(await ann.conv(room.room_id).getByTestId('presence-text').textContent(), ', online');

    socket.close();
    started = Date.now();
    await ann.page
      .locator(`${conv} [data-testid="presence"][data-online="false"]`)
      .waitFor({ timeout: OFFLINE_WITHIN_MS });
    const offlineMs = Date.now() - started;
    console.log(`presence dot: online after ${onlineMs} ms, offline after ${offlineMs} ms`);
    assert.ok(offlineMs >= 4_000, `not offline within the 5 s return grace (${offlineMs} ms)`);
  });

  test('a direct message both ways: A messages B from New chat; B sees it named after A and answers', async () => {
    const ann = await signIn(`Ann dm ${run}`);
    const bob = await signIn(`Bob dm ${run}`);
    const modal = await ann.openNewChat();
    await modal.getByTestId('new-chat-search').fill(`Bob dm ${run}`);
    const entry = modal.getByTestId('user-entry').filter({ hasText: `Bob dm ${run}` });
    await entry.getByTestId('user-message').click();
    await modal.waitFor({ state: 'hidden' });
    const conv = ann.page.locator('[data-testid="conv"][data-kind="direct"]');
    await conv.waitFor();
    const roomId = (await conv.getAttribute('data-room-id')) ?? '';
    assert.equal(await conv.getByTestId('conv-name').textContent(), `Bob dm ${run}`);
    assert.equal(await ann.pane(roomId).getByTestId('pane-title').textContent(), `Bob dm ${run}`);
    // Focus in the new conversation's box, ready to write.
    await ann.page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'msg-input');
    // Bob is online (his page is open): the dot says so.
    await ann.page.locator(`[data-room-id="${roomId}"] [data-testid="presence"][data-online="true"]`).waitFor();

    await ann.send(roomId, 'Hi Bob, just you and me');
    await bob.conv(roomId).waitFor();
    assert.equal(await bob.conv(roomId).getByTestId('conv-name').textContent(), `Ann dm ${run}`);
    await bob.open(roomId);
    await bob.msg(roomId, 'Hi Bob, just you and me').waitFor();
    assert.equal(await bob.pane(roomId).getByTestId('pane-title').textContent(), `Ann dm ${run}`);
    await bob.send(roomId, 'Hi Ann!');
    await ann.msg(roomId, 'Hi Ann!').waitFor();

    // Message again, from Bob's side through the members panel: the same room, not a new one.
    await openMembers(bob, roomId);
    const panel = bob.page.getByTestId('members-panel');
    await panel
      .getByTestId('member')
      .filter({ hasText: `Ann dm ${run}` })
      .getByTestId('member-message')
      .click();
    await panel.waitFor({ state: 'hidden' });
    assert.equal(await bob.page.locator('[data-testid="conv"][data-kind="direct"]').count(), 1);
    assert.equal(await ann.page.locator('[data-testid="conv"][data-kind="direct"]').count(), 1);
  });

  test('people search asks the server by prefix (never the whole directory) and shows who is online', async () => {
    const tag = `Sx${run}`;
    const ann = await signIn(`Ann ${tag}`);
    const online = await ApiUser.signIn(server.url, `Quinn ${tag} On`);
    await ApiUser.signIn(server.url, `Quinn ${tag} Off`);
    const socket = await online.connect();
    const asked: string[] = [];
    ann.page.on('request', (r) => {
      if (r.url().includes('/chat/get_users')) asked.push(r.url());
    });
    try {
      const modal = await ann.openNewChat();
      await modal.getByTestId('new-chat-search').pressSequentially(`quinn ${tag.toLowerCase()}`, { delay: 20 });
      const entries = modal.getByTestId('user-entry');
      await ann.page.waitForFunction(
        () => document.querySelectorAll('[data-testid="user-entry"]').length === 2,
        undefined,
        { timeout: 5000 },
      );
      const on = entries.filter({ hasText: `Quinn ${tag} On` });
      const off = entries.filter({ hasText: `Quinn ${tag} Off` });
      assert.equal(await on.getByTestId('presence').getAttribute('data-online'), 'true');
      assert.equal(await on.getByTestId('presence-text').textContent(), ', online');
      assert.equal(await off.getByTestId('presence').getAttribute('data-online'), 'false');
      assert.match(
        (await modal.getByTestId('new-chat-status').textContent()) ?? '',
        /^2 people whose name starts with/,
      );
      // Every request is a prefix search with a limit; typing was debounced (fewer requests than keys).
      assert.ok(asked.length > 0);
      for (const u of asked) {
        const params = new URL(u).searchParams;
        assert.ok(params.has('q'), `asked without q: ${u}`);
        assert.equal(params.get('limit'), '50');
      }
      assert.ok(asked.length < `quinn ${tag}`.length, `${asked.length} requests for ${`quinn ${tag}`.length} keys`);
      // Ticked people stay ticked, and listed, across searches.
      await on.getByTestId('user-check').check();
      await modal.getByTestId('new-chat-search').fill(`Ann ${tag}`);
      await ann.page.getByTestId('new-chat-status').filter({ hasText: 'Nobody' }).waitFor();
      assert.equal(await modal.locator('[data-testid="user-check"]:checked').count(), 1);
      await modal.getByTestId('new-chat-search').fill('zzz-nobody');
      await ann.page.getByTestId('new-chat-status').filter({ hasText: 'zzz-nobody' }).waitFor();
      assert.equal(await entries.count(), 1, 'the ticked person stays listed');
    } finally {
      socket.close();
    }
  });

  test('markup in names is text in the members panel and the people search', async () => {
    const xss = `<img src=x onerror=alert(1)> ${run}`;
    const ann = await signIn(`Ann xss ${run}`);
    const bad = await ApiUser.signIn(server.url, xss);
    const roomId = await bad.createChat(`<b>bold</b> ${run}`, [await ann.uid]);
    await ann.conv(roomId).waitFor();
    await ann.open(roomId);
    await openMembers(ann, roomId);
    const panel = ann.page.getByTestId('members-panel');
    await panel.getByTestId('members-count').filter({ hasText: '2 members' }).waitFor();
    assert.equal(await panel.getByTestId('members-room').textContent(), `<b>bold</b> ${run}`);
    assert.equal(await panel.getByTestId('member-name').filter({ hasText: xss }).count(), 1);
    assert.equal(await panel.getByTestId('member-message').getAttribute('aria-label'), `Message ${xss}`);
    await ann.page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    const modal = await ann.openNewChat();
    await modal.getByTestId('new-chat-search').fill('<img');
    await modal.getByTestId('user-name').filter({ hasText: xss }).waitFor();
    assert.equal(await ann.page.locator('img[src="x"]').count(), 0, 'no element made from a name');
  });

  test('a random room shows as "Random chat N" in the list and header, rendered by the browser and the server', async () => {
    const ann = await signIn(`Ann rnd ${run}`);
    const roomId = await ann.joinRandom();
    const n = /^Random_(\d+)$/.exec(roomId)?.[1];
    assert.ok(n, roomId);
    await ann
      .pane(roomId)
      .getByTestId('pane-title')
      .filter({ hasText: `Random chat ${n}` })
      .waitFor();
    assert.equal(await ann.conv(roomId).getByTestId('conv-name').textContent(), `Random chat ${n}`);
    assert.equal(await ann.pane(roomId).getByTestId('exit').getAttribute('aria-label'), `Exit Random chat ${n}`);
    await ann.reload();
    assert.equal(await ann.conv(roomId).getByTestId('conv-name').textContent(), `Random chat ${n}`);
    await ann.open(roomId);
    assert.equal(await ann.pane(roomId).getByTestId('pane-title').textContent(), `Random chat ${n}`);
    assert.equal(await ann.conv(roomId).getAttribute('data-room-id'), roomId, 'the id stays Random_<n>');
  });

  for (const v of LAYOUTS) {
    test(`${v.name}: members panel (count, online state, kept current, Esc), a direct conversation, people search`, async () => {
      const opts = { viewport: v.viewport, colorScheme: v.colorScheme } as const;
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const mia = await signIn(`Mia ${tag}`, opts);
      const ned = await ApiUser.signIn(server.url, `Ned ${tag}`);
      const ola = await ApiUser.signIn(server.url, `Ola ${tag}`);
      const pia = await ApiUser.signIn(server.url, `Pia ${tag}`);
      const nedSocket = await ned.connect();
      let piaSocket: Awaited<ReturnType<ApiUser['connect']>> | undefined;
      try {
        const roomId = await ned.createChat(`Team ${tag}`, [await mia.uid, ola.uid, pia.uid]);
        await mia.conv(roomId).waitFor({ state: 'attached' });
        await mia.open(roomId);
        await post(nedSocket, roomId, ['Who is around today?']);
        await mia.msg(roomId, 'Who is around today?').waitFor();

        await openMembers(mia, roomId);
        const panel = mia.page.getByTestId('members-panel');
        await panel.waitFor();
        const count = panel.getByTestId('members-count');
        await count.filter({ hasText: '4 members, 2 online' }).waitFor();
        const members = panel.getByTestId('member');
        assert.deepEqual(await members.getByTestId('member-name').allTextContents(), [
          `Mia ${tag}`,
          `Ned ${tag}`,
          `Ola ${tag}`,
          `Pia ${tag}`,
        ]);
        assert.deepEqual(
          await members.getByTestId('presence').evaluateAll((els) => els.map((e) => e.getAttribute('data-online'))),
          ['true', 'true', 'false', 'false'],
        );
        assert.equal(await members.first().getByTestId('member-message').count(), 0, 'no Message on oneself');
        assert.equal(await panel.getAttribute('aria-modal'), 'true');
        // Pia comes online while the panel is open: the count and her dot follow.
        piaSocket = await pia.connect();
        await count.filter({ hasText: '4 members, 3 online' }).waitFor({ timeout: ONLINE_WITHIN_MS });
        await panel
          .getByTestId('member')
          .filter({ hasText: `Pia ${tag}` })
          .locator('[data-testid="presence"][data-online="true"]')
          .waitFor();
        await settled(mia.page);
        await screenshots(mia.page, `people-members-${v.name}`);
        // A join and an exit while it is open: Ola comes online (join), then leaves the room (exit).
        const olaSocket = await ola.connect();
        try {
          await count.filter({ hasText: '4 members, 4 online' }).waitFor({ timeout: ONLINE_WITHIN_MS });
          const left = await olaSocket.timeout(5000).emitWithAck('exit_room', { room_id: roomId });
          assert.equal(left.ok, true);
          await count.filter({ hasText: '3 members, 3 online' }).waitFor();
          assert.equal(await members.filter({ hasText: `Ola ${tag}` }).count(), 0);
        } finally {
          olaSocket.close();
        }
        // Esc closes it; focus is back on the Members button.
        await mia.page.keyboard.press('Escape');
        await panel.waitFor({ state: 'hidden' });
        assert.equal(await mia.focused(), 'members');

        // Message Ned from the panel: the direct conversation opens, named after him.
        await openMembers(mia, roomId);
        await panel
          .getByTestId('member')
          .filter({ hasText: `Ned ${tag}` })
          .getByTestId('member-message')
          .click();
        await panel.waitFor({ state: 'hidden' });
        const dm = mia.page.locator('[data-testid="conv"][data-kind="direct"]');
        await dm.waitFor({ state: 'attached' });
        const dmId = (await dm.getAttribute('data-room-id')) ?? '';
        await mia
          .pane(dmId)
          .getByTestId('pane-title')
          .filter({ hasText: `Ned ${tag}` })
          .waitFor();
        await mia.send(dmId, 'Only you and me here, Ned');
        await mia.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
        await post(nedSocket, dmId, ['Sure, what is up?']);
        await mia.msg(dmId, 'Sure, what is up?').waitFor();
        await mia.page.locator(`[data-room-id="${dmId}"] [data-testid="presence"][data-online="true"]`).waitFor({
          state: 'attached',
        });
        await settled(mia.page);
        await screenshots(mia.page, `people-direct-${v.name}`);
        if (v.phone) {
          await mia.pane(dmId).getByTestId('back').click();
          await screenshots(mia.page, `people-list-${v.name}`);
        }

        // People search: by prefix, online state shown.
        const modal = await mia.openNewChat();
        await modal.getByTestId('new-chat-search').fill(`Ned ${tag}`);
        const ned1 = modal.getByTestId('user-entry').filter({ hasText: `Ned ${tag}` });
        await ned1.locator('[data-testid="presence"][data-online="true"]').waitFor();
        await modal.getByTestId('new-chat-search').fill(`O`);
        await modal
          .getByTestId('user-entry')
          .filter({ hasText: `Ola ${tag}` })
          .waitFor();
        await modal.getByTestId('new-chat-search').fill(``);
        await modal.getByTestId('new-chat-status').filter({ hasText: 'people' }).waitFor();
        await modal.getByTestId('new-chat-search').fill(`Ned ${tag}`);
        await modal
          .getByTestId('user-entry')
          .first()
          .filter({ hasText: `Ned ${tag}` })
          .waitFor();
        await modal.getByTestId('new-chat-status').filter({ hasText: '1 person' }).waitFor();
        await settled(mia.page);
        await screenshots(mia.page, `people-search-${v.name}`);
        await mia.page.keyboard.press('Escape');
        await modal.waitFor({ state: 'hidden' });
      } finally {
        nedSocket.close();
        piaSocket?.close();
      }
    });
  }
});
