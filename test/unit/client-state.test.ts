/**
 * The page's state module (src/client/state/), in Node without a browser: message order and
 * de-duplication, the outbox's life (sending → settled / failed → retried → settled, discarded),
 * notices, resume marks and unread counts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message, RoomWithMessages } from '../../src/shared/types.js';
import { compareIds } from '../../src/client/ids.js';
import { roomItems } from '../../src/client/state/messages.js';
import { discard, fail, keepRooms, nextToSend, queue, retry, settle } from '../../src/client/state/outbox.js';
import {
  activateRoom,
  addMember,
  addNotice,
  addRoom,
  initialState,
  receive,
  receiveOlder,
  removeRoom,
  setLooking,
  setMembers,
  typingExpired,
  typingStarted,
} from '../../src/client/state/rooms.js';
import { caughtUp, freezeMarks, setConnected } from '../../src/client/state/marks.js';
import type { ChatState } from '../../src/client/state/types.js';

const me = { uid: 'u-me', name: 'Me', picture: '' };
const other = { uid: 'u-ann', name: 'Ann', picture: '' };

function msg(id: string, from = other, extra: Partial<Message> = {}): Message {
  return {
    id,
    room_id: 'r1',
    uid: from.uid,
    name: from.name,
    picture: '',
    msg: `text ${id}`,
    time: '2026-01-01T00:00:00.000Z',
    type: 'user',
    ...extra,
  };
}
const room = (id: string, messages: Message[] = []): RoomWithMessages => ({
  room_id: id,
  room_name: `Room ${id}`,
  messages,
});
const ids = (s: ChatState, r = 'r1'): string[] => s.rooms[r]!.messages.map((m) => m.id);
const keys = (s: ChatState, r = 'r1'): string[] => roomItems(s.rooms[r]!, s.outbox).map((i) => i.key);
/** A page loaded with these rooms, connected, each room caught up (a whole sync done). */
function connected(rooms: RoomWithMessages[]): ChatState {
  let s = setConnected(initialState(me, rooms), true, 0);
  for (const r of rooms) s = caughtUp(s, r.room_id);
  return s;
}

describe('messages', () => {
  test('ids compare as numbers: 9-0 < 10-0, 10-2 < 10-10', () => {
    assert.ok(compareIds('9-0', '10-0') < 0);
    assert.ok(compareIds('10-2', '10-10') < 0);
    assert.equal(compareIds('10-0', '10-0'), 0);
  });

  test('kept in id order whatever order they arrive in', () => {
    let s = connected([room('r1', [msg('9-0')])]);
    s = receive(s, 'r1', [msg('10-0'), msg('9-5')], 'live');
    s = receiveOlder(s, 'r1', [msg('8-0'), msg('1-0')], true);
    s = receive(s, 'r1', [msg('100-0'), msg('11-0')], 'page');
    assert.deepEqual(ids(s), ['1-0', '8-0', '9-0', '9-5', '10-0', '11-0', '100-0']);
    assert.equal(s.rooms.r1!.complete, true);
  });

  test('de-duplicated by id and by client_id', () => {
    let s = connected([room('r1', [msg('1-0')])]);
    const before = s;
    s = receive(s, 'r1', [msg('1-0')], 'page');
    assert.equal(s.rooms.r1, before.rooms.r1, 'a known id changes nothing');
    s = receive(s, 'r1', [msg('1-0')], 'live');
    assert.deepEqual(ids(s), ['1-0']);
    s = receive(s, 'r1', [msg('2-0', other, { client_id: 'cid-aaaa' })], 'live');
    s = receive(s, 'r1', [msg('3-0', other, { client_id: 'cid-aaaa' })], 'page');
    assert.deepEqual(ids(s), ['1-0', '2-0']);
  });

  test('notices sort after the message they followed; equal keys keep arrival order', () => {
    let s = connected([room('r1', [msg('9-0')])]);
    s = addNotice(s, 'r1', { msg: 'A joined', time: 't' });
    s = addNotice(s, 'r1', { msg: 'B joined', time: 't' });
    // A message older than the notices arrives late: it goes above them.
    s = receive(s, 'r1', [msg('10-0'), msg('8-0')], 'page');
    s = addNotice(s, 'r1', { msg: 'C left', time: 't' });
    const texts = roomItems(s.rooms.r1!, s.outbox).map((i) => (i.kind === 'notice' ? i.notice.msg : i.key));
    assert.deepEqual(texts, ['m:8-0', 'm:9-0', 'A joined', 'B joined', 'm:10-0', 'C left']);
  });
});

