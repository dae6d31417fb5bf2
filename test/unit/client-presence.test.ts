/**
 * Who is here, in the page's state (src/client/state/presence.ts), in Node: presence from answers
 * and events, rosters kept by joins and exits, the direct conversation's other person, the
 * panel's count and order; and the room labels both renderers share (src/shared/room-label.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  joinRoster,
  leaveRoster,
  noteOnline,
  openPanel,
  peerPresence,
  presenceOf,
  rosterOrder,
  rosterSummary,
  setOnline,
  setPeer,
  setRoster,
} from '../../src/client/state/presence.js';
import { initialState } from '../../src/client/state/rooms.js';
import { DIRECT_PREFIX } from '../../src/shared/limits.js';
import { isDirectRoom, roomKind, roomLabel } from '../../src/shared/room-label.js';
import type { Member } from '../../src/shared/types.js';

const me = { uid: 'u-me', name: 'Me', picture: '' };
const direct = `${DIRECT_PREFIX}0123456789abcdef0123456789abcdef`;
const member = (uid: string, name: string, online: boolean): Member => ({ uid, name, picture: '', online });
const start = () =>
  initialState(me, [
    { room_id: 'r1', room_name: 'Team', messages: [] },
    { room_id: direct, room_name: 'Ann', messages: [] },
  ]);

describe('presence state', () => {
  test('nothing is known at first: no dot', () => {
    const s = start();
    assert.equal(presenceOf(s, 'u-ann'), '');
    assert.equal(peerPresence(s, direct), '');
    assert.equal(rosterSummary(s, 'r1'), null);
  });

  test('presence events turn a person on and off; a repeat changes nothing (same state back)', () => {
    const on = setOnline(start(), 'u-ann', true);
    assert.equal(presenceOf(on, 'u-ann'), 'online');
    assert.equal(setOnline(on, 'u-ann', true), on);
    const off = setOnline(on, 'u-ann', false);
    assert.equal(presenceOf(off, 'u-ann'), 'offline');
    assert.equal(presenceOf(on, 'u-ann'), 'online', 'the earlier state is left as it was');
  });

  test('get_users answers record presence', () => {
    const s = noteOnline(start(), [
      { uid: 'a', online: true },
      { uid: 'b', online: false },
    ]);
    assert.deepEqual([presenceOf(s, 'a'), presenceOf(s, 'b'), presenceOf(s, 'c')], ['online', 'offline', '']);
  });

  test('a members answer: roster, count, order (me, online, then by name)', () => {
    const s = setRoster(start(), 'r1', [
      member('u-zed', 'Zed', true),
      member('u-bob', 'Bob', false),
      member('u-me', 'Me', true),
      member('u-ann', 'Ann', true),
      member('u-cy', 'Cy', false),
    ]);
    assert.equal(rosterSummary(s, 'r1'), '5 members, 3 online');
    assert.deepEqual(
      rosterOrder(s, 'r1').map((p) => p.name),
      ['Me', 'Ann', 'Zed', 'Bob', 'Cy'],
    );
    const later = setOnline(setOnline(s, 'u-zed', false), 'u-bob', true);
    assert.equal(rosterSummary(later, 'r1'), '5 members, 3 online');
    assert.deepEqual(
      rosterOrder(later, 'r1').map((p) => p.name),
      ['Me', 'Ann', 'Bob', 'Cy', 'Zed'],
    );
    assert.equal(rosterSummary(setRoster(start(), 'r1', [member('u-me', 'Me', true)]), 'r1'), '1 member, 1 online');
  });

  test('joins add an online member once; exits remove them; a roster not asked for stays unasked', () => {
    let s = setRoster(start(), 'r1', [member('u-me', 'Me', true)]);
    s = joinRoster(s, 'r1', { uid: 'u-ann', name: 'Ann', picture: '' });
    assert.equal(rosterSummary(s, 'r1'), '2 members, 2 online');
    assert.equal(joinRoster(s, 'r1', { uid: 'u-ann', name: 'Ann', picture: '' }), s);
    s = leaveRoster(s, 'r1', 'u-ann');
    assert.equal(rosterSummary(s, 'r1'), '1 member, 1 online');
    assert.equal(leaveRoster(s, 'r1', 'u-ann'), s);
    const unasked = joinRoster(start(), 'r9', { uid: 'u-ann', name: 'Ann', picture: '' });
    assert.equal(rosterSummary(unasked, 'r9'), null);
    assert.equal(presenceOf(unasked, 'u-ann'), 'online', 'a join means they are online');
  });

  test("a direct conversation's dot follows its other person, learnt from members or from POST /chat/direct", () => {
    let s = setRoster(start(), direct, [member('u-me', 'Me', true), member('u-ann', 'Ann', false)]);
    assert.equal(s.people.peers[direct], 'u-ann');
    assert.equal(peerPresence(s, direct), 'offline');
    s = setOnline(s, 'u-ann', true);
    assert.equal(peerPresence(s, direct), 'online');
    assert.equal(peerPresence(s, 'r1'), '', 'groups have no dot');
    const group = setRoster(start(), 'r1', [member('u-me', 'Me', true), member('u-ann', 'Ann', true)]);
    assert.deepEqual(group.people.peers, {});
    const posted = setPeer(setOnline(start(), 'u-bob', false), direct, 'u-bob');
    assert.equal(peerPresence(posted, direct), 'offline');
    assert.equal(setPeer(posted, direct, 'u-bob'), posted);
  });

  test('the panel opens on one room and closes', () => {
    const open = openPanel(start(), 'r1');
    assert.equal(open.people.panel, 'r1');
    assert.equal(openPanel(open, 'r1'), open);
    assert.equal(openPanel(open, null).people.panel, null);
  });
});

describe('room labels (shared by the server and the browser macros)', () => {
  test('Random_<n> is shown as "Random chat <n>"; other rooms keep their names', () => {
    assert.equal(roomLabel('Random_3', 'Random_3'), 'Random chat 3');
    assert.equal(roomLabel('Random_12', 'Random_12'), 'Random chat 12');
    assert.equal(roomLabel('Random_3', 'u1_0'), 'Random_3', 'a group someone named Random_3 keeps its name');
    assert.equal(roomLabel('Ann', direct), 'Ann');
    assert.equal(roomLabel('Team', 'Random_x'), 'Team');
  });

  test('room kinds', () => {
    assert.deepEqual(['Random_0', direct, 'u1_0', 'Random_'].map(roomKind), ['random', 'direct', 'group', 'group']);
    assert.equal(isDirectRoom(direct), true);
  });
});
