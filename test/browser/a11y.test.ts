/**
 * The accessibility gate: axe-core (WCAG 2.0/2.1 A and AA, and best practices) on the sign-in
 * page and the chat page — empty, with rooms, with the New chat dialog open, with the Exit
 * confirmation open — on a desktop and a phone screen, light and dark. No violation of impact
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
  launchBrowser,
  newContext,
  post,
  screenshot,
  VARIANTS,
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

/** Runs axe on the page as it is; returns its violations. */
async function axe(page: Page): Promise<AxeResult[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(ctx: Document, opts: unknown): Promise<{ violations: AxeResult[] }> };
    };
    const res = await w.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return res.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String) })),
    }));
  });
}

const figures: { state: string; variant: string; serious: number; others: number; list: string }[] = [];

async function check(page: Page, state: string, variant: string): Promise<void> {
  // Transitions (modal fade-in) finished: colours are read as they end up.
  await page.waitForTimeout(400);
  await screenshot(page, `a11y-${state}-${variant}`);
  const violations = await axe(page);
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
  });
  assert.deepEqual(describe(serious), '', `${state} ${variant}: serious or critical`);
}

describe('accessibility gate (axe-core)', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    [server, browser] = await Promise.all([startServer({ env: { RATE_LIMIT_COUNT: '10000' } }), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log('\naxe-core, violations per page (serious+critical / others, counted by node):');
    for (const f of figures) {
      console.log(`  ${f.state.padEnd(14)} ${f.variant.padEnd(14)} ${f.serious} / ${f.others}`);
      if (f.list) console.log(f.list.replace(/^/gm, '      '));
    }
  });

  for (const v of VARIANTS) {
    test(`${v.name}: sign-in page, and the chat page empty, with rooms, New chat open, Exit confirmation open`, async () => {
      const opts = { viewport: v.viewport, colorScheme: v.colorScheme } as const;
      const tag = `${run}${v.name.replace(/\W/g, '')}`;
      const me = `Mia ${tag}`;
      // Sign-in page (its own context: nobody signed in).
      const signInContext = await newContext(browser, opts);
      const login = await signInContext.newPage();
      await login.goto(`${server.url}/login`);
      await check(login, 'sign-in', v.name);
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

        await page.openNewChat();
        await check(page.page, 'new-chat-open', v.name);
        await page.page.keyboard.press('Escape');
        await page.page.getByTestId('new-chat-modal').waitFor({ state: 'hidden' });

        await page.pane(first).getByTestId('exit').click();
        await page.page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'exit-cancel');
        await check(page.page, 'exit-confirm', v.name);
        await page.page.keyboard.press('Escape');

        assert.deepEqual(await page.cspViolations(), [], 'no CSP violation');
        assert.deepEqual(page.problems, [], 'no console error');
      } finally {
        await page.close();
      }
    });
  }
});
