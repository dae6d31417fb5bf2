/**
 * Who may be whom (issue "Nobody becomes somebody else"), through HTTP and Socket.IO only:
 * production refuses the name-only sign-in unless allowed; names are normalised and look-alike
 * or invisible ones refused; AUTH=password accounts on two nodes of one Redis (argon2id, one
 * account per folded name, the same answer for a wrong name and a wrong password, the per-name
 * lock-out); sign-ins per client address, from several loopback addresses; a socket closed when
 * a new sign-in replaces its session; form fields that are objects answered 400, never 500.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { LIMITS } from '../../src/shared/limits.js';
import { connect, emitAck } from '../helpers/client.js';
import { postJson, uname } from '../helpers/contract.js';
import { createKeys } from '../../src/store/keys.js';
import {
  cleanRedis,
  redisSkip,
  root,
  startInProcess,
  startServer,
  testRedisUrl,
  type InProcessServer,
} from '../helpers/server.js';

/** POST a form from a chosen local address (all of 127.0.0.0/8 reaches this machine). */
function postFrom(
  url: string,
  route: string,
  body: Record<string, string>,
  opts: { from?: string; cookie?: string } = {},
): Promise<{ status: number; text: string; cookie: string }> {
  const u = new URL(route, url);
  const data = new URLSearchParams(body).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        localAddress: opts.from,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(data),
          origin: url,
          ...(opts.cookie ? { cookie: opts.cookie } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            cookie: (res.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '',
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const errorOf = (html: string): string => /data-testid="login-error">([^<]*)</.exec(html)?.[1]?.trim() ?? '';

describe('production refuses AUTH=dev unless ALLOW_DEV_AUTH=true', () => {
  const start = (env: Record<string, string>): Promise<{ code: number | null; err: string }> =>
    new Promise((resolve) => {
      const proc = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], {
        cwd: root,
        env: {
          ...process.env,
          NODE_ENV: 'production',
          SESSION_SECRET: 'x'.repeat(40),
          REDIS_URL: '',
          PORT: '0',
          LOG_LEVEL: 'silent',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => proc.kill('SIGTERM'), 4000);
      proc.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, err });
      });
    });

  test('AUTH=dev (and AUTH unset) with NODE_ENV=production stops with a message naming both variables', async () => {
    for (const env of [{ AUTH: 'dev' }, {}] as Record<string, string>[]) {
      const { code, err } = await start(env);
      assert.equal(code, 1, JSON.stringify(env));
      assert.match(err, /AUTH=dev/);
      assert.match(err, /ALLOW_DEV_AUTH/);
    }
  });

  test('with ALLOW_DEV_AUTH=true it starts (and keeps running until stopped)', async () => {
    const server = await startServer({
      env: { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), AUTH: 'dev', ALLOW_DEV_AUTH: 'true' },
    });
    const page = await fetch(`${server.url}/login`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-testid="dev-notice"[^>]*>[\s\S]*anyone can sign in with any name/);
    await server.stop();
  });
});

