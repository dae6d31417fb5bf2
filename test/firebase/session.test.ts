/** POST /sessionLogin against the Auth emulator: the exchange, its cookie, and what it refuses. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isRecentSignIn } from '../../src/auth/firebase-admin.js';
import { firebaseCspSources } from '../../src/auth/firebase.js';
import { loadConfig } from '../../src/config.js';
import {
  NEEDS_EMULATOR,
  PROJECT_ID,
  EMULATOR_HOST,
  decodeJwt,
  getPage,
  makeJwt,
  profileSeenBy,
  postSessionLogin,
  sessionCookieFrom,
  sessionFor,
  signUp,
  startFirebaseServer,
  type FirebaseTestServer as TestServer,
} from './helpers.js';

describe('firebase: session cookie exchange', { skip: NEEDS_EMULATOR }, () => {
  let server: TestServer;
  before(async () => {
    server = await startFirebaseServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('GET /login renders the Firebase sign-in page, with the web config in data-* and the emulator in the CSP', async () => {
    const res = await getPage(server.url, '/login');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /data-testid="firebase-login"/);
    assert.match(html, new RegExp(`data-project-id="${PROJECT_ID}"`));
    assert.match(html, new RegExp(`data-emulator-url="http://${EMULATOR_HOST.replace(/\./g, '\\.')}"`));
    // The bundle under its content-hashed name (public/build/manifest.json).
    assert.match(html, /<script type="module" src="\/build\/login-[A-Za-z0-9_-]+\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]+<\/script>/, 'no inline script');
    const csp = res.headers.get('content-security-policy') ?? '';
    const connect = /connect-src ([^;]*)/.exec(csp)?.[1] ?? '';
    assert.ok(connect.includes(`http://${EMULATOR_HOST}`), csp);
    assert.ok(connect.includes('https://identitytoolkit.googleapis.com'), csp);
    assert.doesNotMatch(/script-src ([^;]*)/.exec(csp)?.[1] ?? '', /unsafe-(inline|eval)/);
  });

  it('POST /login does not exist in firebase mode (404)', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Mallory' }),
    });
    assert.equal(res.status, 404);
  });

  it('a fresh ID token becomes an httpOnly, SameSite=Lax __session cookie for 14 days, and opens /chat', async () => {
    const user = await signUp('Grace Hopper');
    const res = await postSessionLogin(server.url, { idToken: user.idToken });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'success' });
    const line = res.headers.getSetCookie().find((c) => c.startsWith('__session=')) ?? '';
    const attrs = line.split(';').map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes('httponly'), line);
    assert.ok(attrs.includes('samesite=lax'), line);
    assert.ok(attrs.includes('path=/'), line);
    assert.ok(attrs.includes(`max-age=${14 * 24 * 3600}`), line);
    assert.ok(!attrs.includes('secure'), 'not Secure outside production (plain http in tests)');

    const cookie = sessionCookieFrom(res);
    const chat = await getPage(server.url, '/chat', cookie);
    assert.equal(chat.status, 200);
    // The profile was made from the token's claims at the first sign-in.
    const other = await sessionFor(server.url, await signUp('Observer'));
    // Not online: nothing opened a socket with that cookie.
    assert.deepEqual(await profileSeenBy(server.url, other, user.uid), {
      name: 'Grace Hopper',
      course: '',
      picture: '',
      online: false,
    });
  });

  it('without a name claim the profile is named after the email local part', async () => {
    const user = await signUp('');
    const cookie = await sessionFor(server.url, user);
    const other = await sessionFor(server.url, await signUp('Observer'));
    const seen = (await profileSeenBy(server.url, other, user.uid)) as { name: string };
    assert.equal(seen.name, user.email.split('@')[0]?.slice(0, 40));
    assert.equal((await getPage(server.url, '/chat', cookie)).status, 200);
  });

  it('an unchanged token re-encoded by the test helper is still accepted (control for the forgeries below)', async () => {
    const user = await signUp();
    const { header, payload } = decodeJwt(user.idToken);
    const res = await postSessionLogin(server.url, { idToken: makeJwt(header, payload) });
    assert.equal(res.status, 200);
  });

  describe('refusals (401 {status: "error"})', () => {
    const refused = async (idToken: unknown, reason = 'invalid ID token'): Promise<void> => {
      const res = await postSessionLogin(server.url, { idToken });
      assert.equal(res.status, 401, `expected 401 for ${String(idToken).slice(0, 60)}`);
      assert.deepEqual(await res.json(), { status: 'error', error: reason });
      assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('__session=')), 'no cookie');
    };

    it('a random string and a random JWT', async () => {
      await refused('not-a-jwt');
      await refused(makeJwt({ alg: 'RS256', kid: 'k1', typ: 'JWT' }, { sub: 'x' }, randomBytes(256)));
    });

    it('a real token with a signature it never had', async () => {
      const user = await signUp();
      const { header, payload } = decodeJwt(user.idToken);
      await refused(makeJwt({ ...header, alg: 'RS256', kid: 'forged' }, payload, randomBytes(256)));
      await refused(makeJwt(header, payload, randomBytes(64)));
    });

    it('a token for another project (wrong audience and issuer)', async () => {
      const user = await signUp();
      const { header, payload } = decodeJwt(user.idToken);
      await refused(makeJwt(header, { ...payload, aud: 'demo-other' }));
      await refused(
        makeJwt(header, { ...payload, aud: 'demo-other', iss: 'https://securetoken.google.com/demo-other' }),
      );
    });

    it('an expired token', async () => {
      const user = await signUp();
      const { header, payload } = decodeJwt(user.idToken);
      const now = Math.floor(Date.now() / 1000);
      await refused(makeJwt(header, { ...payload, iat: now - 7200, exp: now - 3600, auth_time: now - 7200 }));
    });

    it('a token whose sign-in is older than 5 minutes (auth_time before the account existed)', async () => {
      // The emulator cannot make an account older than the test run, and in emulator mode
      // firebase-admin always runs the revocation check, which refuses an auth_time from before
      // the account's validSince; the 5-minute rule itself is checked by isRecentSignIn below.
      const user = await signUp();
      const { header, payload } = decodeJwt(user.idToken);
      await refused(makeJwt(header, { ...payload, auth_time: Math.floor(Date.now() / 1000) - 6 * 60 }));
    });

    it('a missing or non-string idToken is a bad request (400)', async () => {
      for (const body of [{}, { idToken: 42 }, { idToken: '' }]) {
        const res = await postSessionLogin(server.url, body);
        assert.equal(res.status, 400);
      }
    });

    it('a forged session cookie opens nothing', async () => {
      const user = await signUp();
      const { header, payload } = decodeJwt(user.idToken);
      const fake = makeJwt(
        header,
        { ...payload, iss: `https://session.firebase.google.com/${PROJECT_ID}` },
        randomBytes(64),
      );
      const res = await getPage(server.url, '/chat', `__session=${fake}`);
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/login');
    });
  });

  it('POST /sessionLogin from another origin is refused (403) and sets no cookie', async () => {
    const user = await signUp();
    const res = await postSessionLogin(server.url, { idToken: user.idToken }, { origin: 'http://evil.example' });
    assert.equal(res.status, 403);
    assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('__session=')));
    // The same token from the page's own origin still works: the refusal was about the origin.
    const ok = await postSessionLogin(server.url, { idToken: user.idToken }, { origin: server.url });
    assert.equal(ok.status, 200);
  });
});

describe('firebase: the recent sign-in rule', () => {
  it('accepts a sign-in up to 5 minutes old and refuses an older one', () => {
    const now = 1_800_000_000_000;
    assert.equal(isRecentSignIn(now / 1000, now), true);
    assert.equal(isRecentSignIn(now / 1000 - 299, now), true);
    assert.equal(isRecentSignIn(now / 1000 - 300, now), true);
    assert.equal(isRecentSignIn(now / 1000 - 301, now), false);
    assert.equal(isRecentSignIn(now / 1000 - 3600, now), false);
    assert.equal(isRecentSignIn(Number.NaN, now), false);
  });
});

describe('firebase: CSP sources', () => {
  const cfg = (env: Record<string, string>) =>
    loadConfig({ AUTH: 'firebase', FIREBASE_PROJECT_ID: 'demo-chat', FIREBASE_API_KEY: 'k', ...env });

  it('email/password against Google: the two Auth APIs, no frames, no extra scripts', () => {
    assert.deepEqual(firebaseCspSources(cfg({})), {
      connectSrc: ['https://identitytoolkit.googleapis.com', 'https://securetoken.googleapis.com'],
      frameSrc: [],
      scriptSrc: [],
    });
  });

  it('with the emulator and Google sign-in: the emulator origin, authDomain frames and gapi', () => {
    const sources = firebaseCspSources(
      cfg({
        FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099',
        FIREBASE_GOOGLE_SIGNIN: 'true',
        FIREBASE_AUTH_DOMAIN: 'chat.example.com',
      }),
    );
    assert.ok(sources.connectSrc.includes('http://127.0.0.1:9099'));
    assert.deepEqual(sources.frameSrc, ['https://chat.example.com', 'http://127.0.0.1:9099']);
    assert.deepEqual(sources.scriptSrc, ['https://apis.google.com']);
  });

  it('nothing in dev mode', () => {
    assert.deepEqual(firebaseCspSources(loadConfig({})), { connectSrc: [], frameSrc: [], scriptSrc: [] });
  });
});

describe('firebase: cookie in production', { skip: NEEDS_EMULATOR }, () => {
  let server: TestServer;
  before(async () => {
    server = await startFirebaseServer({ NODE_ENV: 'production', SESSION_SECRET: randomBytes(32).toString('hex') });
  });
  after(async () => {
    await server?.stop();
  });

  it('is Secure', async () => {
    const user = await signUp();
    const res = await postSessionLogin(server.url, { idToken: user.idToken });
    assert.equal(res.status, 200);
    const line = res.headers.getSetCookie().find((c) => c.startsWith('__session=')) ?? '';
    assert.ok(
      line
        .split(';')
        .map((a) => a.trim().toLowerCase())
        .includes('secure'),
      line,
    );
  });
});
