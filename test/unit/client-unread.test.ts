/**
 * Read marks, unread counts, activity order and opening rooms in the page's state module
 * (src/client/state/unread.ts, reads.ts), in Node without a browser: what GET /chat and `joined`
 * summarise is never counted twice, a mark moved here or elsewhere recounts, the list follows
 * activity, rooms listed by their summary load when opened, the divider, the title.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message, RoomSummary, RoomView } from '../../src/shared/types.js';
import { caughtUp, setConnected } from '../../src/client/state/marks.js';
import { applyRead, applySummaries, roomLoaded, totalUnread, unreadMark } from '../../src/client/state/reads.js';
import { activateRoom, addRoom, initialState, receive, setLooking } from '../../src/client/state/rooms.js';
import type { ChatState } from '../../src/client/state/types.js';
import { fillActivity, placeByActivity } from '../../src/client/state/unread.js';
import { titleFor } from '../../src/client/title.js';
import { convTimeLabel } from '../../src/client/view/conv-time.js';

const me = { uid: 'u-me', name: 'Me', picture: '' };
const ann = { uid: 'u-ann', name: 'Ann', picture: '' };

/** Message `<n>-0` of room `room`, sent at minute n of the day. */
function msg(room: string, n: number, from = ann, extra: Partial<Message> = {}): Message {
  return {
    id: `${n}-0`,
    room_id: room,
    uid: from.uid,
    name: from.name,
    picture: '',
    msg: `text ${n}`,
    time: `2026-01-01T00:${String(n).padStart(2, '0')}:00.000Z`,
    type: 'user',
    ...extra,
  };
}

/** A room as GET /chat hands it over: `messages` only for the first one. */
function view(
  room: string,
  last: Message | null,
  unread = 0,
  lastRead: string | null = null,
  messages: Message[] = [],
): RoomView {
  return { room_id: room, room_name: `Room ${room}`, last_message: last, last_read: lastRead, unread, messages };
}

const summary = (v: RoomView): RoomSummary => {
  const { messages: _m, ...s } = v;
  return s;
};

/** The page after load, connected; the first room caught up and read at its bottom unless `away`. */
function loaded(rooms: RoomView[], away = true): ChatState {
  let s = setConnected(initialState(me, rooms), true, 0);
  s = setLooking(s, !away);
  for (const r of rooms) s = caughtUp(s, r.room_id);
  return s;
}

describe('unread counts from the summary', () => {
  test("messages the server's count covers are not counted again (catch-up, a live delivery racing the summary)", () => {
    const r1 = [msg('r1', 1), msg('r1', 2)];
    let s = setLooking(
      setConnected(initialState(me, [view('r1', r1[1]!, 0, '2-0', r1), view('r2', msg('r2', 5), 2, '3-0')]), true, 0),
      false,
    );
    assert.equal(s.rooms.r2!.unread, 2);
    // Catch-up of r2 from its summary's newest message: 4-0 and 5-0 were counted, 6-0 is news.
    assert.equal(s.rooms.r2!.resume, '5-0', 'a room listed by its summary catches up after its newest message');
    s = receive(s, 'r2', [msg('r2', 4), msg('r2', 5), msg('r2', 6)], 'page');
    assert.equal(s.rooms.r2!.unread, 3);
    s = receive(s, 'r2', [msg('r2', 5), msg('r2', 6)], 'live');
    assert.equal(s.rooms.r2!.unread, 3, 'duplicates do not count');
  });

  test("where the server's count stopped (exact up to 99), a catch-up bringing more shows them all", () => {
    const first = [msg('r1', 1)];
    let s = loaded([view('r1', first[0]!, 0, '1-0', first), view('r2', msg('r2', 1), 0, null)]);
    // Offline while 150 came: the summary counts 100 of them, up to the newest.
    const news = Array.from({ length: 150 }, (_, i) => msg('r2', i + 2));
    s = applySummaries(s, [summary(view('r1', first[0]!, 0, '1-0')), summary(view('r2', news.at(-1)!, 100, null))]);
    assert.equal(s.rooms.r2!.unread, 100);
    s = receive(s, 'r2', news.slice(0, 100), 'page');
    assert.equal(s.rooms.r2!.unread, 100);
    s = receive(s, 'r2', news.slice(100), 'page');
    assert.equal(s.rooms.r2!.unread, 150);
  });

  test('a room listed by its summary only is not loaded: it loads when opened, with its count and divider', () => {
    const first = [msg('r1', 1)];
    let s = loaded([view('r1', first[0]!, 0, '1-0', first), view('r2', msg('r2', 9), 2, '7-0')]);
    const r2 = s.rooms.r2!;
    assert.equal(r2.loaded, false);
    assert.equal(r2.complete, false, 'not known to be complete before its history came');
    assert.equal(r2.last?.id, '9-0', "the preview is the summary's newest message");
    assert.equal(s.rooms.r1!.loaded, true);
    s = activateRoom(s, 'r2', true);
    assert.equal(s.rooms.r2!.divider, '7-0', 'the divider goes after the read mark the room opened with');
    assert.equal(unreadMark(s, 'r2'), null, 'nothing is read before the messages are here');
    s = roomLoaded(s, 'r2', [msg('r2', 6), msg('r2', 7), msg('r2', 8), msg('r2', 9)]);
    assert.equal(s.rooms.r2!.loaded, true);
    assert.equal(s.rooms.r2!.complete, true, 'fewer than a page: the beginning');
    assert.equal(s.rooms.r2!.unread, 2, 'loading is not news');
    assert.equal(unreadMark(s, 'r2'), '9-0');
    s = activateRoom(s, 'r1', false);
    assert.equal(s.rooms.r1!.divider, null, 'no divider where nothing was unread');
  });

  test('the room open at load shows the divider where it has unread messages', () => {
    const ms = [msg('r1', 1), msg('r1', 2), msg('r1', 3)];
    const s = initialState(me, [view('r1', ms[2]!, 2, '1-0', ms)]);
    assert.equal(s.rooms.r1!.divider, '1-0');
    assert.equal(initialState(me, [view('r1', null, 0, null)]).rooms.r1!.divider, null);
  });
});