describe('outbox', () => {
  const typed = (s: ChatState, cid: string, text = cid): ChatState =>
    queue(s, { client_id: cid, room_id: 'r1', msg: text, time: '2026-01-01T00:00:00.000Z' });

  test('sending → settled by its acknowledgement, shown once', () => {
    let s = typed(connected([room('r1')]), 'cid-0001', 'hello');
    assert.deepEqual(keys(s), ['p:cid-0001']);
    assert.equal(nextToSend(s)?.client_id, 'cid-0001');
    s = settle(s, 'cid-0001', '5-0', '2026-01-01T00:00:01.000Z');
    assert.deepEqual(keys(s), ['m:5-0']);
    assert.equal(s.rooms.r1!.messages[0]!.client_id, 'cid-0001');
    // Its live copy afterwards changes nothing.
    const after = receive(s, 'r1', [msg('5-0', me, { client_id: 'cid-0001', msg: 'hello' })], 'live');
    assert.deepEqual(keys(after), ['m:5-0']);
  });

  test('settled by its internal_msg before the acknowledgement; the ack then adds nothing', () => {
    let s = typed(typed(connected([room('r1')]), 'cid-0001', 'same'), 'cid-0002', 'same');
    // Same text twice: matched by client_id, never by text.
    s = receive(s, 'r1', [msg('7-0', me, { client_id: 'cid-0002', msg: 'same' })], 'live');
    assert.deepEqual(keys(s), ['m:7-0', 'p:cid-0001']);
    s = settle(s, 'cid-0002', '7-0', 't');
    assert.deepEqual(keys(s), ['m:7-0', 'p:cid-0001']);
    s = settle(s, 'cid-0001', '6-0', 't');
    assert.deepEqual(keys(s), ['m:6-0', 'm:7-0']);
  });

  test('failed → retried → settled; one at a time in send order', () => {
    let s = typed(typed(connected([room('r1')]), 'cid-0001'), 'cid-0002');
    s = fail(s, 'cid-0001', 'rate limited');
    assert.equal(s.outbox[0]!.state, 'failed');
    assert.equal(s.outbox[0]!.reason, 'rate limited');
    assert.equal(nextToSend(s)?.client_id, 'cid-0002');
    s = settle(s, 'cid-0002', '2-0', 't');
    s = retry(s, 'cid-0001');
    assert.equal(s.outbox[0]!.state, 'sending');
    assert.equal(nextToSend(s)?.client_id, 'cid-0001');
    s = settle(s, 'cid-0001', '3-0', 't');
    assert.deepEqual(keys(s), ['m:2-0', 'm:3-0']);
    assert.equal(nextToSend(s), undefined);
  });

  test('discard removes a refused message only', () => {
    let s = typed(typed(connected([room('r1')]), 'cid-0001'), 'cid-0002');
    assert.equal(discard(s, 'cid-0001'), s, 'a message still sending cannot be discarded');
    s = discard(fail(s, 'cid-0001', 'invalid message'), 'cid-0001');
    assert.deepEqual(keys(s), ['p:cid-0002']);
  });

  test('kept across a reload unless the rendered page shows it stored', () => {
    const pending = [
      { client_id: 'cid-0001', room_id: 'r1', msg: 'a', time: 't', state: 'sending' as const },
      { client_id: 'cid-0002', room_id: 'r1', msg: 'b', time: 't', state: 'failed' as const, reason: 'rate limited' },
    ];
    const s = initialState(me, [room('r1', [msg('4-0', me, { client_id: 'cid-0001' })])], pending);
    assert.deepEqual(keys(s), ['m:4-0', 'p:cid-0002']);
    assert.equal(keepRooms(s, new Set(['r2'])).outbox.length, 0);
  });

  test('a room that goes takes its pending messages with it', () => {
    const s = removeRoom(typed(connected([room('r1'), room('r2')]), 'cid-0001'), 'r1');
    assert.deepEqual(s.outbox, []);
    assert.equal(s.active, 'r2');
  });
});

