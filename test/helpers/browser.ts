/**
 * Browser tests: headless Chromium through playwright-core (never a downloaded browser), a page
 * object for the chat page addressed by data-testid, and a node-side client (cookie + socket) to
 * drive other users without a browser.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { connect, type ChatClient } from './client.js';
import { root } from './server.js';

export const chromiumPath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : '');
export const browserSkip = !chromiumPath
  ? 'no Chromium (CHROMIUM_PATH is empty)'
  : existsSync(chromiumPath)
    ? false
    : `no Chromium at ${chromiumPath}`;
export const artifactsDir = path.join(root, 'test', 'artifacts');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

let shared: Promise<Browser> | undefined;

/**
 * One Chromium for the whole test file, launched on first use (tests make their own contexts, so
 * nothing carries over between them); the file closes it with `closeSharedBrowser` in a top-level
 * `after`. A launch costs a second or more of CPU: once per file, not once per describe.
 */
export function sharedBrowser(): Promise<Browser> {
  return (shared ??= launchBrowser());
}

export async function closeSharedBrowser(): Promise<void> {
  const b = shared;
  shared = undefined;
  if (b) await (await b.catch(() => undefined))?.close();
}

/**
 * Resolves once the page's CSS transitions and finite animations have ended (looked at from the
 * next frame on, so a change just made has started its own): a screenshot or a colour check then
 * sees the page as it stays. Endless ones (a spinner) do not count.
 */