describe('read marks', () => {
  test('a mark from elsewhere (read event) clears the count when it reaches the newest message, only forward', () => {
    let s = loaded([view('r1', msg('r1', 1), 0, '1-0', [msg('r1', 1)]), view('r2', msg('r2', 5), 3, '2-0')]);
    assert.equal(totalUnread(s), 3);
    const same = applyRead(s, 'r2', '1-0');
    assert.equal(same, s, 'an older mark changes nothing');
    s = applyRead(s, 'r2', '5-0');
    assert.equal(s.rooms.r2!.unread, 0);
    assert.equal(s.rooms.r2!.lastRead, '5-0');
    assert.equal(applyRead(s, 'r2', '5-0'), s, 'the same mark again changes nothing');
    assert.equal(totalUnread(s), 0);
  });

  test('a mark inside the messages here recounts them exactly; one inside messages never loaded keeps the count', () => {
    const ms = [1, 2, 3, 4].map((n) => msg('r1', n));
    let s = loaded([view('r1', ms[3]!, 3, '1-0', ms), view('r2', msg('r2', 9), 4, '5-0')]);
    s = applyRead(s, 'r1', '3-0');
    assert.equal(s.rooms.r1!.unread, 1);
    s = applyRead(s, 'r2', '7-0');
    assert.equal(s.rooms.r2!.unread, 4, 'not known how many are after 7-0: the next summary says');
    assert.equal(s.rooms.r2!.lastRead, '7-0');
  });

  test('an own message moves the mark to it: what came before is read', () => {
    let s = loaded([view('r1', null), view('r2', msg('r2', 2), 2, null)]);
    s = receive(s, 'r2', [msg('r2', 3)], 'live');
    assert.equal(s.rooms.r2!.unread, 3);
    s = receive(s, 'r2', [msg('r2', 4, me)], 'live');
    assert.equal(s.rooms.r2!.unread, 0);
    assert.equal(s.rooms.r2!.lastRead, '4-0');
    s = receive(s, 'r2', [msg('r2', 5)], 'live');
    assert.equal(s.rooms.r2!.unread, 1);
  });

  test('the mark to send: the newest stored message, only when newer than the known mark', () => {
    let s = loaded([view('r1', msg('r1', 2), 1, '1-0', [msg('r1', 1), msg('r1', 2)])]);
    assert.equal(unreadMark(s, 'r1'), '2-0');
    s = applyRead(s, 'r1', '2-0');
    assert.equal(unreadMark(s, 'r1'), null);
    assert.equal(unreadMark(s, 'nope'), null);
  });

  test('joined after a reconnect: the server says the count, plus what came here after its newest message', () => {
    let s = loaded([view('r1', msg('r1', 1), 0, '1-0', [msg('r1', 1)]), view('r2', msg('r2', 3), 1, '2-0')]);
    s = receive(s, 'r2', [msg('r2', 4)], 'live');
    assert.equal(s.rooms.r2!.unread, 2);
    // Read on another device meanwhile (mark 3-0): one unread up to 4-0 by the server's count.
    s = applySummaries(s, [summary(view('r2', msg('r2', 5), 1, '3-0')), summary(view('r1', msg('r1', 1), 0, '1-0'))]);
    assert.equal(s.rooms.r2!.unread, 1, "the server's 1 (5-0), 4-0 read elsewhere");
    assert.equal(s.rooms.r2!.lastRead, '3-0');
    assert.equal(s.rooms.r2!.last?.id, '5-0', 'the preview shows the newest message before catch-up brings it');
    assert.deepEqual(s.order, ['r2', 'r1'], "the server's order");
    s = receive(s, 'r2', [msg('r2', 5)], 'page');
    assert.equal(s.rooms.r2!.unread, 1, 'caught up: 5-0 was counted by the server');
  });

  test('joined while the reader is at the bottom of the open room: it stays read (its mark is on its way)', () => {
    let s = loaded([view('r1', msg('r1', 2), 1, '1-0', [msg('r1', 1), msg('r1', 2)])], false);
    assert.equal(s.rooms.r1!.unread, 0, 'looking at it');
    s = applySummaries(s, [summary(view('r1', msg('r1', 2), 1, '1-0'))]);
    assert.equal(s.rooms.r1!.unread, 0);
    s = applySummaries(setLooking(s, false), [summary(view('r1', msg('r1', 2), 1, '1-0'))]);
    assert.equal(s.rooms.r1!.unread, 1, 'not looking: the server says');
  });

  test('joined lists a room new to the page: added from its summary, loaded when opened', () => {
    let s = loaded([view('r1', msg('r1', 1), 0, '1-0', [msg('r1', 1)])]);
    s = applySummaries(s, [summary(view('r9', msg('r9', 8), 4, null)), summary(view('r1', msg('r1', 1), 0, '1-0'))]);
    assert.deepEqual(s.order, ['r9', 'r1']);
    assert.equal(s.rooms.r9!.unread, 4);
    assert.equal(s.rooms.r9!.loaded, false);
    assert.equal(s.active, 'r1', 'the open room stays open');
    assert.equal(titleFor(s), '(4) Chat');
    assert.equal(titleFor(applyRead(s, 'r9', '8-0')), 'Chat');
  });
});