describe('resume marks', () => {
  test('move with live messages and pages, never with an acknowledgement', () => {
    let s = typed0(connected([room('r1', [msg('1-0')])]));
    assert.equal(s.rooms.r1!.resume, '1-0');
    s = receive(s, 'r1', [msg('2-0')], 'live');
    assert.equal(s.rooms.r1!.resume, '2-0');
    s = settle(s, 'cid-0001', '9-0', 't');
    assert.equal(s.rooms.r1!.resume, '2-0', 'an ack proves nothing about messages before it');
    s = receiveOlder(s, 'r1', [msg('0-5')], false);
    assert.equal(s.rooms.r1!.resume, '2-0');
  });

  test('the rendered page is a snapshot: live messages move no mark before the first catch-up', () => {
    let s = setConnected(initialState(me, [room('r1', [msg('1-0')])]), true, 0);
    s = receive(s, 'r1', [msg('5-0')], 'live');
    assert.equal(s.rooms.r1!.resume, '1-0', 'what came between the rendering and the join may be missing');
    s = caughtUp(receive(s, 'r1', [msg('2-0')], 'page'), 'r1');
    assert.equal(s.rooms.r1!.resume, '5-0');
  });

  test('a snapshot merged into a room moves its mark only where it reaches back to it', () => {
    let s = connected([room('r1', [msg('1-0')])]);
    s = addRoom(s, room('r1', [msg('7-0'), msg('8-0')]));
    assert.equal(s.rooms.r1!.resume, '1-0', '2..6 may be missing');
    s = addRoom(s, room('r1', [msg('1-0'), msg('9-0')]));
    assert.equal(s.rooms.r1!.resume, '9-0');
  });

  test('after a disconnect live messages do not move the mark until the room is caught up', () => {
    let s = setConnected(connected([room('r1', [msg('1-0')])]), false, 0);
    s = setConnected(s, true, 0);
    s = receive(s, 'r1', [msg('5-0')], 'live');
    assert.equal(s.rooms.r1!.resume, '1-0', 'messages 2..4 may be missing');
    s = receive(s, 'r1', [msg('3-0'), msg('4-0')], 'page');
    assert.equal(s.rooms.r1!.resume, '4-0');
    s = caughtUp(s, 'r1');
    assert.equal(s.rooms.r1!.resume, '5-0');
    s = receive(s, 'r1', [msg('6-0')], 'live');
    assert.equal(s.rooms.r1!.resume, '6-0');
    assert.deepEqual(ids(s), ['1-0', '3-0', '4-0', '5-0', '6-0']);
  });

  test('a resync takes the mark back to before the live messages that may follow a gap', () => {
    let s = connected([room('r1', [msg('1-0')])]);
    s = receive(s, 'r1', [msg('2-0')], 'live', 1_000);
    // 20 s of quiet: 2-0 is settled. Then 5-0 arrives live, 3-0 and 4-0 having been missed.
    s = receive(s, 'r1', [msg('5-0')], 'live', 21_000);
    s = receive(s, 'r1', [msg('6-0')], 'live', 22_000);
    assert.equal(s.rooms.r1!.resume, '6-0');
    const resynced = freezeMarks(s, 22_500);
    assert.equal(resynced.rooms.r1!.resume, '2-0', 'caught up from before the recent run');
    assert.equal(resynced.rooms.r1!.live, false);
    // Long after the last live message nothing is suspect: the mark stays.
    assert.equal(freezeMarks(s, 60_000).rooms.r1!.resume, '6-0');
  });

  function typed0(s: ChatState): ChatState {
    return queue(s, { client_id: 'cid-0001', room_id: 'r1', msg: 'x', time: 't' });
  }
});

