/**
 * The contract's HTTP routes end to end against a real node (built in this process, reached over
 * HTTP), in-process store and Redis mode: redirects, dev sign-in and its session cookie, the chat page, the JSON routes, the
 * same-origin rule, sign-out (also of open sockets), health and the CSP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, marker, sleep } from '../helpers/client.js';
import { closeAll, joinedRefs, openTab, postJson, send, signIn, uname, type User } from '../helpers/contract.js';
import { cleanRedis, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

const FOREIGN = 'http://evil.example';

async function get(url: string, cookie = ''): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

function sessionCookie(res: { headers: Headers }): string {
  const raw = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
  assert.ok(raw, 'no connect.sid cookie set');
  return raw;
}

function assertCsp(res: Response): void {
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp, 'no Content-Security-Policy header');
  const scriptSrc = csp
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('script-src'));
  assert.ok(scriptSrc, `CSP without script-src: ${csp}`);
  assert.doesNotMatch(scriptSrc, /'unsafe-inline'|'unsafe-eval'/);
  // default-src would be the fallback; it must not allow inline script either.
  assert.doesNotMatch(csp, /'unsafe-eval'/);
}

for (const mode of ['memory', 'redis'] as const) {
  describe(`HTTP routes (${mode} store)`, { skip: mode === 'redis' ? redisSkip : false }, () => {
    let server: InProcessServer;
    let url: string;

    before(async () => {
      // Above the default rate limit so one user can fill a room with 60 messages.
      server = await startInProcess({ redis: mode === 'redis', env: { RATE_LIMIT_COUNT: '100' } });
      url = server.url;
    });
    after(async () => {
      closeAll();
      await server?.stop();
      if (mode === 'redis' && server) await cleanRedis(server.prefix);
    });

    test('GET / redirects to /login signed out and to /chat signed in; GET /login is the form', async () => {
      const out = await get(`${url}/`);
      assert.equal(out.status, 302);
      assert.equal(out.headers.get('location'), '/login');
      const user = await signIn(url, uname('root'));
      const inn = await get(`${url}/`, user.cookie);
      assert.equal(inn.status, 302);
      assert.equal(inn.headers.get('location'), '/chat');
      const page = await get(`${url}/login`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /data-testid="login-form"/);
      assertCsp(page);
    });

    test('POST /login (form and JSON): 303 to /chat, httpOnly SameSite=Lax cookie, not Secure in test', async () => {
      const name = uname('form');
      const form = await fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: new URLSearchParams({ name, course: 'CS 101', role: 'mentor' }).toString(),
      });
      assert.equal(form.status, 303);
      assert.equal(form.headers.get('location'), '/chat');
      const raw = sessionCookie(form);
      assert.match(raw, /;\s*HttpOnly/i);
      assert.match(raw, /;\s*SameSite=Lax/i);
      assert.doesNotMatch(raw, /;\s*Secure/i);
      const cookie = raw.split(';')[0]!;
      const page = await get(`${url}/chat`, cookie);
      assert.equal(page.status, 200);
      assert.match(await page.text(), new RegExp(`data-name="${name}"[^>]*data-role="mentor"`));

      const json = await postJson(url, '/login', { name: uname('json') });
      assert.equal(json.status, 303);
      assert.equal(json.headers.get('location'), '/chat');
      assert.match(sessionCookie(json), /HttpOnly/i);
    });

    test('bad names and roles: 400, the form again with the reason, no cookie', async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['empty', { name: '' }, /name/],
        ['spaces only', { name: '    ' }, /name/],
        ['41 characters', { name: 'x'.repeat(41) }, /^The name is too long/],
        ['missing', {}, /name/],
        ['bad role', { name: uname('role'), role: 'admin' }, /student or mentor/],
      ];
      for (const [what, body, reason] of cases) {
        const res = await postJson(url, '/login', body);
        assert.equal(res.status, 400, what);
        assert.match(res.text, /data-testid="login-form"/, `${what}: no form`);
        const error = /data-testid="login-error">([^<]*)</.exec(res.text)?.[1] ?? '';
        assert.match(error, reason, `${what}: reason "${error}"`);
        assert.doesNotMatch(error, /^\w+: /, `${what}: the reason repeats the field name`);
        assert.equal(res.headers.getSetCookie().length, 0, `${what}: a cookie was set`);
      }
      // 40 characters after trimming is the longest allowed.
      assert.equal((await postJson(url, '/login', { name: `  ${'y'.repeat(40)}  ` })).status, 303);
      // Form-encoded bad input gets the form too.
      const form = await fetch(`${url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: 'name=%20%20',
      });
      assert.equal(form.status, 400);
      assert.match(await form.text(), /data-testid="login-error"/);
    });

    test('the same name is the same user: one uid in get_users after two sign-ins', async () => {
      const name = uname('same');
      const first = await signIn(url, name);
      const second = await signIn(url, `  ${name} `);
      const observer = await signIn(url, uname('observer'));
      const res = await get(`${url}/chat/get_users`, observer.cookie);
      const users = (await res.json()) as Record<string, { name: string }>;
      const matching = Object.entries(users).filter(([, u]) => u.name === name);
      assert.equal(matching.length, 1, JSON.stringify(matching));
      assert.equal(matching[0]![0], first.uid);
      // Both sessions are that one user: their pages carry the same uid.
      const uidOf = async (cookie: string) =>
        /data-uid="([^"]+)"/.exec(await (await get(`${url}/chat`, cookie)).text())?.[1];
      assert.equal(await uidOf(first.cookie), first.uid);
      assert.equal(await uidOf(second.cookie), first.uid);
    });

    test('sign-in regenerates the session id: a session presented before is not the one after', async () => {
      const a = await signIn(url, uname('fixation a'));
      const res = await postJson(url, '/login', { name: uname('fixation b') }, { cookie: a.cookie });
      assert.equal(res.status, 303);
      const after = sessionCookie(res).split(';')[0]!;
      assert.notEqual(after, a.cookie);
      const sid = (c: string) => decodeURIComponent(c.split('=')[1]!).split('.')[0];
      assert.notEqual(sid(after), sid(a.cookie));
      // The presented session was replaced, not kept alongside.
      assert.equal((await get(`${url}/chat`, a.cookie)).status, 302);
      assert.equal((await get(`${url}/chat`, after)).status, 200);
    });

    test('GET /chat: 302 signed out; signed in, every room listed, the first open with its last 50 messages', async () => {
      const out = await get(`${url}/chat`);
      assert.equal(out.status, 302);
      assert.equal(out.headers.get('location'), '/login');

      const me = await signIn(url, uname('pager'));
      const other = await signIn(url, uname('pager friend'));
      const big = (
        (
          await postJson(url, '/chat/create_chat', { room_name: 'Big room', users: [other.uid] }, { cookie: me.cookie })
        ).json() as {
          room_id: string;
        }
      ).room_id;
      const small = (
        (
          await postJson(url, '/chat/create_chat', { room_name: 'Small room', users: [] }, { cookie: me.cookie })
        ).json() as {
          room_id: string;
        }
      ).room_id;
      const tab = await openTab(me);
      await send(tab.socket, small, 'only one');
      // The big room has the newest activity: it comes first, open.
      for (let i = 1; i <= 60; i++) await send(tab.socket, big, `msg-${String(i).padStart(3, '0')}`);

      const res = await get(`${url}/chat`, me.cookie);
      assert.equal(res.status, 200);
      assertCsp(res);
      const html = await res.text();
      for (const [id, name] of [
        [big, 'Big room'],
        [small, 'Small room'],
      ] as const) {
        assert.match(
          html,
          new RegExp(`data-testid="conv" data-room-id="${id}"[^>]*>[^]*?data-testid="conv-name">${name}<`),
        );
      }
      // In `joined` order, the first (the open one) selected, the others not.
      assert.deepEqual(
        [...html.matchAll(/data-testid="conv" data-room-id="([^"]+)"/g)].map((m) => m[1]),
        [big, small],
      );
      assert.equal(html.match(/role="tab" aria-selected="true"/g)?.length, 1);
      assert.match(
        html,
        new RegExp(`id="tab-${big}" role="tab" aria-selected="true" aria-controls="pane-${big}" tabindex="0"`),
      );
      assert.match(
        html,
        new RegExp(`id="tab-${small}" role="tab" aria-selected="false" aria-controls="pane-${small}" tabindex="-1"`),
      );
      const pane = (id: string): string => {
        const start = html.indexOf(`data-testid="pane" data-room-id="${id}"`);
        assert.ok(start > 0, `no pane for ${id}`);
        const end = html.indexOf('</section>', start);
        return html.slice(start, end);
      };
      const bigPane = pane(big);
      assert.equal(bigPane.match(/data-testid="message"/g)?.length, 50);
      // The 11 oldest (the opening notice and msg-001..msg-010) are not rendered.
      assert.doesNotMatch(bigPane, /Chat started by/);
      for (let i = 1; i <= 10; i++)
        assert.ok(!bigPane.includes(`>msg-${String(i).padStart(3, '0')}<`), `msg ${i} rendered`);
      for (let i = 11; i <= 60; i++)
        assert.ok(bigPane.includes(`>msg-${String(i).padStart(3, '0')}<`), `msg ${i} missing`);
      assert.ok(bigPane.indexOf('>msg-011<') < bigPane.indexOf('>msg-060<'), 'oldest first');
      // The other rooms are listed with their last message; their messages are the browser's to render.
      assert.ok(!html.includes(`data-testid="pane" data-room-id="${small}"`), 'only the first room has a pane');
      const smallConv = html.slice(html.indexOf(`data-room-id="${small}"`));
      assert.match(smallConv.slice(0, smallConv.indexOf('</button>')), />[^<]*only one</);
      // No other room's messages anywhere in the page, not even in the page's data (the summary's last_message only).
      assert.equal(html.match(/data-testid="message"/g)?.length, 50);
      assert.equal(html.match(/only one/g)?.length, 2, "the preview and data-chat's last_message");
    });

    test('GET /chat/get_users: 401 signed out; every user but the caller as {uid: {name, course, picture}}', async () => {
      const out = await get(`${url}/chat/get_users`);
      assert.equal(out.status, 401);
      const a = await signIn(url, uname('lister'), { course: 'Maths' });
      const b = await signIn(url, uname('listed'), { course: 'Physics' });
      const res = await get(`${url}/chat/get_users`, a.cookie);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const users = (await res.json()) as Record<string, unknown>;
      assert.equal(users[a.uid], undefined, 'the caller is listed');
      assert.deepEqual(users[b.uid], { name: b.name, course: 'Physics', picture: '', online: false });
      for (const [uid, u] of Object.entries(users)) {
        assert.match(uid, /^\S+$/);
        assert.deepEqual(Object.keys(u as object).sort(), ['course', 'name', 'online', 'picture'], uid);
      }
      // A user with a socket open is online.
      const aTab = await openTab(a, url, false);
      const fromB = (await (await get(`${url}/chat/get_users`, b.cookie)).json()) as Record<string, unknown>;
      assert.deepEqual(fromB[a.uid], { name: a.name, course: 'Maths', picture: '', online: true });
      aTab.socket.close();
      assert.equal(fromB[b.uid], undefined);
    });

    test('GET /chat/get_users?q=&limit=: name prefix, case- and width-insensitive, best match first, caller left out', async () => {
      const tag = Math.random().toString(36).slice(2, 7);
      const names = [`Q${tag}ra`, `q${tag}ra Bell`, `Q${tag}ro`, `Q${tag}`, `Zz${tag}`];
      const users = [];
      for (const n of names) users.push(await signIn(url, n));
      const me = users[1]!;
      const search = async (query: string): Promise<{ status: number; names: string[] }> => {
        const res = await get(`${url}/chat/get_users?${query}`, me.cookie);
        if (res.status !== 200) return { status: res.status, names: [] };
        return {
          status: 200,
          names: Object.values((await res.json()) as Record<string, { name: string }>).map((u) => u.name),
        };
      };
      // JSON keeps the order the server chose: the exact name first, then by name.
      assert.deepEqual(await search(`q=q${tag}`), { status: 200, names: [`Q${tag}`, `Q${tag}ra`, `Q${tag}ro`] });
      const wide = Array.from(`Q${tag}R`, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
      assert.deepEqual(await search(`q=${encodeURIComponent(wide)}`), {
        status: 200,
        names: [`Q${tag}ra`, `Q${tag}ro`],
      });
      assert.deepEqual(await search(`q=q${tag}&limit=2`), { status: 200, names: [`Q${tag}`, `Q${tag}ra`] });
      assert.deepEqual(await search(`q=nobody${tag}`), { status: 200, names: [] });
      for (const bad of ['limit=0', 'limit=-3', 'limit=x', `q=${'x'.repeat(41)}`, 'q=a&q=b']) {
        assert.equal((await search(bad)).status, 400, bad);
      }
      // A limit past 200 counts as 200.
      assert.equal((await search(`q=q${tag}&limit=100000`)).status, 200);
    });

    test('POST /chat/create_chat: 401, 400 on bad input, then <uid>_0 and <uid>_1', async () => {
      const anon = await postJson(url, '/chat/create_chat', { room_name: 'x', users: [] });
      assert.equal(anon.status, 401);
      const me = await signIn(url, uname('creator'));
      const friend = await signIn(url, uname('friend'));
      const bad: [string, string | object][] = [
        ['unknown uid', { room_name: 'Room', users: [friend.uid, 'u-nobody'] }],
        ['empty name', { room_name: '', users: [friend.uid] }],
        ['blank name', { room_name: '   ', users: [friend.uid] }],
        ['41-char name', { room_name: 'n'.repeat(41), users: [friend.uid] }],
        ['users not an array', { room_name: 'Room', users: friend.uid }],
        ['users missing', { room_name: 'Room' }],
        ['not JSON', '{"room_name": "Room", "users": ['],
      ];
      for (const [what, body] of bad) {
        const res = await postJson(url, '/chat/create_chat', body, { cookie: me.cookie });
        assert.equal(res.status, 400, `${what}: ${res.text}`);
        const json = res.json() as { status: string; error: unknown };
        assert.equal(json.status, 'ERROR', what);
        assert.equal(typeof json.error, 'string', what);
      }
      const first = await postJson(
        url,
        '/chat/create_chat',
        { room_name: 'First', users: [friend.uid] },
        { cookie: me.cookie },
      );
      assert.equal(first.status, 200);
      assert.deepEqual(first.json(), { status: 'OK', room_id: `${me.uid}_0`, room_name: 'First' });
      const second = await postJson(
        url,
        '/chat/create_chat',
        { room_name: 'Second', users: [] },
        { cookie: me.cookie },
      );
      assert.deepEqual(second.json(), { status: 'OK', room_id: `${me.uid}_1`, room_name: 'Second' });
      // The refused attempts made no room: the friend is in exactly the first one.
      const tab = await openTab(friend, url, false);
      assert.deepEqual(await joinedRefs(tab.socket), [{ room_id: `${me.uid}_0`, room_name: 'First' }]);
    });

    test('a foreign Origin is refused with 403 and changes nothing', async () => {
      const me = await signIn(url, uname('origin'));
      const create = await postJson(
        url,
        '/chat/create_chat',
        { room_name: 'Evil', users: [] },
        { cookie: me.cookie, origin: FOREIGN },
      );
      assert.equal(create.status, 403);
      const name = uname('planted');
      const login = await postJson(url, '/login', { name }, { origin: FOREIGN });
      assert.equal(login.status, 403);
      assert.equal(login.headers.getSetCookie().length, 0);
      const logout = await postJson(url, '/logout', {}, { cookie: me.cookie, origin: FOREIGN });
      assert.equal(logout.status, 403);
      const crossSite = await postJson(
        url,
        '/chat/create_chat',
        { room_name: 'Evil', users: [] },
        { cookie: me.cookie, origin: '', 'sec-fetch-site': 'cross-site' },
      );
      assert.equal(crossSite.status, 403);
      // Nothing happened: still signed in, no room made (the next is _0), nobody named `name`.
      const users = (await (await get(`${url}/chat/get_users`, me.cookie)).json()) as Record<string, { name: string }>;
      assert.ok(!Object.values(users).some((u) => u.name === name), 'the foreign sign-in created a user');
      const ok = await postJson(url, '/chat/create_chat', { room_name: 'Mine', users: [] }, { cookie: me.cookie });
      assert.equal((ok.json() as { room_id: string }).room_id, `${me.uid}_0`);
    });

    test('POST /logout: 303 to /login, the cookie stops working and its open socket is disconnected', async () => {
      const me = await signIn(url, uname('leaver'));
      const otherSession = await signIn(url, me.name);
      const socket = await connect(url, me.cookie);
      const kept = await connect(url, otherSession.cookie);
      const reasons: string[] = [];
      const keptReasons: string[] = [];
      socket.on('disconnect', (r) => reasons.push(r));
      kept.on('disconnect', (r) => keptReasons.push(r));
      try {
        const res = await postJson(url, '/logout', {}, { cookie: me.cookie });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get('location'), '/login');
        const deadline = Date.now() + 3000;
        while (reasons.length === 0 && Date.now() < deadline) await sleep(20);
        assert.deepEqual(reasons, ['io server disconnect']);
        assert.equal((await get(`${url}/chat`, me.cookie)).status, 302);
        assert.equal((await get(`${url}/chat/get_users`, me.cookie)).status, 401);
        await assert.rejects(connect(url, me.cookie), /unauthorized/);
        // A dev sign-out ends that one session: the same user's other session stays (a wrongful
        // disconnect would have come with the session's own, before the marker's answer).
        await marker(kept);
        assert.deepEqual(keptReasons, []);
        assert.equal(kept.connected, true);
        assert.equal((await get(`${url}/chat`, otherSession.cookie)).status, 200);
        assert.equal((await postJson(url, '/sessionLogout', {}, { cookie: otherSession.cookie })).status, 303);
        assert.equal((await get(`${url}/chat`, otherSession.cookie)).status, 302);
      } finally {
        socket.close();
        kept.close();
      }
    });

    test('GET /healthz answers 200 {"status":"ok"}', async () => {
      const res = await get(`${url}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    });
  });
}

describe('CREATE_CHAT_ROLE=mentor', () => {
  let server: InProcessServer;
  before(async () => {
    server = await startInProcess({ env: { CREATE_CHAT_ROLE: 'mentor' } });
  });
  after(async () => {
    await server?.stop();
  });

  test('a student gets 403 and no room; a mentor gets 200', async () => {
    const student: User = await signIn(server.url, uname('student'));
    const mentor = await signIn(server.url, uname('mentor'), { role: 'mentor' });
    const refused = await postJson(
      server.url,
      '/chat/create_chat',
      { room_name: 'S', users: [mentor.uid] },
      { cookie: student.cookie },
    );
    assert.equal(refused.status, 403);
    assert.equal((refused.json() as { status: string }).status, 'ERROR');
    const ok = await postJson(
      server.url,
      '/chat/create_chat',
      { room_name: 'M', users: [student.uid] },
      { cookie: mentor.cookie },
    );
    assert.equal(ok.status, 200);
    assert.equal((ok.json() as { room_id: string }).room_id, `${mentor.uid}_0`);
    // The refused request made nothing: the student is in the mentor's room only.
    const tab = await openTab(student, server.url, false);
    assert.deepEqual(await joinedRefs(tab.socket), [{ room_id: `${mentor.uid}_0`, room_name: 'M' }]);
    tab.socket.close();
  });
});
