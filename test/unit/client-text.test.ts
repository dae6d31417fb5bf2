/**
 * The page's pure display rules, in Node: message text into parts (links by linkify-it, only
 * http/https/mailto; mentions of members), day separators and sender groups, the message box's
 * counter and refusal, and the reconnect back-off.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { backoffDelay, FIRST_MS, MAX_MS } from '../../src/client/backoff.js';
import { checkDraft } from '../../src/client/composer.js';
import type { Item } from '../../src/client/state/messages.js';
import { mentionsMe, tokenize } from '../../src/client/text.js';
import { dayLabel, timeLabel, toRows } from '../../src/client/view/rows.js';
import { themeFor } from '../../src/client/theme.js';

describe('message text into parts', () => {
  test('http, https and mailto become links; the rest stays text', () => {
    const parts = tokenize('see https://example.com/a?b=1, www.example.org and a@b.com now');
    assert.deepEqual(parts, [
      { t: 'text', text: 'see ' },
      { t: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { t: 'text', text: ', ' },
      { t: 'link', text: 'www.example.org', href: 'http://www.example.org' },
      { t: 'text', text: ' and ' },
      { t: 'link', text: 'a@b.com', href: 'mailto:a@b.com' },
      { t: 'text', text: ' now' },
    ]);
  });

  test('nothing else ever becomes a link: javascript:, data:, ftp:, protocol-relative, markup', () => {
    for (const text of [
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'ftp://example.com/file',
      '//example.com/x',
      '<a href="x">y</a>',
      'file:///etc/passwd',
    ]) {
      const links = tokenize(text).filter((p) => p.t === 'link');
      assert.deepEqual(links, [], text);
    }
    // Every part is text: joined, they give back the message exactly.
    const text = 'a <b>bold</b> https://x.org/?q=<script> & "quotes"\nline two';
    assert.equal(
      tokenize(text)
        .map((p) => p.text)
        .join(''),
      text,
    );
  });

  test('a mention is "@" and a member\'s name (longest first, any case), not inside a word or a link', () => {
    const parts = tokenize(
      'hi @bob abc and @Bob, mail bob@Bob.com, @Bobby, x@Ann @Ann!',
      ['Bob', 'Bob abc', 'Ann'],
      'Ann',
    );
    assert.deepEqual(
      parts.filter((p) => p.t === 'mention'),
      [
        { t: 'mention', text: '@bob abc', me: false },
        { t: 'mention', text: '@Bob', me: false },
        { t: 'mention', text: '@Ann', me: true },
      ],
    );
    assert.equal(parts.map((p) => p.text).join(''), 'hi @bob abc and @Bob, mail bob@Bob.com, @Bobby, x@Ann @Ann!');
    // Right-to-left names too.
    assert.deepEqual(
      tokenize('שלום @דנה', ['דנה']).filter((p) => p.t === 'mention'),
      [{ t: 'mention', text: '@דנה', me: false }],
    );
  });

  test("mentionsMe: only a mention of the reader's own name", () => {
    assert.equal(mentionsMe('ping @Ann please', 'Ann'), true);
    assert.equal(mentionsMe('ping @ann', 'Ann'), true);
    assert.equal(mentionsMe('ping @Anna', 'Ann'), false);
    assert.equal(mentionsMe('mail ann@Ann.com', 'Ann'), false);
    assert.equal(mentionsMe('Ann without at', 'Ann'), false);
  });
});

const at = (y: number, mo: number, d: number, h = 12, mi = 0): Date => new Date(y, mo - 1, d, h, mi);

function message(id: string, uid: string, time: Date, type: 'user' | 'server' = 'user'): Item {
  const m: Message = { id, room_id: 'r', uid, name: uid, picture: '', msg: id, time: time.toISOString(), type };
  return { kind: 'message', key: `m:${id}`, message: m };
}

describe('days and groups', () => {
  const now = at(2026, 12, 5, 15);

  test('day labels: Today, Yesterday, then a date in the locale (with the year when not this one)', () => {
    assert.equal(dayLabel(at(2026, 12, 5, 0, 1), now), 'Today');
    assert.equal(dayLabel(at(2026, 12, 4, 23, 59), now), 'Yesterday');
    assert.equal(dayLabel(at(2026, 12, 3), now, 'en-US'), 'Thursday, December 3');
    assert.equal(dayLabel(at(2025, 12, 31), now, 'en-US'), 'Wednesday, December 31, 2025');
    assert.equal(dayLabel(at(2026, 12, 3), now, 'de'), 'Donnerstag, 3. Dezember');
    // Across a new year: 1 January's yesterday is 31 December.
    assert.equal(dayLabel(at(2025, 12, 31, 22), at(2026, 1, 1, 9)), 'Yesterday');
  });

  test('times without a leading zero, in the locale', () => {
    assert.equal(timeLabel(at(2026, 12, 5, 7, 5), 'en-US'), '7:05 AM');
    assert.equal(timeLabel(at(2026, 12, 5, 19, 18), 'en-US'), '7:18 PM');
    assert.equal(timeLabel(at(2026, 12, 5, 7, 5), 'en-GB'), '7:05');
  });

  test('a separator before each day; one sender within 5 minutes is one group', () => {
    const items = [
      message('1-0', 'ann', at(2026, 12, 4, 23, 58)),
      message('2-0', 'ann', at(2026, 12, 5, 0, 1)), // new day: a new group
      message('3-0', 'ann', at(2026, 12, 5, 0, 4)), // 3 minutes: continues
      message('4-0', 'ann', at(2026, 12, 5, 0, 9)), // 5 minutes exactly: continues
      message('5-0', 'ann', at(2026, 12, 5, 0, 15)), // 6 minutes: a new group
      message('6-0', 'bob', at(2026, 12, 5, 0, 16)), // another sender
      message('7-0', 'system', at(2026, 12, 5, 0, 16), 'server'), // a notice breaks the group
      message('8-0', 'bob', at(2026, 12, 5, 0, 17)),
    ];
    const rows = toRows(items, 'me', now, 'en-US');
    assert.deepEqual(
      rows.map((r) => (r.kind === 'day' ? `[${r.label}]` : `${r.key}${r.cont ? '+' : ''}`)),
      ['[Yesterday]', 'm:1-0', '[Today]', 'm:2-0', 'm:3-0+', 'm:4-0+', 'm:5-0', 'm:6-0', 'm:7-0', 'm:8-0'],
    );
  });

  test('own pending messages continue own stored ones', () => {
    const own = message('1-0', 'me', at(2026, 12, 5, 10));
    const pending: Item = {
      kind: 'pending',
      key: 'p:abc',
      pending: {
        client_id: 'abc',
        room_id: 'r',
        msg: 'x',
        time: at(2026, 12, 5, 10, 1).toISOString(),
        state: 'sending',
      },
    };
    const rows = toRows([own, pending], 'me', now);
    assert.deepEqual(
      rows.map((r) => (r.kind === 'day' ? 'day' : r.cont)),
      ['day', false, true],
    );
  });
});

describe('message box', () => {
  test('a counter near 2,000, a refusal past it that says by how much, nothing cut', () => {
    assert.deepEqual(checkDraft('hello'), { length: 5, counter: '', error: '', sendable: true });
    assert.equal(checkDraft('   ').sendable, false);
    assert.equal(checkDraft('x'.repeat(1800)).counter, '1,800 / 2,000');
    assert.equal(checkDraft('x'.repeat(2000)).sendable, true);
    // Counted after trimming, as the server does.
    assert.equal(checkDraft(`  ${'x'.repeat(2000)}\n`).sendable, true);
    const over = checkDraft('x'.repeat(2345));
    assert.equal(over.sendable, false);
    assert.equal(over.counter, '2,345 / 2,000');
    assert.equal(over.error, 'Too long to send: 2,345 characters, the limit is 2,000. Remove 345 characters.');
    assert.match(checkDraft('x'.repeat(2001)).error, /Remove 1 character\.$/);
  });
});

describe('reconnect back-off', () => {
  test('doubles from 1 s to at most 30 s, each pause in the upper half of its step', () => {
    assert.equal(backoffDelay(0, 0), FIRST_MS / 2);
    assert.equal(backoffDelay(0, 0.999999), FIRST_MS);
    assert.equal(backoffDelay(1, 0), 1000);
    assert.equal(backoffDelay(4, 1 - 1e-9), 16_000);
    for (const attempt of [5, 6, 10, 100, 10_000]) {
      assert.ok(backoffDelay(attempt, 0.999) <= MAX_MS);
      assert.ok(backoffDelay(attempt, 0) >= MAX_MS / 2);
    }
    // Jitter: pauses of one step differ from tab to tab.
    const pauses = new Set(Array.from({ length: 20 }, () => backoffDelay(3)));
    assert.ok(pauses.size > 1);
    for (const p of pauses) assert.ok(p >= 4000 && p <= 8000);
  });
});

describe('colour modes', () => {
  test('"as the system" follows the system; light and dark are kept', () => {
    assert.equal(themeFor('auto', true), 'dark');
    assert.equal(themeFor('auto', false), 'light');
    assert.equal(themeFor('light', true), 'light');
    assert.equal(themeFor('dark', false), 'dark');
  });
});
