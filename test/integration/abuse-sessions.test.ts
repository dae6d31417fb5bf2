/**
 * Sessions: a new session id at sign-in (a planted id is worthless), sign-out ends the session on
 * every node (its cookie refused, its sockets on both nodes disconnected, other sessions of the
 * same user untouched), cookie attributes (httpOnly, SameSite=Lax, Secure in production behind
 * TLS), and the origin check on every state-changing request and on the Socket.IO handshake.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERRORS } from '../../src/shared/limits.js';
import { connect, login, marker, type ChatClient } from '../helpers/client.js';
import { cleanRedis, newPrefix, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';
import { figures, waitFor } from './fault-kit.js';

const cookieOf = (res: Response): string => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';

async function signIn(url: string, name: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name }),
    redirect: 'manual',
  });
}

async function whoIs(url: string, cookie: string): Promise<string> {
  const res = await fetch(`${url}/chat`, { headers: { cookie }, redirect: 'manual' });
  if (res.status !== 200) return `status ${res.status}`;
  return /data-uid="([^"]+)"/.exec(await res.text())?.[1] ?? 'no uid';
}

describe('sessions across two nodes', { skip: redisSkip, timeout: 60_000 }, () => {
  const prefix = newPrefix();
  let a: InProcessServer;
  let b: InProcessServer;
  const sockets: ChatClient[] = [];

  before(async () => {
    [a, b] = await Promise.all([startInProcess({ redis: true, prefix }), startInProcess({ redis: true, prefix })]);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanRedis(prefix);
  });

  it('sign-in issues a new session id; a planted one neither survives nor becomes the victim', async () => {
    const attacker = await login(a.url, 'session-attacker');
    const victimRes = await signIn(b.url, 'session-victim', { cookie: attacker.cookie });
    const victimCookie = cookieOf(victimRes);
    const planted = await whoIs(a.url, attacker.cookie);
    const victim = await whoIs(a.url, victimCookie);
    const again = cookieOf(await signIn(a.url, 'session-victim', { cookie: victimCookie }));
    console.log(
      `[abuse-sessions] fixation: ${figures({
        plantedSent: attacker.cookie.slice(0, 24),
        issued: victimCookie.slice(0, 24),
        plantedAfter: planted,
        newCookieIs: victim,
        reSignInIssuesAnother: again !== victimCookie,
      })}`,
    );
    assert.equal(victimRes.status, 303);
    assert.ok(victimCookie && victimCookie !== attacker.cookie, 'a new session id');
    assert.equal(planted, 'status 302', 'the planted session is gone');
    assert.match(victim, /^u[0-9a-f]+$/);
    assert.notEqual(victim, attacker.uid);
    assert.ok(again && again !== victimCookie);
  });

  it('sign-out on one node ends the session on both and disconnects its sockets there', async () => {
    const user = await login(a.url, 'session-leaver');
    const other = await login(b.url, 'session-leaver'); // the same user in another browser
    const onA = await connect(a.url, user.cookie);
    const onB = await connect(b.url, user.cookie);
    const otherOnB = await connect(b.url, other.cookie);
    sockets.push(onA, onB, otherOnB);
    const reasons: string[] = [];
    onA.on('disconnect', (r) => reasons.push(`A:${r}`));
    onB.on('disconnect', (r) => reasons.push(`B:${r}`));

    const start = Date.now();
    const out = await fetch(`${a.url}/logout`, {
      method: 'POST',
      headers: { cookie: user.cookie, origin: a.url },
      redirect: 'manual',
    });
    await waitFor(() => !onA.connected && !onB.connected, 5000, 'both sockets of the session to be disconnected');
    const disconnectedMs = Date.now() - start;
    const refused = await Promise.all(
      [a, b].map((s) => fetch(`${s.url}/chat/get_users`, { headers: { cookie: user.cookie } })),
    );
    const reconnect = await Promise.all(
      [a, b].map((s) =>
        connect(s.url, user.cookie).then(
          (c) => (sockets.push(c), 'connected'),
          (err: Error) => err.message,
        ),
      ),
    );
    // A wrongful disconnect of the other session would have come with the session's own; the
    // marker's answer on that socket comes after anything sent before it (and needs it connected).
    await marker(otherOnB);
    console.log(
      `[abuse-sessions] sign-out: ${figures({
        logout: out.status,
        cleared: (out.headers.get('set-cookie') ?? '').includes('Expires=Thu, 01 Jan 1970'),
        socketsDisconnectedWithinMs: disconnectedMs,
        reasons,
        cookieOnA: refused[0]!.status,
        cookieOnB: refused[1]!.status,
        newSocketA: reconnect[0],
        newSocketB: reconnect[1],
        otherSessionStillConnected: otherOnB.connected,
      })}`,
    );
    assert.equal(out.status, 303);
    assert.deepEqual(
      refused.map((r) => r.status),
      [401, 401],
    );
    assert.deepEqual(reconnect, [ERRORS.unauthorized, ERRORS.unauthorized]);
    assert.equal(otherOnB.connected, true, "the user's other session is not signed out");
    assert.equal(await whoIs(b.url, other.cookie), other.uid);
  });
});

describe('cookies and origins', { timeout: 60_000 }, () => {
  let dev: InProcessServer;
  let prod: InProcessServer;

  before(async () => {
    [dev, prod] = await Promise.all([
      startInProcess(),
      startInProcess({
        // The name-only form signs in the checking users: production allows it only when told.
        env: {
          NODE_ENV: 'production',
          SESSION_SECRET: 'p'.repeat(40),
          TRUST_PROXY: '1',
          ALLOW_DEV_AUTH: 'true',
        },
      }),
    ]);
  });
  after(async () => {
    await Promise.all([dev?.stop(), prod?.stop()]);
  });

  it('session cookies are httpOnly and SameSite=Lax, and Secure in production behind TLS', async () => {
    const devCookie = (await signIn(dev.url, 'cookie-dev')).headers.get('set-cookie') ?? '';
    const https = { 'x-forwarded-proto': 'https', origin: `https://127.0.0.1:${prod.port}` };
    const prodRes = await signIn(prod.url, 'cookie-prod', https);
    const prodCookie = prodRes.headers.get('set-cookie') ?? '';
    // Plain http in production (e.g. docker compose without TLS): src/auth/session.ts uses
    // `secure: 'auto'`, so the cookie is set, without Secure.
    const plain = await signIn(prod.url, 'cookie-plain', { origin: `http://127.0.0.1:${prod.port}` });
    const attrs = (c: string): string[] =>
      c
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=')[0]!.toLowerCase())
        .sort();
    console.log(
      `[abuse-sessions] cookies: ${figures({
        dev: attrs(devCookie),
        production: attrs(prodCookie),
        productionOverPlainHttp: `${plain.status} ${attrs(plain.headers.get('set-cookie') ?? '').join(',') || 'no cookie'}`,
      })}`,
    );
    for (const c of [devCookie, prodCookie]) {
      assert.match(c, /^connect\.sid=/);
      assert.match(c, /;\s*HttpOnly/i);
      assert.match(c, /;\s*SameSite=Lax/i);
      assert.match(c, /;\s*Path=\//i);
    }
    assert.doesNotMatch(devCookie, /;\s*Secure/i);
    assert.equal(prodRes.status, 303);
    assert.match(prodCookie, /;\s*Secure/i);
    assert.equal(plain.status, 303);
    assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /;\s*Secure/i);
  });

  it("a socket's handshake takes only a session cookie that is signed, stored and signed in", async () => {
    // src/auth/session.ts reads the handshake's session itself (not through express-session):
    // the same cookies must open a socket, and the same ones must not.
    const secret = 'p'.repeat(40);
    const user = await login(prod.url, 'handshake-cookie');
    const value = decodeURIComponent(user.cookie.slice('connect.sid='.length));
    assert.match(value, /^s:[^.]+\..+$/);
    const id = value.slice(2, value.lastIndexOf('.'));
    const cookie = (v: string): string => `connect.sid=${encodeURIComponent(v)}`;
    const refused = async (c: string): Promise<string> => {
      try {
        const socket = await connect(prod.url, c);
        socket.close();
        return 'connected';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const { sign } = await import('cookie-signature');
    const tries = {
      signed: await refused(user.cookie),
      otherSecret: await refused(cookie(`s:${sign(id, 'q'.repeat(40))}`)),
      tampered: await refused(cookie(`s:${id}x${value.slice(value.lastIndexOf('.'))}`)),
      unsigned: await refused(cookie(id)),
      unknownSession: await refused(cookie(`s:${sign('no-such-session', secret)}`)),
      quoted: await refused(`connect.sid="${encodeURIComponent(value)}"`),
      none: await refused('other=1'),
    };
    console.log(`[abuse-sessions] handshake cookies: ${figures(tries)}`);
    assert.deepEqual(tries, {
      signed: 'connected',
      otherSecret: ERRORS.unauthorized,
      tampered: ERRORS.unauthorized,
      unsigned: ERRORS.unauthorized,
      unknownSession: ERRORS.unauthorized,
      // express-session (the `cookie` package) takes a quoted value as the value: so does the socket.
      quoted: 'connected',
      none: ERRORS.unauthorized,
    });
  });

  it('every state-changing request from another origin gets 403, and so does a cross-site socket', async () => {
    const user = await login(dev.url, 'origin-user');
    const routes: [string, string, unknown][] = [
      ['POST', '/login', { name: 'origin-evil' }],
      ['POST', '/logout', {}],
      ['POST', '/sessionLogout', {}],
      ['POST', '/chat/create_chat', { room_name: 'evil', users: [] }],
      ['PUT', '/chat/create_chat', {}],
      ['DELETE', '/chat', {}],
      ['PATCH', '/login', {}],
    ];
    const foreign: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${dev.port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    const results: string[] = [];
    for (const [method, route, body] of routes) {
      for (const h of foreign) {
        const res = await fetch(`${dev.url}${route}`, {
          method,
          headers: { cookie: user.cookie, 'content-type': 'application/json', ...h },
          body: JSON.stringify(body),
          redirect: 'manual',
        });
        results.push(`${method} ${route} ${JSON.stringify(h)} → ${res.status}`);
        assert.equal(res.status, 403, results.at(-1));
      }
    }
    // Still signed in: none of the refused sign-outs took effect.
    assert.equal(await whoIs(dev.url, user.cookie), user.uid);
    // Same origin (and a browser's same-origin fetch without Origin) still works.
    const same = await fetch(`${dev.url}/chat/create_chat`, {
      method: 'POST',
      headers: { cookie: user.cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ room_name: 'fine', users: [] }),
    });
    assert.equal(same.status, 200);

    const crossSite = await connect(dev.url, user.cookie, { headers: { origin: 'https://evil.example' } }).then(
      (s) => (s.close(), 'connected'),
      (err: Error) => `refused: ${err.message}`,
    );
    console.log(
      `[abuse-sessions] origins: ${figures({ tried: results.length, refused: results.length, crossSiteSocket: crossSite, sameOrigin: same.status })}`,
    );
    assert.match(crossSite, /^refused/);
  });
});
