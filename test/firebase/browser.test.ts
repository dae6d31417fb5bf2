/**
 * The login page in headless Chromium against the Auth emulator: sign-up and sign-in with the
 * Firebase JS SDK reach /chat, a wrong password stays on /login, and the page runs under the
 * app's CSP without a single violation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, launchBrowser } from '../helpers/browser.js';
import {
  NEEDS_EMULATOR,
  profileSeenBy,
  sessionFor,
  signUp,
  startFirebaseServer,
  uniqueEmail,
  type FirebaseTestServer as TestServer,
} from './helpers.js';

const skip = NEEDS_EMULATOR || browserSkip;

describe('firebase: sign-in page in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    server = await startFirebaseServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function getUsers(cookie: string): Promise<Record<string, { name: string }>> {
    const res = await fetch(`${server.url}/chat/get_users`, { headers: { cookie } });
    return (await res.json()) as Record<string, { name: string }>;
  }

  async function loginPage(): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const res = await page.goto(`${server.url}/login`);
    assert.equal(res?.status(), 200);
    return page;
  }

  it('signs up with email and password and reaches /chat', async () => {
    const page = await loginPage();
    const email = uniqueEmail();
    await page.getByTestId('tab-signup').click();
    await page.getByTestId('signup-name').fill('Hedy Lamarr');
    await page.getByTestId('signup-email').fill(email);
    await page.getByTestId('signup-password').fill('correct horse battery');
    await page.getByTestId('signup-submit').click();
    await page.waitForURL(`${server.url}/chat`, { timeout: 15_000 });

    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === '__session');
    assert.ok(session, 'the server set the session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    const observer = await sessionFor(server.url, await signUp('Observer'));
    const seen = await getUsers(observer);
    assert.ok(
      Object.values(seen).some((u) => u.name === 'Hedy Lamarr'),
      'the profile carries the name given at sign-up',
    );
    // The SDK kept nothing: the only credential is the httpOnly cookie.
    const stored = await page.evaluate(() => Object.keys(localStorage).concat(Object.keys(sessionStorage)));
    assert.deepEqual(
      stored.filter((k) => k.startsWith('firebase:')),
      [],
    );
    await page.context().close();
  });

  it('signs in an existing account and reaches /chat', async () => {
    const user = await signUp('Annie Easley');
    const page = await loginPage();
    await page.getByTestId('signin-email').fill(user.email);
    await page.getByTestId('signin-password').fill(user.password);
    await page.getByTestId('signin-submit').click();
    await page.waitForURL(`${server.url}/chat`, { timeout: 15_000 });
    const observer = await sessionFor(server.url, await signUp('Observer'));
    // `online` depends on whether the page's socket is up yet: not part of this check.
    const { online, ...profile } = (await profileSeenBy(server.url, observer, user.uid)) as { online?: unknown };
    assert.equal(typeof online, 'boolean');
    assert.deepEqual(profile, { name: 'Annie Easley', course: '', picture: '' });
    await page.context().close();
  });

  it('a wrong password shows the reason and stays on /login', async () => {
    const user = await signUp();
    const page = await loginPage();
    await page.getByTestId('signin-email').fill(user.email);
    await page.getByTestId('signin-password').fill('not the password');
    await page.getByTestId('signin-submit').click();
    const error = page.getByTestId('firebase-error');
    await error.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await error.textContent(), 'Wrong email or password.');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.ok(!(await page.context().cookies()).some((c) => c.name === '__session'));
    await page.context().close();
  });

  it('ran without CSP violations or page errors', () => {
    assert.deepEqual(problems, []);
  });
});
