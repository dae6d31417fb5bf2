/**
 * Issue 12's page part in headless Chromium: unread badges and the tab title that survive a
 * reload and follow the user to another device, desktop notifications (asked for by a button,
 * shown for a hidden tab, opening their room), the conversation list in activity order with
 * times, the last-used room reopened, the "New messages" divider and "Jump to latest (n)" — on a
 * desktop and a phone screen, light and dark, with screenshots in test/artifacts/.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  ApiUser,
  browserSkip,
  type ChatPage,
  closeSharedBrowser,
  post,
  screenshot,
  screenshots,
  settled,
  sharedBrowser,
  TestPages,
  LAYOUTS,
  type NodeSocket,
  type Layout,
} from '../helpers/browser.js';
import type { RoomSummary } from '../../src/shared/types.js';
import { startServer, type TestServer } from '../helpers/server.js';

const run = Math.random().toString(36).slice(2, 7);

declare global {
  interface Window {
    __notes?: { title: string; body: string; n: Notification }[];
  }
}

/**
 * The notifications the page makes, recorded; the browser's own constructor still makes each one.
 * (A plain script: a compiled function would carry the test runner's helpers into the page.)
 */
async function recordNotifications(page: Page): Promise<void> {
  await page.addInitScript({
    content: `(() => {
      const Real = window.Notification;
      window.__notes = [];
      class Recorded extends Real {
        constructor(title, opts) {
          super(title, opts);
          window.__notes.push({ title, body: (opts && opts.body) || '', n: this });
        }
      }
      window.Notification = Recorded;
    })();`,
  });
}