export async function settled(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForFunction(() =>
    document
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity),
  );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`) });
}

/**
 * Runs `look` on the page as it is in the system's light and then dark colour scheme (the one it
 * is in first), and leaves it in the scheme it had. The page follows the system's scheme live
 * (theme.ts), so one walk through a behaviour gives both schemes' screenshots and contrast
 * checks instead of walking it twice.
 */
export async function inBothSchemes(page: Page, look: (scheme: Scheme) => Promise<void>): Promise<void> {
  const start: Scheme = (await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches))
    ? 'dark'
    : 'light';
  const other: Scheme = start === 'dark' ? 'light' : 'dark';
  await look(start);
  await page.emulateMedia({ colorScheme: other });
  try {
    await settled(page);
    await look(other);
  } finally {
    await page.emulateMedia({ colorScheme: start });
    await settled(page);
  }
}

/** Screenshots of the page in both colour schemes: test/artifacts/<name>-light.png and -dark.png. */
export function screenshots(page: Page, name: string): Promise<void> {
  return inBothSchemes(page, (scheme) => screenshot(page, `${name}-${scheme}`));
}

declare global {
  interface Window {
    __cspViolations?: string[];
  }
}

/** The system's colour scheme, as prefers-color-scheme reports it. */
export type Scheme = 'light' | 'dark';

export interface SignInOptions {
  viewport?: { width: number; height: number };
  course?: string;
  /** The system's colour preference (prefers-color-scheme). */
  colorScheme?: Scheme;
}

/** A browser context as a reader would have it: the viewport and colour preference given. */
export function newContext(browser: Browser, opts: SignInOptions = {}): Promise<BrowserContext> {
  return browser.newContext({
    viewport: opts.viewport ?? { width: 1200, height: 800 },
    colorScheme: opts.colorScheme ?? 'light',
  });
}

/**
 * The two screens every behaviour of the page is tried on. Each starts in a different system
 * colour scheme (the page paints in the system's scheme from the start, on both), and takes its
 * screenshots and contrast checks in both (`screenshots`, `inBothSchemes`): walking a behaviour
 * again only to see it in the other scheme cost the browser stage a third of its time.
 */
export const LAYOUTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, colorScheme: 'light', phone: false },
  { name: 'phone', viewport: { width: 375, height: 740 }, colorScheme: 'dark', phone: true },
] as const;
export type Layout = (typeof LAYOUTS)[number];

/** The chat page of one signed-in user in its own browser context. */
export class ChatPage {
  /** Console errors, CSP violations (console and event) and dialogs seen by this page. */
  readonly problems: string[] = [];
  readonly dialogs: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly baseUrl: string,
  ) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      this.dialogs.push(d.message());
      void d.dismiss();
    });
  }

  static async signIn(browser: Browser, baseUrl: string, name: string, opts: SignInOptions = {}): Promise<ChatPage> {
    const context = await newContext(browser, opts);
    // Records CSP violations from the very first byte of every document.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window.__cspViolations ??= []).push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    const chat = new ChatPage(context, page, baseUrl);
    await page.goto(`${baseUrl}/login`);
    await page.getByTestId('login-name').fill(name);
    if (opts.course) await page.getByTestId('login-course').fill(opts.course);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${baseUrl}/chat`);
    await chat.waitSynced();
    return chat;
  }

  /** Waits until the socket has joined and caught up `times` times in total (1 after a load). */
  async waitSynced(times = 1): Promise<void> {
    await this.page.waitForFunction(
      (n) => Number(document.getElementById('chat-app')?.dataset.synced ?? 0) >= n,
      times,
    );
  }

  async reload(): Promise<void> {
    await this.page.reload();
    await this.waitSynced();
  }

  async cspViolations(): Promise<string[]> {
    const fromEvents = await this.page.evaluate(() => window.__cspViolations ?? []);
    const fromConsole = this.problems.filter((p) => /Content Security Policy/i.test(p));
    return [...fromEvents, ...fromConsole];
  }

  get uid(): Promise<string> {
    return this.page
      .getByTestId('chat-app')
      .getAttribute('data-uid')
      .then((v) => v ?? '');
  }

  convs(): Locator {
    return this.page.getByTestId('conv');
  }

  conv(roomId: string): Locator {
    return this.page.locator(`[data-testid="conv"][data-room-id="${roomId}"]`);
  }

  convByName(name: string): Locator {
    return this.page
      .getByTestId('conv')
      .filter({ has: this.page.getByTestId('conv-name').getByText(name, { exact: true }) });
  }

  pane(roomId: string): Locator {
    return this.page.locator(`[data-testid="pane"][data-room-id="${roomId}"]`);
  }

  messages(roomId: string): Locator {
    return this.pane(roomId).getByTestId('message');
  }

  /** The room's message whose text is exactly `text`. */
  msg(roomId: string, text: string): Locator {
    return this.messages(roomId).filter({
      has: this.page.getByTestId('msg-text').getByText(text, { exact: true }),
    });
  }

  async open(roomId: string): Promise<void> {
    await this.conv(roomId).click();
  }

  async send(roomId: string, text: string): Promise<void> {
    const pane = this.pane(roomId);
    await pane.getByTestId('msg-input').fill(text);
    await pane.getByTestId('msg-input').press('Enter');
  }

  /** Ids of the room's acknowledged messages in page order. */
  async messageIds(roomId: string): Promise<string[]> {
    return this.pane(roomId)
      .locator('[data-testid="messages"] > [data-msg-id]')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.msgId ?? ''));
  }

  async texts(roomId: string): Promise<string[]> {
    return this.pane(roomId).locator('[data-testid="messages"] [data-testid="msg-text"]').allTextContents();
  }

  /** Joins a random room; resolves with its id once its tab is shown. */
  async joinRandom(): Promise<string> {
    const before = new Set(await this.convs().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.roomId)));
    await this.page.getByTestId('random-chat').click();
    const conv = this.page.locator('[data-testid="conv"][data-room-id^="Random_"]');
    // Attached: on a phone the room opens over the list.
    await conv.first().waitFor({ state: 'attached' });
    const id = (await conv.first().getAttribute('data-room-id')) ?? '';
    if (before.has(id)) throw new Error(`already in ${id}`);
    return id;
  }

  /** Opens the "New chat" dialog and waits until it has finished opening (focus in the name). */
  async openNewChat(): Promise<Locator> {
    await this.page.getByTestId('new-chat').click();
    await this.page.waitForFunction(() => document.activeElement?.id === 'new-chat-name');
    return this.page.getByTestId('new-chat-modal');
  }

  /** Creates a group through the "New chat" dialog; resolves with the new room's id. */
  async createChat(roomName: string, memberNames: string[], shot?: string): Promise<string> {
    const modal = await this.openNewChat();
    await modal.getByTestId('new-chat-name').fill(roomName);
    for (const name of memberNames) {
      await modal.getByTestId('new-chat-search').fill(name);
      const entry = modal
        .getByTestId('user-entry')
        .filter({ has: this.page.getByTestId('user-name').getByText(name, { exact: true }) });
      await entry.getByTestId('user-check').check();
    }
    await modal.getByTestId('new-chat-search').fill('');
    if (shot) await screenshot(this.page, shot);
    await modal.getByTestId('new-chat-create').click();
    await modal.waitFor({ state: 'hidden' });
    const conv = this.convByName(roomName);
    await conv.waitFor();
    return (await conv.getAttribute('data-room-id')) ?? '';
  }

  /** Exit, confirmed in the "Leave …?" dialog; resolves once the room's tab is gone. */
  async exit(roomId: string): Promise<void> {
    await this.pane(roomId).getByTestId('exit').click();
    const dialog = this.page.getByTestId('exit-modal');
    await this.page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'exit-cancel');
    await dialog.getByTestId('exit-confirm').click();
    await this.conv(roomId).waitFor({ state: 'detached' });
  }

  /** The element with focus: its data-testid, or else its id. */
  focused(): Promise<string> {
    return this.page.evaluate(() => {
      const el = document.activeElement;
      return el?.getAttribute('data-testid') ?? el?.id ?? '';
    });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/**
 * The pages (and Node sockets) of one test, checked and closed after it: every page must end with
 * no CSP violation, console error (unless `consoleErrors` allows them) or dialog. A describe makes
 * one, signs users in with `signIn` and calls `done()` from its afterEach.
 */
export class TestPages {
  private pages: ChatPage[] = [];
  private sockets: ChatClient[] = [];

  constructor(
    /** The file's browser and server, read when a user signs in (they start in `before`). */
    private readonly where: () => { browser: Browser; url: string },
    private readonly opts: { consoleErrors?: boolean } = {},
  ) {}

  async signIn(name: string, opts?: SignInOptions): Promise<ChatPage> {
    const { browser, url } = this.where();
    const p = await ChatPage.signIn(browser, url, name, opts);
    this.pages.push(p);
    return p;
  }

  /** A Node socket closed after the test. */
  async connect(user: ApiUser): Promise<ChatClient> {
    const s = await user.connect();
    this.sockets.push(s);
    return s;
  }

  async done(): Promise<void> {
    const pages = this.pages;
    const sockets = this.sockets;
    this.pages = [];
    this.sockets = [];
    for (const s of sockets) s.close();
    try {
      for (const p of pages) {
        assert.deepEqual(await p.cspViolations(), [], 'no CSP violation');
        if (!this.opts.consoleErrors) assert.deepEqual(p.problems, [], 'no console error');
        assert.deepEqual(p.dialogs, [], 'no dialog');
      }
    } finally {
      await Promise.all(pages.map((p) => p.close()));
    }
  }
}

export type NodeSocket = ChatClient;

/** A user driven from node: a session cookie from POST /login and, on demand, a socket. */
export class ApiUser {
  private constructor(
    readonly baseUrl: string,
    readonly cookie: string,
    readonly uid: string,
  ) {}

  static async signIn(baseUrl: string, name: string): Promise<ApiUser> {
    const res = await fetch(`${baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/json', Origin: baseUrl },
      body: JSON.stringify({ name }),
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (res.status !== 303 || !cookie) throw new Error(`sign-in of ${name} failed: ${res.status}`);
    const page = await (await fetch(`${baseUrl}/chat`, { headers: { cookie } })).text();
    const uid = /data-uid="([^"]+)"/.exec(page)?.[1];
    if (!uid) throw new Error('no data-uid on the chat page');
    return new ApiUser(baseUrl, cookie, uid);
  }

  async createChat(roomName: string, uids: string[]): Promise<string> {
    const res = await fetch(`${this.baseUrl}/chat/create_chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', cookie: this.cookie, Origin: this.baseUrl },
      body: JSON.stringify({ room_name: roomName, users: uids }),
    });
    const body = (await res.json()) as { status: string; room_id: string };
    if (body.status !== 'OK') throw new Error(`create_chat: ${JSON.stringify(body)}`);
    return body.room_id;
  }

  connect(): Promise<NodeSocket> {
    return connect(this.baseUrl, this.cookie);
  }
}

/** Sends messages one after another (each waits for its acknowledgement); returns their ids. */
export async function post(socket: NodeSocket, roomId: string, texts: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const msg of texts) {
    const res = await socket.timeout(5000).emitWithAck('text', { room_id: roomId, msg });
    if (!res.ok) throw new Error(`text refused: ${res.error}`);
    ids.push(res.id);
  }
  return ids;
}

/** Every message id of a room, oldest first, paging forward through `history`. */
export async function allIds(socket: NodeSocket, roomId: string): Promise<string[]> {
  const ids: string[] = [];
  let after = '0-0';
  for (let page = 0; page < 100; page++) {
    const res = await socket.timeout(5000).emitWithAck('history', { room_id: roomId, after, limit: 100 });
    if (!res.ok) throw new Error(`history refused: ${res.error}`);
    const messages = res.messages as { id: string }[];
    ids.push(...messages.map((m) => m.id));
    if (messages.length < 100) break;
    after = messages[messages.length - 1]!.id;
  }
  return ids;
}