describe('names and form fields (dev sign-in)', () => {
  let server: InProcessServer;
  before(async () => {
    server = await startInProcess();
  });
  after(async () => {
    await server?.stop();
  });

  test('invisible, control, bidi-override, blank and script-mixing names: 400 with the reason, no user made', async () => {
    const bad: [string, RegExp][] = [
      ['Zo\u200Be', /invisible/],
      ['Zo\u200De', /invisible/],
      ['Zo\u00ADe', /invisible/],
      ['\u200B\u200B', /invisible|shows nothing|Enter a name/],
      ['\u2800', /shows nothing/],
      ['\u3164', /invisible|shows nothing/],
      ['\u0301\u0301', /shows nothing/],
      ['evil\u202Etxt.exe', /direction/],
      ['a\u0007b', /control/],
      ['\u0396oe', /alphabets/],
    ];
    for (const [name, reason] of bad) {
      const res = await postJson(server.url, '/login', { name });
      assert.equal(res.status, 400, JSON.stringify(name));
      assert.match(errorOf(res.text), reason, JSON.stringify(name));
      assert.equal(res.headers.getSetCookie().length, 0);
    }
  });

  test('a fullwidth name is the same user as its plain form (NFKC)', async () => {
    const plain = `Zed${Math.random().toString(36).slice(2, 8)}`;
    const wide = Array.from(plain, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join('');
    const a = await postJson(server.url, '/login', { name: plain });
    const b = await postJson(server.url, '/login', { name: wide });
    assert.equal(a.status, 303);
    assert.equal(b.status, 303);
    const cookie = (b.headers.getSetCookie()[0] ?? '').split(';')[0]!;
    const page = await fetch(`${server.url}/chat`, { headers: { cookie } });
    assert.match(await page.text(), new RegExp(`data-name="${plain}"`));
  });

  test('object-valued name, course or role: 400 with the form, never 500', async () => {
    for (const body of [
      { name: { toString: 1 } },
      { name: 'ok name', course: { toString: 'x' } },
      { name: 'ok name', role: { valueOf: 1, toString: 2 } },
      { name: ['a', 'b'] },
    ]) {
      const res = await postJson(server.url, '/login', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.text, /data-testid="login-form"/);
    }
  });

  test('a new sign-in in the same browser closes the sockets of the session it replaces', async () => {
    const first = await postFrom(server.url, '/login', { name: uname('first') });
    assert.equal(first.status, 303);
    const socket = await connect(server.url, first.cookie);
    assert.equal((await emitAck(socket, 'joined', {})).ok, true);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', (why) => resolve(why)));
    // The same browser (same cookie) signs in as somebody else.
    const second = await postFrom(server.url, '/login', { name: uname('second') }, { cookie: first.cookie });
    assert.equal(second.status, 303);
    assert.notEqual(second.cookie, first.cookie);
    assert.equal(await closed, 'io server disconnect');
    await assert.rejects(connect(server.url, first.cookie), /unauthorized/);
    socket.close();
  });
});

describe('AUTH=password on two nodes of one Redis', { skip: redisSkip, timeout: 120_000 }, () => {
  let a: InProcessServer;
  let b: InProcessServer;
  let prefix = '';
  before(async () => {
    // The contract's default per-address limit (the helper raises it for other suites).
    const env = { AUTH: 'password', SIGNINS_PER_MINUTE: String(LIMITS.signInsPerMinute) };
    a = await startInProcess({ redis: true, env });
    prefix = a.prefix;
    b = await startInProcess({ redis: true, prefix, env });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (prefix) await cleanRedis(prefix);
  });

  test('sign-up signs in; the name is then taken on every node, after NFKC and case folding; the account is unchanged', async () => {
    const name = `Ada ${Math.random().toString(36).slice(2, 8)}`;
    const up = await postFrom(
      a.url,
      '/signup',
      { name, password: 'correct horse', course: 'CS' },
      { from: '127.0.0.11' },
    );
    assert.equal(up.status, 303, errorOf(up.text));
    const chat = await fetch(`${b.url}/chat`, { headers: { cookie: up.cookie } });
    assert.equal(chat.status, 200, 'the session works on the other node');
    for (const variant of [name.toUpperCase(), name.toLowerCase(), `  ${name}  `, name.replace('A', 'Ａ')]) {
      const dup = await postFrom(
        b.url,
        '/signup',
        { name: variant, password: 'another password' },
        { from: '127.0.0.11' },
      );
      assert.equal(dup.status, 400, variant);
      assert.match(errorOf(dup.text), /taken/);
    }
    // The first account still signs in with its own password, not the others'.
    assert.equal(
      (await postFrom(b.url, '/login', { name, password: 'correct horse' }, { from: '127.0.0.11' })).status,
      303,
    );
    assert.equal(
      (await postFrom(b.url, '/login', { name, password: 'another password' }, { from: '127.0.0.11' })).status,
      401,
    );
  });

  test('password rules, argon2id in the store, never in any answer', async () => {
    const name = `Bea ${Math.random().toString(36).slice(2, 8)}`;
    const short = await postFrom(a.url, '/signup', { name, password: 'short' }, { from: '127.0.0.12' });
    assert.equal(short.status, 400);
    assert.match(errorOf(short.text), /at least 8/);
    const up = await postFrom(a.url, '/signup', { name, password: 'a long enough one' }, { from: '127.0.0.12' });
    assert.equal(up.status, 303);
    const redis = new Redis(testRedisUrl);
    const hashes = await redis.hvals(createKeys(prefix).passwords());
    await redis.quit();
    assert.ok(hashes.length > 0 && hashes.every((h) => h.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')), hashes[0]);
    const other = await postFrom(
      a.url,
      '/signup',
      { name: `Cy ${name.slice(4)}`, password: 'yet another one' },
      { from: '127.0.0.12' },
    );
    const users = await (await fetch(`${a.url}/chat/get_users`, { headers: { cookie: other.cookie } })).text();
    const page = await (await fetch(`${a.url}/chat`, { headers: { cookie: up.cookie } })).text();
    for (const text of [users, page]) assert.doesNotMatch(text, /argon2|password/i);
    assert.match(users, new RegExp(name));
  });

  test('wrong password and unknown name: the same 401 answer; 5 failures lock the name (429) on every node, even for the right password', async () => {
    const name = `Dee ${Math.random().toString(36).slice(2, 8)}`;
    const from = '127.0.0.13';
    assert.equal((await postFrom(a.url, '/signup', { name, password: 'right password' }, { from })).status, 303);
    const wrong = await postFrom(a.url, '/login', { name, password: 'wrong password' }, { from });
    const unknown = await postFrom(a.url, '/login', { name: `${name}x`, password: 'right password' }, { from });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(errorOf(wrong.text), errorOf(unknown.text));
    assert.equal(wrong.text.replace(/value="[^"]*"/g, ''), unknown.text.replace(/value="[^"]*"/g, ''));
    // Four more failures (five in all), alternating nodes.
    for (let i = 0; i < 4; i++) {
      const r = await postFrom(
        i % 2 ? a.url : b.url,
        '/login',
        { name: name.toUpperCase(), password: `nope ${i}` },
        { from },
      );
      assert.equal(r.status, 401);
    }
    for (const node of [a, b]) {
      const locked = await postFrom(node.url, '/login', { name, password: 'right password' }, { from });
      assert.equal(locked.status, 429);
      assert.match(errorOf(locked.text), /15 minutes/);
      assert.equal(locked.cookie, '');
    }
    // Another name is not locked.
    const other = `Eve ${Math.random().toString(36).slice(2, 8)}`;
    assert.equal((await postFrom(b.url, '/signup', { name: other, password: 'fine password' }, { from })).status, 303);
    assert.equal((await postFrom(a.url, '/login', { name: other, password: 'fine password' }, { from })).status, 303);
  });

  test('30 sign-ins a minute per client address, counted across nodes; other addresses unaffected', async () => {
    const from = '127.0.0.21';
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const r = await postFrom(
        i % 2 ? a.url : b.url,
        '/login',
        { name: `nobody ${i}`, password: 'whatever1' },
        { from },
      );
      statuses.push(r.status);
    }
    assert.deepEqual(statuses.slice(0, 30), Array(30).fill(401));
    assert.equal(statuses[30], 429);
    const signup = await postFrom(a.url, '/signup', { name: uname('late'), password: 'password1' }, { from });
    assert.equal(signup.status, 429, 'sign-ups count toward the same limit');
    const elsewhere = await postFrom(
      a.url,
      '/signup',
      { name: uname('fresh'), password: 'password1' },
      { from: '127.0.0.22' },
    );
    assert.equal(elsewhere.status, 303);
  });

  test('sign-up makes a student; only the operator script makes a mentor (`npm run user -- mentor NAME`)', async () => {
    const name = `Fay ${Math.random().toString(36).slice(2, 8)}`;
    const from = '127.0.0.15';
    const up = await postFrom(a.url, '/signup', { name, password: 'mentor to be', role: 'mentor' }, { from });
    assert.equal(up.status, 303);
    const role = async (): Promise<string | undefined> =>
      /data-role="(\w+)"/.exec(await (await fetch(`${b.url}/chat`, { headers: { cookie: up.cookie } })).text())?.[1];
    assert.equal(await role(), 'student', 'a role in the sign-up form is ignored');
    const cli = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'user.js'), 'mentor', name.toUpperCase()], {
      env: { ...process.env, REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, AUTH: 'password', NODE_ENV: 'test' },
      encoding: 'utf8',
    });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /is now a mentor/);
    assert.equal(await role(), 'mentor');
    const unknown = spawnSync(process.execPath, [path.join(root, 'dist', 'cli', 'user.js'), 'mentor', 'Nobody Here'], {
      env: { ...process.env, REDIS_URL: testRedisUrl, REDIS_PREFIX: prefix, AUTH: 'password', NODE_ENV: 'test' },
      encoding: 'utf8',
    });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no user/);
  });

  test('dev routes are gone: POST /login with only a name is 400, not a sign-in', async () => {
    const r = await postFrom(a.url, '/login', { name: uname('nopass') }, { from: '127.0.0.14' });
    assert.equal(r.status, 400);
    assert.equal(r.cookie, '');
  });
});