/** The tab hidden or shown as a browser does it (headless pages are always visible). A plain script, as above. */
function setHidden(page: Page, hidden: boolean): Promise<void> {
  return page.evaluate(`(() => {
    const h = ${String(hidden)};
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

const order = (p: ChatPage): Promise<string[]> =>
  p.convs().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.roomId ?? ''));

const badge = (p: ChatPage, roomId: string): Promise<string | null> =>
  p
    .conv(roomId)
    .getByTestId('unread-badge')
    .evaluate((el) => ((el as HTMLElement).hidden ? null : (el.querySelector('.unread-count')?.textContent ?? '')));

/** Ann's `joined` answer for a room: what the server has as her mark and count. */
async function serverUnread(socket: NodeSocket, roomId: string): Promise<number> {
  const res = (await socket.timeout(5000).emitWithAck('joined', {})) as
    { ok: true; rooms: RoomSummary[] } | { ok: false; error: string };
  if (!res.ok) throw new Error(res.error);
  return res.rooms.find((r) => r.room_id === roomId)?.unread ?? -1;
}

/** The server orders rooms by time to the millisecond: a pause makes "later" certain. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

after(closeSharedBrowser);

describe('unread, title, notifications, order', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  const pages = new TestPages(() => ({ browser, url: server.url }));

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { RATE_LIMIT_COUNT: '10000' } }), sharedBrowser()]);
  });

  after(async () => {
    await server?.stop();
  });

  afterEach(() => pages.done());

  const signIn = (name: string, v?: Layout): Promise<ChatPage> =>
    pages.signIn(name, v && { viewport: v.viewport, colorScheme: v.colorScheme });
  const connect = (u: ApiUser): Promise<NodeSocket> => pages.connect(u);

  test('the badge and the title survive a reload; another device reading the room clears them', async () => {
    const name = `Ann reload ${run}`;
    const annApi = await ApiUser.signIn(server.url, name);
    const bob = await ApiUser.signIn(server.url, `Bob reload ${run}`);
    const quiet = await bob.createChat(`Quiet ${run}`, [annApi.uid]);
    await sleep(5);
    const open = await bob.createChat(`Open ${run}`, [annApi.uid]);
    const ann = await signIn(name);
    assert.equal(await ann.page.locator('[data-testid="conv"].active').getAttribute('data-room-id'), open);
    assert.equal(await ann.page.title(), 'Chat');

    const bobSocket = await connect(bob);
    await post(bobSocket, quiet, ['one', 'two', 'three']);
    await until(async () => (await badge(ann, quiet)) === '3', 'badge 3');
    assert.equal(await ann.page.title(), '(3) Chat');
    assert.deepEqual((await order(ann))[0], quiet, 'the room with the news moved to the top');

    await ann.reload();
    assert.equal(await badge(ann, quiet), '3', 'the count survives a reload');
    assert.equal(await ann.page.title(), '(3) Chat');
    assert.equal(await ann.page.locator('[data-testid="conv"].active').getAttribute('data-room-id'), open);
    await screenshot(ann.page, 'unread-badge-title');

    // A second device of the same user reads the room: the first one's badge and title clear.
    const phone = await signIn(name, LAYOUTS[1]);
    await phone.open(quiet);
    await phone.msg(quiet, 'three').waitFor();
    await until(async () => (await badge(ann, quiet)) === null, 'badge cleared by the other device');
    assert.equal(await ann.page.title(), 'Chat');
    assert.equal(await serverUnread(await connect(annApi), quiet), 0);
    await screenshot(ann.page, 'unread-cleared-elsewhere');
  });

  test('desktop notifications: asked for by a button, shown for a hidden tab, clicking opens the room', async () => {
    const name = `Ann notify ${run}`;
    const annApi = await ApiUser.signIn(server.url, name);
    const bob = await ApiUser.signIn(server.url, `Bob notify ${run}`);
    const other = await bob.createChat(`Elsewhere ${run}`, [annApi.uid]);
    const open = await bob.createChat(`Here ${run}`, [annApi.uid]);
    const ann = await signIn(name);
    await ann.context.grantPermissions(['notifications'], { origin: server.url });
    await recordNotifications(ann.page);
    await ann.reload();

    const toggle = ann.page.getByTestId('notify-toggle');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false', 'off until asked for');
    await toggle.click();
    await until(async () => (await toggle.getAttribute('aria-pressed')) === 'true', 'turned on');
    // Away from the button, its colour transition over: the pressed look as it stays.
    await ann.page.mouse.move(0, 400);
    await settled(ann.page);
    await screenshot(ann.page, 'notify-on');
    await ann.reload();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true', 'the choice is remembered');

    const bobSocket = await connect(bob);
    const annSocket = await connect(annApi);
    // In view: the open room on a visible tab notifies nothing.
    await post(bobSocket, open, ['seen here']);
    await ann.msg(open, 'seen here').waitFor();
    await setHidden(ann.page, true);
    // An own message (from another device) notifies nothing; then Bob's does, and only it.
    await post(annSocket, other, ['my own words']);
    await post(bobSocket, other, ['are you there?']);
    await until(async () => (await ann.page.evaluate(() => window.__notes!.length)) > 0, 'a notification');
    const notes = await ann.page.evaluate(() => window.__notes!.map(({ title, body }) => ({ title, body })));
    assert.deepEqual(notes, [{ title: `Elsewhere ${run}`, body: `Bob notify ${run}: are you there?` }]);

    await setHidden(ann.page, false);
    await ann.page.evaluate(() => window.__notes![0]!.n.dispatchEvent(new Event('click')));
    await until(
      async () => (await ann.page.locator('[data-testid="conv"].active').getAttribute('data-room-id')) === other,
      'the room opened',
    );
    await ann.msg(other, 'are you there?').waitFor();
    assert.equal(await ann.focused(), 'msg-input');

    // Turned off: no more notifications, remembered too.
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await setHidden(ann.page, true);
    await post(bobSocket, other, ['quiet now']);
    await ann.msg(other, 'quiet now').waitFor();
    assert.equal(await ann.page.evaluate(() => window.__notes!.length), 1);
  });

  test('the list follows activity with each room’s time; the last-used room opens after a reload', async () => {
    const name = `Ann order ${run}`;
    const annApi = await ApiUser.signIn(server.url, name);
    const bob = await ApiUser.signIn(server.url, `Bob order ${run}`);
    const rooms: string[] = [];
    for (const n of [1, 2, 3]) {
      rooms.push(await bob.createChat(`Order ${n} ${run}`, [annApi.uid]));
      await sleep(5);
    }
    const [r1, r2, r3] = rooms as [string, string, string];
    const bobSocket = await connect(bob);
    await post(bobSocket, r1, ['first room news']);
    const ann = await signIn(name);
    assert.deepEqual(await order(ann), [r1, r3, r2], 'newest activity first (a room without messages: when made)');
    assert.match((await ann.conv(r1).getByTestId('conv-time').textContent()) ?? '', /\d/, 'the last message’s time');
    assert.equal(await ann.conv(r1).getByTestId('conv-last').textContent(), `Bob order ${run}: first room news`);
    // Every tab the server rendered keeps its preview and has its time put in the reader's locale
    // at load (the server writes "YYYY-MM-DD HH:MM" in UTC; the page the time of day, with the
    // full date and time in the title).
    for (const id of rooms) {
      const time = ann.conv(id).getByTestId('conv-time').locator('time');
      assert.doesNotMatch((await time.textContent()) ?? '', /^\d{4}-\d\d-\d\d /, `${id}: localized`);
      assert.ok(await time.getAttribute('title'), `${id}: the full time in the title`);
      assert.ok(await ann.conv(id).getByTestId('conv-last').textContent(), `${id}: preview`);
    }

    await post(bobSocket, r2, ['second room news']);
    await until(async () => (await order(ann))[0] === r2, 'r2 to the top');
    assert.deepEqual(await order(ann), [r2, r1, r3]);
    await screenshot(ann.page, 'unread-list-order');

    // The last-used room opens again, with its messages loaded by the page.
    await ann.open(r2);
    await ann.msg(r2, 'second room news').waitFor();
    await post(bobSocket, r3, ['third room news']);
    await until(async () => (await order(ann))[0] === r3, 'r3 to the top');
    await ann.reload();
    assert.equal(await ann.page.locator('[data-testid="conv"].active').getAttribute('data-room-id'), r2);
    await ann.msg(r2, 'second room news').waitFor();
    assert.deepEqual(await order(ann), [r3, r2, r1]);
    // Gone (left in another tab): the list's first opens instead.
    await ann.page.evaluate((key) => localStorage.setItem(key, 'no-such-room'), `chat-room:${annApi.uid}`);
    await ann.reload();
    assert.equal(await ann.page.locator('[data-testid="conv"].active').getAttribute('data-room-id'), r3);
  });

  for (const v of LAYOUTS) {
    test(`${v.name}: the unread list, "New messages" and "Jump to latest (n)"`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const name = `Ann div ${tag}`;
      const annApi = await ApiUser.signIn(server.url, name);
      const bob = await ApiUser.signIn(server.url, `Bob div ${tag}`);
      const busy = await bob.createChat(`Busy ${tag}`, [annApi.uid]);
      const calm = await bob.createChat(`Calm ${tag}`, [annApi.uid]);
      const bobSocket = await connect(bob);
      const annSocket = await connect(annApi);
      await post(annSocket, busy, ['what did I miss?']);
      await post(
        bobSocket,
        busy,
        Array.from({ length: 30 }, (_, i) => `news ${i + 1}`),
      );
      // Later than the last of Busy's (the server orders by the time, to the millisecond).
      await sleep(5);
      await post(bobSocket, calm, ['all quiet']);
      const ann = await signIn(name, v);
      assert.deepEqual(await order(ann), [calm, busy]);
      assert.equal(await badge(ann, busy), '30');
      await screenshots(ann.page, `unread-list-${v.name}`);

      await ann.open(busy);
      const pane = ann.pane(busy);
      const divider = pane.getByTestId('new-divider');
      await divider.waitFor();
      // Right above Bob's first message after Ann's own.
      const next = await divider.evaluate(
        (el) => el.nextElementSibling?.querySelector('[data-testid="msg-text"]')?.textContent,
      );
      const before = await divider.evaluate((el) => {
        let p = el.previousElementSibling;
        while (p && !p.querySelector('[data-testid="msg-text"]')) p = p.previousElementSibling;
        return p?.querySelector('[data-testid="msg-text"]')?.textContent;
      });
      assert.equal(next, 'news 1');
      assert.equal(before, 'what did I miss?');
      assert.ok(await divider.isVisible(), 'the divider is in view when the room opens');
      const jump = pane.getByTestId('jump-latest');
      await jump.waitFor();
      assert.equal(await jump.textContent(), ' Jump to latest (30)');
      await screenshots(ann.page, `unread-divider-${v.name}`);

      // To the bottom: read, on the server too.
      await jump.click();
      await jump.waitFor({ state: 'hidden' });
      await until(async () => (await badge(ann, busy)) === null, 'read at the bottom');
      await until(async () => (await serverUnread(annSocket, busy)) === 0, 'the read mark on the server');

      // Scrolled up while messages arrive: the button counts them and nothing is read.
      await pane.getByTestId('msg-scroll').evaluate((el) => (el.scrollTop = 0));
      // The scroll event comes with the next frame: the page knows the reader is up there.
      await ann.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await post(bobSocket, busy, ['later 1', 'later 2']);
      await until(
        async () => (await jump.isVisible()) && (await jump.textContent()) === ' Jump to latest (2)',
        'jump (2)',
      );
      assert.equal(await serverUnread(annSocket, busy), 2);
      await screenshots(ann.page, `unread-jump-${v.name}`);
      await jump.click();
      await jump.waitFor({ state: 'hidden' });
      await until(async () => (await serverUnread(annSocket, busy)) === 0, 'read after the jump');
      assert.equal(await ann.focused(), 'msg-input');
    });
  }
});
