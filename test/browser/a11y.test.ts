/**
 * The accessibility gate: axe-core (WCAG 2.0/2.1/2.2 A and AA, and best practices) on the sign-in
 * page (as it comes, with an error, after signing out) and the chat page — empty, with rooms, with
 * a room open, with the members panel open, a room opened with its "New messages" divider and
 * "Jump to latest (n)", with the New chat dialog open, with the Exit confirmation open — on a desktop and a
 * phone screen, each state checked in light and in dark (the page follows the system's scheme live,
 * so each screen walks the states once). No violation of impact
 * "serious" or "critical" may remain; any others are printed. axe runs through Playwright's
 * evaluate (DevTools protocol), which the page's CSP does not govern: nothing is relaxed for it.
 * A screenshot of every state goes to test/artifacts/a11y-<state>-<variant>.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  ApiUser,
  browserSkip,
  ChatPage,
  closeSharedBrowser,
  inBothSchemes,
  newContext,
  post,
  screenshot,
  settled,
  sharedBrowser,
  LAYOUTS,
} from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const run = Math.random().toString(36).slice(2, 7);

interface AxeResult {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe on the page as it is; returns its violations and how many nodes it could not decide. */
async function axe(page: Page): Promise<{ violations: AxeResult[]; undecided: string[] }> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: Document, opts: unknown): Promise<{ violations: AxeResult[]; incomplete: AxeResult[] }> };
    };
    const res = await w.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations', 'incomplete'],
    });
    return {
      violations: res.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String) })),
      })),
      undecided: res.incomplete.flatMap((v) => v.nodes.map((n) => `${v.id} (${n.target.map(String).join(' ')})`)),
    };
  });
}

const figures: {
  state: string;
  variant: string;
  serious: number;
  others: number;
  list: string;
  undecided: string[];
}[] = [];

async function check(page: Page, state: string, layout: string): Promise<void> {
  // Transitions (modal fade-in) finished: colours are read as they end up.
  await settled(page);
  await inBothSchemes(page, async (scheme) => {
    const variant = `${layout}-${scheme}`;
    await screenshot(page, `a11y-${state}-${variant}`);
    const { violations, undecided } = await axe(page);
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const others = violations.filter((v) => !serious.includes(v));
    const describe = (vs: AxeResult[]): string =>
      vs.map((v) => `${v.impact} ${v.id} (${v.nodes.length}): ${v.help} — ${v.nodes[0]?.target.join(' ')}`).join('\n');
    figures.push({
      state,
      variant,
      serious: serious.reduce((n, v) => n + v.nodes.length, 0),
      others: others.reduce((n, v) => n + v.nodes.length, 0),
      list: describe(others),
      undecided,
    });
    assert.deepEqual(describe(serious), '', `${state} ${variant}: serious or critical`);
  });
}

after(closeSharedBrowser);

// Both gates' figures, once everything has run.
after(() => {
  if (figures.length === 0) return;
  console.log(
    '\naxe-core, violations per page (serious+critical / others, counted by node; then what axe left for a person to check):',
  );
  for (const f of figures) {
    const counts = new Map<string, number>();
    for (const id of f.undecided) counts.set(id, (counts.get(id) ?? 0) + 1);
    const left = [...counts].map(([id, n]) => `${id} ${n}`).join(', ');
    console.log(
      `  ${f.state.padEnd(14)} ${f.variant.padEnd(14)} ${f.serious} / ${f.others}   to check: ${left || 'none'}`,
    );
    if (f.list) console.log(f.list.replace(/^/gm, '      '));
  }
});

