/**
 * Issue 13 in the browser, on a desktop (1280×800) and a phone (375×740) screen, with the system
 * set to light and to dark: links and mentions, sender groups and day separators, times, right-
 * to-left text, kept line breaks, the multi-line message box, colour modes, what is announced,
 * where focus goes (New chat, opening a room, Exit and its confirmation), the keyboard reaching
 * every control, and the bugs the issue lists. Screenshots of each state go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  ApiUser,
  browserSkip,
  type ChatPage,
  closeSharedBrowser,
  newContext,
  post,
  screenshot,
  screenshots,
  sharedBrowser,
  TestPages,
  LAYOUTS,
  type NodeSocket,
  type Layout,
} from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const run = Math.random().toString(36).slice(2, 7);
const REL = 'noopener noreferrer nofollow ugc';

/** Socket.IO events this page sent, in order (from its WebSocket frames). */
function recordEmits(page: Page): { event: string; payload: unknown }[] {
  const sent: { event: string; payload: unknown }[] = [];
  page.on('websocket', (ws) =>
    ws.on('framesent', (f) => {
      const text = typeof f.payload === 'string' ? f.payload : f.payload.toString();
      // Engine.IO message (4) + Socket.IO event (2), namespace, optional ack id, JSON array.
      const m = /^42\/chat,\d*(\[.*)$/s.exec(text);
      if (!m) return;
      const [event, payload] = JSON.parse(m[1]!) as [string, unknown];
      sent.push({ event, payload });
    }),
  );
  return sent;
}

after(closeSharedBrowser);

describe('a message stream people can read', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  const pages = new TestPages(() => ({ browser, url: server.url }));

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { RATE_LIMIT_COUNT: '10000' } }), sharedBrowser()]);
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(async (t) => {
    if (server.proc.exitCode !== null) console.log(`server exited (${t.name}):\n${server.output().slice(-3000)}`);
    await pages.done();
  });

  const signIn = (name: string, v: Layout): Promise<ChatPage> =>
    pages.signIn(name, { viewport: v.viewport, colorScheme: v.colorScheme });

  for (const v of LAYOUTS) {
    test(`${v.name}: links, mentions, groups, days, times, RTL, line breaks`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const ann = await signIn(`Ann ${tag}`, v);
      const bob = await ApiUser.signIn(server.url, `Bob ${tag}`);
      const roomId = await bob.createChat(`Links ${tag}`, [await ann.uid]);
      await ann.conv(roomId).waitFor();
      await ann.open(roomId);
      const socket = await bob.connect();
      try {
        await post(socket, roomId, [
          'docs at https://example.com/docs?x=1 and mail me at bob@example.org',
          `@Ann ${tag} have a look; javascript:alert(1) and ftp://example.com/f are not links`,
          'שלום, מה שלומך?',
          'first line\nsecond line\n\nfourth line',
        ]);
        await ann.msg(roomId, 'first line\nsecond line\n\nfourth line').waitFor();
      } finally {
        socket.close();
      }
      const pane = ann.pane(roomId);

      // Links: only http(s) and mailto, with the exact rel, in a new tab.
      const links = pane.getByTestId('msg-link');
      assert.deepEqual(await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href)), [
        'https://example.com/docs?x=1',
        'mailto:bob@example.org',
      ]);
      for (const a of await links.all()) {
        assert.equal(await a.getAttribute('rel'), REL);
        assert.equal(await a.getAttribute('target'), '_blank');
      }
      // Mentions: of the reader, highlighted as such.
      const mention = pane.locator('[data-testid="mention"].mention-me');
      assert.equal(await mention.textContent(), `@Ann ${tag}`);
      // Groups: Bob's four messages (within 5 minutes) show his name and avatar once.
      const fromBob = pane.locator(`[data-testid="message"][data-uid="${bob.uid}"]`);
      assert.equal(await fromBob.count(), 4);
      assert.deepEqual(await fromBob.evaluateAll((els) => els.map((e) => e.classList.contains('msg-cont'))), [
        false,
        true,
        true,
        true,
      ]);
      assert.equal(await fromBob.locator('img.avatar').count(), 1);
      assert.equal(await fromBob.locator('[data-testid="msg-name"]:not(.visually-hidden)').count(), 1);
      // Day separator: all of today's messages under "Today".
      assert.deepEqual(await pane.getByTestId('day-separator').allTextContents(), ['Today']);
      // Times: no leading zero, the full date on hover (title) and on keyboard focus.
      const time = fromBob.last().getByTestId('msg-time');
      const shown = (await time.textContent()) ?? '';
      assert.match(shown, /^\d{1,2}:\d{2}/);
      assert.doesNotMatch(shown, /^0\d/);
      const full = (await time.getAttribute('title')) ?? '';
      assert.match(full, new RegExp(String(new Date().getFullYear())));
      await ann.page.keyboard.press('Shift+Tab'); // keyboard use: focus is shown from now on
      await time.focus();
      const tip = await time.evaluate((el) => getComputedStyle(el, '::after').content);
      assert.equal(tip, JSON.stringify(full), 'the full date shows on focus');
      // Right-to-left text runs right to left, in the bubble and in the preview.
      const hebrew = ann.msg(roomId, 'שלום, מה שלומך?').getByTestId('msg-text');
      assert.equal(await hebrew.getAttribute('dir'), 'auto');
      assert.equal(await hebrew.evaluate((el) => getComputedStyle(el).direction), 'rtl');
      for (const sel of ['msg-name', 'conv-name', 'conv-last', 'pane-title']) {
        assert.equal(await ann.page.getByTestId(sel).first().getAttribute('dir'), 'auto', sel);
      }
      // Line breaks are kept.
      const lines = ann.msg(roomId, 'first line\nsecond line\n\nfourth line').getByTestId('msg-text');
      const box = await lines.boundingBox();
      assert.ok(box && box.height > 60, `four lines high (${box?.height}px)`);
      await screenshots(ann.page, `stream-${v.name}`);

      // Yesterday's and older messages are under their day: the browser's clock a day on, then five.
      await ann.page.clock.setFixedTime(new Date(Date.now() + 24 * 3600_000));
      await ann.reload();
      await ann.open(roomId);
      assert.deepEqual(await ann.pane(roomId).getByTestId('day-separator').allTextContents(), ['Yesterday']);
      const later = new Date(Date.now() + 5 * 24 * 3600_000);
      await ann.page.clock.setFixedTime(later);
      await ann.reload();
      await ann.open(roomId);
      const label = await ann.pane(roomId).getByTestId('day-separator').textContent();
      const expected = new Intl.DateTimeFormat('en-US', { weekday: 'long', day: 'numeric', month: 'long' }).format(
        new Date(),
      );
      assert.equal(label, expected.replace(/, \d{4}$/, ''));
      await screenshots(ann.page, `stream-older-day-${v.name}`);
    });

    test(`${v.name}: the message box, colour modes, announcements`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const cy = await signIn(`Cy ${tag}`, v);
      const dee = await ApiUser.signIn(server.url, `Dee ${tag}`);
      const roomId = await dee.createChat(`Box ${tag}`, [await cy.uid]);
      await cy.conv(roomId).waitFor();
      await cy.open(roomId);
      const pane = cy.pane(roomId);
      const box = pane.getByTestId('msg-input');
      // Opening a chat puts focus in its message box.
      assert.equal(await cy.focused(), 'msg-input');

      // Shift+Enter adds a line, the box grows; Enter sends the lines as typed.
      const oneLine = (await box.boundingBox())!.height;
      await box.pressSequentially('line one');
      await box.press('Shift+Enter');
      await box.pressSequentially('line two');
      await box.press('Shift+Enter');
      await box.pressSequentially('line three');
      const threeLines = (await box.boundingBox())!.height;
      assert.ok(threeLines > oneLine * 1.8, `the box grew (${oneLine} → ${threeLines})`);
      await screenshots(cy.page, `composer-lines-${v.name}`);
      await box.press('Enter');
      await cy.msg(roomId, 'line one\nline two\nline three').waitFor();
      assert.equal(await box.inputValue(), '');
      const back = (await box.boundingBox())!.height;
      assert.ok(back < threeLines, 'the box shrinks again once sent');

      // Near the limit a counter; a paste past it stays whole, is refused with how much to remove.
      await box.fill('x'.repeat(1900));
      assert.equal(await pane.getByTestId('composer-count').textContent(), '1,900 / 2,000');
      await box.fill('');
      await box.focus();
      await cy.page.keyboard.insertText('y'.repeat(2345));
      const error = pane.getByTestId('composer-error');
      assert.equal(
        await error.textContent(),
        'Too long to send: 2,345 characters, the limit is 2,000. Remove 345 characters.',
      );
      assert.equal(await box.getAttribute('aria-invalid'), 'true');
      await screenshots(cy.page, `composer-too-long-${v.name}`);
      await box.press('Enter');
      assert.equal((await box.inputValue()).length, 2345, 'nothing cut, nothing sent');
      assert.equal(await cy.msg(roomId, 'y'.repeat(2345)).count(), 0);
      await box.fill('y'.repeat(2000));
      assert.equal(await error.textContent(), '');
      await box.fill('');

      // Colour mode: the system's at first, set before the first paint; chosen and remembered.
      const theme = (): Promise<string | undefined> => cy.page.evaluate(() => document.documentElement.dataset.bsTheme);
      assert.equal(await theme(), v.colorScheme);
      const picker = cy.page.getByTestId('theme-picker');
      assert.equal(await picker.inputValue(), 'auto');
      const other = v.colorScheme === 'dark' ? 'light' : 'dark';
      await picker.selectOption(other);
      assert.equal(await theme(), other);
      await screenshot(cy.page, `colour-mode-${other}-chosen-${v.name}`);
      await cy.reload();
      assert.equal(await theme(), other, 'remembered');
      assert.equal(await cy.page.getByTestId('theme-picker').inputValue(), other);
      await cy.page.getByTestId('theme-picker').selectOption('auto');
      assert.equal(await theme(), v.colorScheme);

      // Announced: only what newly arrived. No message list is a live region, no own message a status.
      await cy.open(roomId);
      const announcer = cy.page.getByTestId('announcer');
      assert.equal(await announcer.textContent(), '', 'loaded history is not read out');
      assert.equal(
        await cy.page.locator('[data-testid="messages"][aria-live], [data-testid="messages"] [role]').count(),
        0,
      );
      const socket = await dee.connect();
      try {
        await post(socket, roomId, ['a new one']);
        await announcer.filter({ hasText: `Dee ${tag}: a new one` }).waitFor();
      } finally {
        socket.close();
      }
    });

    test(`${v.name}: focus after New chat, Exit asks first, the keyboard reaches everything`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const eve = await signIn(`Eve ${tag}`, v);
      await ApiUser.signIn(server.url, `Fay ${tag}`);
      // One h1; the header's buttons have names on every screen.
      assert.equal(await eve.page.locator('h1').count(), 1);
      for (const name of ['New chat', 'Random chat', 'Sign out', 'Colour mode']) {
        const control = eve.page.getByRole(name === 'Colour mode' ? 'combobox' : 'button', { name, exact: true });
        assert.equal(await control.isVisible(), true, name);
      }

      // New chat: the name's error goes once a name is typed; nobody ticked is refused, nothing sent.
      const posts: string[] = [];
      eve.page.on('request', (r) => {
        if (r.method() === 'POST') posts.push(new URL(r.url()).pathname);
      });
      const modal = await eve.openNewChat();
      await modal.getByTestId('new-chat-create').click();
      const nameError = modal.getByTestId('new-chat-name-error');
      await nameError.filter({ hasText: 'Give the chat a name.' }).waitFor();
      assert.equal(await eve.focused(), 'new-chat-name');
      await modal.getByTestId('new-chat-name').pressSequentially('Pals');
      await nameError.waitFor({ state: 'hidden' });
      await modal.getByTestId('new-chat-create').click();
      const people = modal.getByTestId('new-chat-people-error');
      await people.filter({ hasText: 'Pick at least one person to chat with.' }).waitFor();
      assert.deepEqual(posts, [], 'no chat of one was made');
      await screenshots(eve.page, `new-chat-nobody-${v.name}`);
      await modal.getByTestId('new-chat-search').fill(`Fay ${tag}`);
      await modal
        .getByTestId('user-entry')
        .filter({ has: eve.page.getByTestId('user-name').getByText(`Fay ${tag}`, { exact: true }) })
        .getByTestId('user-check')
        .check();
      await people.waitFor({ state: 'hidden' });
      await modal.getByTestId('new-chat-search').fill('');
      await modal.getByTestId('new-chat-name').fill(`Pals ${tag}`);
      await modal.getByTestId('new-chat-create').click();
      await modal.waitFor({ state: 'hidden' });
      const roomId = (await eve.convByName(`Pals ${tag}`).getAttribute('data-room-id')) ?? '';
      // Focus is in the new room's box: typing and Enter send there (not reopen the dialog).
      await eve.page.waitForFunction(
        (id) => document.activeElement === document.querySelector(`#pane-${CSS.escape(id)} [data-testid="msg-input"]`),
        roomId,
      );
      await eve.page.keyboard.type('first words');
      await eve.page.keyboard.press('Enter');
      await eve.msg(roomId, 'first words').waitFor();
      assert.equal(await modal.isVisible(), false);

      // The keyboard reaches every control of the page.
      await eve.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      const reached = new Set<string>();
      for (let i = 0; i < 40; i++) {
        await eve.page.keyboard.press('Tab');
        reached.add(await eve.focused());
      }
      const wanted = ['new-chat', 'random-chat', 'theme-picker', 'logout', 'exit', 'msg-scroll', 'msg-time'];
      // On a phone the open room covers the list: Back leads to it.
      wanted.push(v.phone ? 'back' : 'conv');
      for (const w of [...wanted, 'msg-input', 'send'])
        assert.ok(reached.has(w), `Tab reaches ${w} (reached ${[...reached].join(', ')})`);

      // Exit asks first, in a dialog with Stay focused; Escape keeps the room.
      await eve.pane(roomId).getByTestId('exit').click();
      const dialog = eve.page.getByRole('dialog', { name: `Leave Pals ${tag}?` });
      await dialog.waitFor();
      await eve.page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'exit-cancel');
      await screenshots(eve.page, `exit-confirm-${v.name}`);
      await eve.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await eve.conv(roomId).count(), 1, 'still in the room');
      // Confirmed: the room goes and focus moves to the conversation list.
      await eve.exit(roomId);
      await eve.page.waitForFunction(() => {
        const el = document.activeElement;
        return el?.getAttribute('data-testid') === 'conv-list' || el?.getAttribute('data-testid') === 'conv';
      });
      await screenshots(eve.page, `after-exit-focus-${v.name}`);
    });
  }

  for (const v of LAYOUTS) {
    test(`${v.name}: no history request after exit_room, and no "Error:" in a toast`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const poster = await ApiUser.signIn(server.url, `Gus ${tag}`);
      const reader = await signIn(`Hal ${tag}`, v);
      const roomId = await poster.createChat(`Busy ${tag}`, [await reader.uid]);
      const socket = await poster.connect();
      await post(
        socket,
        roomId,
        Array.from({ length: 75 }, (_, i) => `busy ${i + 1}`),
      );
      socket.close();
      const sent = recordEmits(reader.page);
      await reader.reload();
      await reader.open(roomId);
      await reader.msg(roomId, 'busy 75').waitFor();
      // Older messages are asked for the moment the room is being left (Load older, clicked as
      // the confirmation closes and exit_room goes out): that answer would be "not a member".
      await reader.page.evaluate((id) => {
        document
          .getElementById('exit-modal')!
          .addEventListener('hidden.bs.modal', () =>
            document.querySelector<HTMLElement>(`#pane-${CSS.escape(id)} [data-testid="load-older"]`)!.click(),
          );
      }, roomId);
      await reader.exit(roomId);
      // A marker after everything the exit could have caused.
      await reader.page.waitForTimeout(200);
      await reader.page.getByTestId('random-chat').click();
      await reader.page.locator('[data-testid="conv"][data-room-id^="Random_"]').waitFor({ state: 'attached' });
      const afterExit = sent.slice(sent.findIndex((e) => e.event === 'exit_room'));
      assert.ok(afterExit.length > 0, 'exit_room was sent');
      const late = afterExit.filter(
        (e) => (e.payload as { room_id?: string } | undefined)?.room_id === roomId && e.event !== 'exit_room',
      );
      assert.deepEqual(late, [], 'nothing asked about the room after leaving it');
      assert.equal(await reader.page.getByTestId('app-error').isVisible(), false);
      assert.doesNotMatch((await reader.page.getByTestId('app-error').textContent()) ?? '', /Error:/);
    });

    test(`${v.name}: join and leave notices of equal time keep their order`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const ivy = await signIn(`Ivy ${tag}`, v);
      const roomId = await ivy.joinRandom();
      const jon = await ApiUser.signIn(server.url, `Jon ${tag}`);
      const socket: NodeSocket = await jon.connect();
      try {
        const joined = await socket.timeout(5000).emitWithAck('join_random', {});
        assert.ok(joined.ok && joined.room_id === roomId);
        await socket.timeout(5000).emitWithAck('exit_room', { room_id: roomId });
      } finally {
        socket.close();
      }
      const left = ivy.messages(roomId).filter({ hasText: `Jon ${tag} has left the room.` });
      await left.waitFor();
      const texts = await ivy.texts(roomId);
      const entered = texts.indexOf(`Jon ${tag} has entered the room.`);
      assert.ok(entered >= 0 && entered < texts.indexOf(`Jon ${tag} has left the room.`), texts.join(' | '));
      await screenshots(ivy.page, `notices-order-${v.name}`);
    });
  }

  for (const v of LAYOUTS) {
    test(`${v.name}: sign-in errors say what is wrong once; signing out says so`, async () => {
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const context = await newContext(browser, { viewport: v.viewport, colorScheme: v.colorScheme });
      const page = await context.newPage();
      try {
        await page.goto(`${server.url}/login`);
        // The mode is set by the head script before the body exists (no flash of the other mode).
        assert.equal(await page.evaluate(() => document.documentElement.dataset.bsTheme), v.colorScheme);
        await page.getByTestId('login-name').fill('   ');
        await page.getByTestId('login-submit').click();
        const error = page.getByTestId('login-error');
        await error.waitFor();
        const text = (await error.textContent())?.trim() ?? '';
        assert.ok(text.length > 0);
        assert.doesNotMatch(text, /^name\b.*:/i, `no field name before the reason: "${text}"`);
        assert.doesNotMatch(text, /Error:/);
        await screenshots(page, `login-error-${v.name}`);
        await page.getByTestId('login-name').fill(`Kim ${tag}`);
        await page.getByTestId('login-submit').click();
        await page.waitForURL(`${server.url}/chat`);
        await page.getByTestId('logout').click();
        await page.waitForURL(`${server.url}/login`);
        await page.getByTestId('signed-out').filter({ hasText: 'You have signed out.' }).waitFor();
        assert.equal(await page.getByTestId('signed-out').getAttribute('role'), 'status');
        await screenshots(page, `signed-out-${v.name}`);
        // Said once: not on the next visit.
        await page.reload();
        assert.equal(await page.getByTestId('signed-out').count(), 0);
      } finally {
        await context.close();
      }
    });
  }
});

