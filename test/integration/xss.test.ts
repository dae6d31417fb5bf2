/**
 * User text is data, never markup: messages, a room name and a user name carrying HTML are
 * stored verbatim (history gives back the raw text) and appear in the server-rendered chat page
 * only escaped, on a page served with a CSP that allows no inline script or eval.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Message, RoomWithMessages } from '../../src/shared/types.js';
import { closeAll, expectExactly, history, openTab, postJson, send, signIn, uname } from '../helpers/contract.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

const SCRIPT = '<script>alert(1)</script>';
const IMG = '<img src=x onerror=alert(1)>';
const ATTR = '"><svg onload=alert(1)>';
const NAME = `<b onclick=alert(1)>${randomTag()}</b>`;

function randomTag(): string {
  return Math.random().toString(36).slice(2, 8);
}

function escapeHtml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** No raw tag from user text anywhere in the page. */
function assertNoRawMarkup(html: string): void {
  assert.doesNotMatch(html, /<script>alert/i);
  assert.doesNotMatch(html, /<img src=x/i);
  assert.doesNotMatch(html, /<svg onload/i);
  assert.doesNotMatch(html, /<b onclick/i);
  assert.doesNotMatch(html, /onerror=alert\(1\)>/);
  assert.doesNotMatch(html, /"><svg/);
}

describe('user text is never HTML', () => {
  let server: InProcessServer;
  before(async () => {
    server = await startInProcess();
  });
  after(async () => {
    closeAll();
    await server?.stop();
  });

  test('markup in messages, a room name and a user name: stored verbatim, rendered escaped, CSP set', async () => {
    const url = server.url;
    const evil = await signIn(url, NAME);
    assert.ok(NAME.length <= 40);
    const viewer = await signIn(url, uname('viewer'));
    const et = await openTab(evil);
    const vt = await openTab(viewer);
    const res = await postJson(
      url,
      '/chat/create_chat',
      { room_name: IMG, users: [viewer.uid] },
      { cookie: evil.cookie },
    );
    assert.equal(res.status, 200, res.text);
    const roomId = (res.json() as { room_id: string }).room_id;
    const res2 = await postJson(
      url,
      '/chat/create_chat',
      { room_name: ATTR, users: [viewer.uid] },
      { cookie: evil.cookie },
    );
    const room2 = (res2.json() as { room_id: string }).room_id;
    const [[added]] = (await expectExactly<RoomWithMessages>([vt], 'room_added', 1, (r) => r.room_id === roomId, {
      settleMs: 'marker',
    })) as [[RoomWithMessages]];
    assert.equal(added.room_name, IMG);

    const texts = [SCRIPT, IMG, `${ATTR} & ' "quoted"`];
    for (const t of texts) await send(et.socket, roomId, t);
    await send(vt.socket, room2, SCRIPT);
    // Live delivery carries the raw text, as data.
    const live = await expectExactly<Message>([vt], 'internal_msg', 3, (m) => m.room_id === roomId, {
      settleMs: 'marker',
    });
    assert.deepEqual(
      live[0]!.map((m) => [m.msg, m.name]),
      texts.map((t) => [t, NAME]),
    );
    // Stored verbatim.
    const stored = await history(vt.socket, { room_id: roomId });
    assert.deepEqual(
      stored.filter((m) => m.type === 'user').map((m) => [m.msg, m.name]),
      texts.map((t) => [t, NAME]),
    );
    assert.equal(stored[0]!.msg, `Chat started by ${NAME}`);
    const users = (await (
      await fetch(`${url}/chat/get_users`, { headers: { cookie: viewer.cookie } })
    ).json()) as Record<string, { name: string }>;
    assert.equal(users[evil.uid]!.name, NAME);

    for (const who of [viewer, evil]) {
      const page = await fetch(`${url}/chat`, { headers: { cookie: who.cookie } });
      assert.equal(page.status, 200);
      const csp = page.headers.get('content-security-policy') ?? '';
      const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? '';
      assert.match(scriptSrc, /'self'/);
      assert.doesNotMatch(scriptSrc, /unsafe-inline|unsafe-eval/);
      const html = await page.text();
      assertNoRawMarkup(html);
      // The texts are there, escaped (as text content and inside attributes).
      assert.ok(html.includes(escapeHtml(SCRIPT)), 'escaped script message missing');
      assert.ok(html.includes(escapeHtml(IMG)), 'escaped img message / room name missing');
      // data-chat='…' (single-quoted, views/chat.njk): nothing in it can end the attribute, and it
      // reads back as the names themselves.
      const attr = /data-chat='([^']*)'/.exec(html)?.[1] ?? '';
      assert.doesNotMatch(attr, /[<>]/);
      const data = JSON.parse(attr.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))) as {
        rooms: { room_name: string }[];
      };
      const names = data.rooms.map((r) => r.room_name);
      assert.ok(names.includes(IMG) && names.includes(ATTR), 'room names in data-chat, unescaped once parsed');
      assert.ok(html.includes(escapeHtml(NAME)), 'escaped user name missing');
      // Only our own scripts, by URL: no inline script in the page.
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        assert.match(m[1]!, /\bsrc="\/(vendor|build)\//, `a script without our src: ${m[0].slice(0, 200)}`);
        assert.equal(m[2]!.trim(), '', 'an inline script body');
      }
    }
    // The signed-in user's own name is escaped in the page's data attributes (the title shows the unread count, no name).
    const own = await (await fetch(`${url}/chat`, { headers: { cookie: evil.cookie } })).text();
    assert.ok(own.includes(`data-name="${escapeHtml(NAME)}"`));
    assert.match(own, /<title>(\(\d+\) )?Chat<\/title>/);
  });

  test('a rejected sign-in echoes the typed name escaped', async () => {
    const res = await postJson(server.url, '/login', { name: SCRIPT, role: 'hacker' });
    assert.equal(res.status, 400);
    assertNoRawMarkup(res.text);
    assert.ok(res.text.includes(`value="${escapeHtml(SCRIPT)}"`), 'typed name not echoed escaped');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });
});