describe('accessibility gate (axe-core)', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { RATE_LIMIT_COUNT: '10000' } }), sharedBrowser()]);
  });
  after(async () => {
    await server?.stop();
  });

  for (const v of LAYOUTS) {
    test(`${v.name}: sign-in page, and the chat page empty, with rooms, members panel open, New chat open, Exit confirmation open`, async () => {
      const opts = { viewport: v.viewport, colorScheme: v.colorScheme } as const;
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const me = `Mia ${tag}`;
      // Sign-in page (its own context: nobody signed in).
      const signInContext = await newContext(browser, opts);
      const login = await signInContext.newPage();
      await login.goto(`${server.url}/login`);
      await check(login, 'sign-in', v.name);
      await login.getByTestId('login-name').fill('   ');
      await login.getByTestId('login-submit').click();
      await login.getByTestId('login-error').waitFor();
      await check(login, 'sign-in-error', v.name);
      await signInContext.close();

      const page = await ChatPage.signIn(browser, server.url, me, opts);
      try {
        await check(page.page, 'chat-empty', v.name);

        // With rooms: others' messages (grouped), a link, a mention, own messages, a notice,
        // unread and mention badges.
        const ned = await ApiUser.signIn(server.url, `Ned ${tag}`);
        const uid = await page.uid;
        const first = await ned.createChat(`Team ${tag}`, [uid]);
        const second = await ned.createChat(`Other ${tag}`, [uid]);
        await page.conv(second).waitFor();
        await page.conv(first).waitFor();
        await page.open(first);
        const socket = await ned.connect();
        try {
          await post(socket, first, ['Hello there, see https://example.com/plan', `@${me} can you check?`]);
          await page.msg(first, `@${me} can you check?`).waitFor();
          await page.send(first, 'On it, @Ned ' + tag);
          await page.page.waitForFunction(() => document.querySelectorAll('[data-state="sending"]').length === 0);
          await post(socket, second, [`@${me} over here`]);
          // (On a phone the list is behind the open room: attached, not visible.)
          await page.conv(second).locator('[data-testid="mention-badge"]:not([hidden])').waitFor({ state: 'attached' });
        } finally {
          socket.close();
        }
        if (v.phone) await page.pane(first).getByTestId('back').click();
        await check(page.page, 'chat-rooms', v.name);
        if (v.phone) await page.open(first);
        await check(page.page, 'chat-room-open', v.name);

        // The members panel (an offcanvas dialog), with someone online and someone not.
        const socket2 = await ned.connect();
        try {
          await page.pane(first).getByTestId('members').click();
          await page.page.getByTestId('members-count').filter({ hasText: '2 members, 2 online' }).waitFor();
          await check(page.page, 'members-open', v.name);
          await page.page.keyboard.press('Escape');
          await page.page.getByTestId('members-panel').waitFor({ state: 'hidden' });
        } finally {
          socket2.close();
        }

        // A room opened with many unread: the "New messages" divider and "Jump to latest (n)".
        const socket3 = await ned.connect();
        try {
          await post(
            socket3,
            second,
            Array.from({ length: 25 }, (_, i) => `catching up ${i + 1}`),
          );
        } finally {
          socket3.close();
        }
        if (v.phone) await page.pane(first).getByTestId('back').click();
        await page.open(second);
        await page.pane(second).getByTestId('new-divider').waitFor();
        await page.pane(second).getByTestId('jump-latest').waitFor();
        await check(page.page, 'unread-open', v.name);
        // Read to the end, the room's "@" badge is gone (the page adds it only while unread messages mention the reader).
        await page.pane(second).getByTestId('jump-latest').click();
        // (Attached: on a phone the list is behind the open room.)
        await page.conv(second).locator('[data-testid="unread-badge"][hidden]').waitFor({ state: 'attached' });
        assert.equal(await page.conv(second).getByTestId('mention-badge').count(), 0);
        if (v.phone) await page.pane(second).getByTestId('back').click();
        await page.open(first);

        await page.openNewChat();
        await check(page.page, 'new-chat-open', v.name);
        await page.page.keyboard.press('Escape');
        await page.page.getByTestId('new-chat-modal').waitFor({ state: 'hidden' });

        await page.pane(first).getByTestId('exit').click();
        await page.page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'exit-cancel');
        await check(page.page, 'exit-confirm', v.name);
        await page.page.keyboard.press('Escape');
        await page.page.getByTestId('exit-modal').waitFor({ state: 'hidden' });

        assert.deepEqual(await page.cspViolations(), [], 'no CSP violation');
        assert.deepEqual(page.problems, [], 'no console error');

        // Signed out (after the checks above: the page's socket may log a refused poll on the way out).
        if (v.phone) await page.pane(first).getByTestId('back').click();
        await page.page.getByTestId('logout').click();
        await page.page.getByTestId('signed-out').waitFor();
        await check(page.page, 'signed-out', v.name);
      } finally {
        await page.close();
      }
    });
  }
});

describe('accessibility gate (axe-core): AUTH=password sign-in and sign-up', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { AUTH: 'password' } }), sharedBrowser()]);
  });
  after(async () => {
    await server?.stop();
  });

  for (const v of LAYOUTS) {
    test(`${v.name}: password sign-in, sign-up, their errors, and a sign-up that reaches the chat`, async () => {
      const context = await newContext(browser, { viewport: v.viewport, colorScheme: v.colorScheme });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}/login`);
        await page.getByTestId('login-password').waitFor();
        await check(page, 'password-sign-in', v.name);
        await page.getByTestId('login-name').fill(`Nobody ${run}${v.name}`);
        await page.getByTestId('login-password').fill('not the password');
        await page.getByTestId('login-submit').click();
        await page.getByTestId('login-error').filter({ hasText: 'Wrong name or password.' }).waitFor();
        await check(page, 'password-sign-in-error', v.name);

        await page.getByTestId('signup-link').click();
        await page.getByTestId('signup-form').waitFor();
        await check(page, 'password-sign-up', v.name);
        const name = `Pia ${run}${v.name.replace(/\W/g, '')}`;
        await page.getByTestId('signup-name').fill(name);
        await page.getByTestId('signup-password').fill('short');
        // The browser's own minlength check would stop the form: submit it as the server sees it.
        await page.evaluate(() =>
          document.querySelector('[data-testid="signup-form"]')?.setAttribute('novalidate', ''),
        );
        await page.getByTestId('signup-submit').click();
        await page.getByTestId('login-error').filter({ hasText: 'at least 8 characters' }).waitFor();
        await check(page, 'password-sign-up-error', v.name);
        await page.getByTestId('signup-password').fill('a long enough password');
        await page.getByTestId('signup-submit').click();
        await page.waitForURL(`${server.url}/chat`);
        await page.getByTestId('chat-app').waitFor();
      } finally {
        await context.close();
      }
    });
  }
});