describe('a handshake refused "too many connections"', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { MAX_SOCKETS_PER_USER: '1' } }), sharedBrowser()]);
  });
  after(async () => {
    await server?.stop();
  });

  test('the page retries with growing pauses, the banner shown, and connects once there is room', async () => {
    const name = `Lea ${run}`;
    const other = await ApiUser.signIn(server.url, name);
    const socket = await other.connect();
    const context = await newContext(browser, LAYOUTS[0]);
    const page = await context.newPage();
    try {
      await page.goto(`${server.url}/login`);
      await page.getByTestId('login-name').fill(name);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(`${server.url}/chat`);
      await page.getByTestId('connection-banner').waitFor({ state: 'visible' });
      // At least two refusals, retried by the page itself (socket.io-client would not).
      await page.waitForFunction(
        () => Number(document.getElementById('chat-app')?.dataset.retryMs ?? 0) >= 1000,
        null,
        {
          timeout: 10_000,
        },
      );
      await screenshot(page, 'too-many-connections-banner');
      assert.equal(await page.getByTestId('app-error').isVisible(), false, 'no error toast: it is retrying');
      socket.close();
      await page.waitForFunction(() => Number(document.getElementById('chat-app')?.dataset.synced ?? 0) >= 1, null, {
        timeout: 30_000,
      });
      await page.getByTestId('connection-banner').waitFor({ state: 'hidden' });
    } finally {
      socket.close();
      await context.close();
    }
  });
});