describe('unread counts and typists', () => {
  test("the page starts from the server's unread counts (GET /chat's summary), and new messages add to them", () => {
    let s = setConnected(initialState(me, [room('r1'), { ...room('r2'), unread: 3 } as RoomWithMessages]), true, 0);
    assert.equal(s.rooms.r2!.unread, 3);
    s = receive(s, 'r2', [msg('7-0', other, { room_id: 'r2' })], 'live');
    assert.equal(s.rooms.r2!.unread, 4);
  });

  test("others' messages count unless the reader looks at the room", () => {
    let s = connected([room('r1'), room('r2')]);
    assert.equal(s.active, 'r1');
    s = receive(s, 'r2', [msg('1-0', me, { room_id: 'r2' }), msg('2-0', other, { room_id: 'r2' })], 'live');
    s = receive(s, 'r2', [msg('2-0', other, { room_id: 'r2' })], 'live');
    s = receive(s, 'r1', [msg('1-0')], 'live');
    assert.equal(s.rooms.r2!.unread, 1, 'own messages and duplicates do not count');
    assert.equal(s.rooms.r1!.unread, 0, 'looking at r1');
    s = setLooking(s, false);
    s = receive(s, 'r1', [msg('2-0'), msg('3-0', other, { type: 'server' })], 'page');
    assert.equal(s.rooms.r1!.unread, 1, 'server notices do not count');
    s = setLooking(s, true);
    assert.equal(s.rooms.r1!.unread, 0);
    // Opening a room does not read it: seeing its bottom does (the page says so with setLooking).
    s = activateRoom(s, 'r2', true);
    assert.equal(s.rooms.r2!.unread, 1);
    assert.equal(s.paneOpen, true);
    s = setLooking(s, true);
    assert.equal(s.rooms.r2!.unread, 0);
  });

  test('a mention of the reader in a room not looked at is marked until the room is read', () => {
    let s = connected([room('r1'), room('r2')]);
    s = receive(s, 'r2', [msg('1-0', other, { room_id: 'r2', msg: 'hello @bob' })], 'live');
    assert.equal(s.rooms.r2!.mentioned, false, 'someone else mentioned');
    s = receive(s, 'r2', [msg('2-0', other, { room_id: 'r2', msg: 'and @me too' })], 'live');
    assert.equal(s.rooms.r2!.mentioned, true);
    assert.equal(s.rooms.r2!.unread, 2);
    s = receive(s, 'r1', [msg('1-0', other, { msg: '@Me look' })], 'live');
    assert.equal(s.rooms.r1!.mentioned, false, 'looking at r1');
    s = setLooking(activateRoom(s, 'r2', true), true);
    assert.equal(s.rooms.r2!.mentioned, false);
    // Loaded history (older pages, snapshots) is not news.
    s = receive(s, 'r1', [msg('0-5', other, { msg: '@Me old' })], 'older');
    assert.equal(s.rooms.r1!.mentioned, false);
  });

  test('members for mentions: from the members answer and joins, once each', () => {
    let s = connected([room('r1')]);
    s = setMembers(s, 'r1', ['Ann', 'Me']);
    const same = setMembers(s, 'r1', ['Ann', 'Me']);
    assert.equal(same, s, 'unchanged names keep the state');
    s = addMember(s, 'r1', 'Cy');
    assert.equal(addMember(s, 'r1', 'Cy'), s);
    assert.deepEqual(s.rooms.r1!.members, ['Ann', 'Me', 'Cy']);
  });

  test('live messages for a room not shown yet wait for it', () => {
    let s = receive(connected([]), 'r9', [msg('3-0', other, { room_id: 'r9' })], 'live');
    s = addRoom(s, room('r9', [msg('1-0', other, { room_id: 'r9' })]));
    assert.deepEqual(ids(s, 'r9'), ['1-0', '3-0']);
    assert.equal(s.active, 'r9');
  });

  test('typing shows until it expires or the typist sends', () => {
    let s = typingStarted(connected([room('r1')]), 'r1', other.uid, other.name, 1000);
    s = typingStarted(s, 'r1', me.uid, me.name, 1000);
    assert.deepEqual(
      s.rooms.r1!.typists.map((t) => t.name),
      ['Ann'],
    );
    assert.equal(typingExpired(s, 5000).rooms.r1!.typists.length, 0);
    s = receive(s, 'r1', [msg('1-0')], 'live');
    assert.equal(s.rooms.r1!.typists.length, 0);
  });
});