describe('activity order', () => {
  test('a room moves to the top as a message arrives, others keep their order', () => {
    let s = loaded([
      view('a', msg('a', 9), 0, '9-0', [msg('a', 9)]),
      view('b', msg('b', 7)),
      view('c', null),
      view('d', msg('d', 3)),
    ]);
    assert.deepEqual(s.order, ['a', 'b', 'c', 'd']);
    assert.equal(s.rooms.c!.activity, s.rooms.b!.activity, 'a room without messages keeps its place in the list');
    s = receive(s, 'd', [msg('d', 10)], 'live');
    assert.deepEqual(s.order, ['d', 'a', 'b', 'c']);
    assert.equal(s.rooms.d!.last?.id, '10-0');
    s = receive(s, 'b', [msg('b', 2)], 'older');
    assert.deepEqual(s.order, ['d', 'a', 'b', 'c'], 'older messages are not activity');
    s = receive(s, 'c', [msg('c', 11, me)], 'live');
    assert.deepEqual(s.order, ['c', 'd', 'a', 'b']);
  });

  test('a room joined or created goes to the top', () => {
    let s = loaded([view('a', msg('a', 9), 0, '9-0', [msg('a', 9)]), view('b', msg('b', 7))]);
    s = addRoom(s, { room_id: 'n', room_name: 'New', messages: [] });
    assert.deepEqual(s.order, ['n', 'a', 'b']);
  });

  test('placeByActivity and fillActivity', () => {
    const rooms = Object.fromEntries(
      [
        ['x', '3'],
        ['y', '2'],
        ['z', '2'],
      ].map(([id, activity]) => [id, { activity } as ChatState['rooms'][string]]),
    );
    assert.deepEqual(placeByActivity(['x', 'y', 'z'], rooms, 'z'), ['x', 'y', 'z'], 'a tie keeps its place');
    assert.deepEqual(placeByActivity(['y', 'z', 'x'], rooms, 'x'), ['x', 'y', 'z']);
    assert.deepEqual(fillActivity(['', 'b', '', 'a', '']), ['b', 'b', 'b', 'a', 'a']);
  });
});

describe('the list shows when', () => {
  const now = new Date(2026, 4, 20, 15, 0);
  test('today as a time, then Yesterday, a weekday within the week, else a date', () => {
    assert.equal(convTimeLabel(new Date(2026, 4, 20, 9, 5), now, 'en-GB'), '9:05');
    assert.equal(convTimeLabel(new Date(2026, 4, 19, 23, 0), now, 'en-GB'), 'Yesterday');
    assert.equal(convTimeLabel(new Date(2026, 4, 16, 9, 0), now, 'en-GB'), 'Sat');
    assert.equal(convTimeLabel(new Date(2026, 3, 2, 9, 0), now, 'en-GB'), '2 Apr');
    assert.equal(convTimeLabel(new Date(2025, 3, 2, 9, 0), now, 'en-GB'), '2 Apr 2025');
  });
});
