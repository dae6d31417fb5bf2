import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardChannel } from '../../src/store/fanout.js';
import { createKeys, type Keys } from '../../src/store/keys.js';
import { keySlot as calculateSlot } from '../helpers/redis-cluster.js';

/** Every key the store can make for two users and two rooms. */
function allKeys(keys: Keys): Record<string, string> {
  const out: Record<string, string> = {
    users: keys.users(),
    userIndex: keys.userIndex(),
    accountNames: keys.accountNames(),
    passwords: keys.passwords(),
    'limit:signin': keys.limit('signin'),
    'limit:password-failures': keys.limit('password-failures'),
    'limit:rooms': keys.limit('rooms'),
    randomRooms: keys.randomRooms(),
    randomCounter: keys.randomCounter(),
    randomSeats: keys.randomSeats(),
    presence: keys.presence(),
    nodes: keys.nodes(),
    nodeClaims: keys.nodeClaims(),
    layout: keys.layout(),
  };
  for (const node of ['3f2a9c01b4e5.0', '3f2a9c01b4e5.1']) out[`nodeUsers:${node}`] = keys.nodeUsers(node);
  for (const uid of ['alice', 'bob']) {
    out[`userRooms:${uid}`] = keys.userRooms(uid);
    out[`userRandom:${uid}`] = keys.userRandom(uid);
    out[`userReads:${uid}`] = keys.userReads(uid);
    out[`userReadCounts:${uid}`] = keys.userReadCounts(uid);
    out[`userRoomCounter:${uid}`] = keys.userRoomCounter(uid);
    out[`rateLimit:${uid}`] = keys.rateLimit(uid);
    out[`userSockets:${uid}`] = keys.userSockets(uid);
    out[`userBudget:${uid}`] = keys.userBudget(uid);
  }
  for (const room of ['alice_0', 'Random_3', 'a{b}c_1', '}x_2']) {
    out[`roomMembers:${room}`] = keys.roomMembers(room);
    out[`roomMessages:${room}`] = keys.roomMessages(room);
    for (const uid of ['alice', 'bob']) {
      out[`clientId:${room}:${uid}`] = keys.clientId(room, uid, 'c1d2e3f4');
      out[`typing:${room}:${uid}`] = keys.typing(room, uid);
    }
  }
  return out;
}

test('every key is under the prefix', () => {
  for (const prefix of ['chat:', 'test:abc123:', 'x']) {
    for (const [name, key] of Object.entries(allKeys(createKeys(prefix)))) {
      assert.ok(key.startsWith(prefix), `${name} = ${key}`);
      assert.ok(key.length > prefix.length, name);
    }
  }
});

test('keys are distinct, across kinds, users and rooms', () => {
  const keys = Object.values(allKeys(createKeys('chat:')));
  assert.equal(new Set(keys).size, keys.length);
  // Every builder of the interface is covered above.
  const builders = Object.keys(createKeys('chat:')).sort();
  const covered = [...new Set(Object.keys(allKeys(createKeys('chat:'))).map((k) => k.split(':')[0]))].sort();
  assert.deepEqual(covered, builders);
});

test('two prefixes never share a key', () => {
  const a = new Set(Object.values(allKeys(createKeys('chat:'))));
  for (const key of Object.values(allKeys(createKeys('chat2:')))) assert.ok(!a.has(key), key);
});

test("a room's keys share one hash tag, distinct from other rooms'", () => {
  const keys = createKeys('chat:');
  const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
  for (const room of ['alice_0', 'Random_3']) {
    const tags = [keys.roomMembers(room), keys.roomMessages(room), keys.clientId(room, 'alice', 'c1d2e3f4')].map(tag);
    assert.deepEqual(tags, [room, room, room]);
  }
  assert.notEqual(tag(keys.roomMembers('alice_0')), tag(keys.roomMembers('alice_1')));
});

test("slots: a room's keys and its Socket.IO channel, a user's keys, {users}, {random} each in one slot", () => {
  const keys = createKeys('chat:');
  const same = (label: string, list: string[]) =>
    assert.equal(new Set(list.map((k) => calculateSlot(k))).size, 1, `${label}: ${list.join(' ')}`);
  for (const room of ['alice_0', 'Random_3', 'Direct_ab12', 'a{b}c_1', '}x_2', '{}', 'x}']) {
    same(room, [
      keys.roomMembers(room),
      keys.roomMessages(room),
      keys.clientId(room, 'alice', 'c1d2e3f4'),
      keys.typing(room, 'bob'),
      shardChannel('chat:socket.io', room),
    ]);
  }
  for (const uid of ['alice', 'u0123abcd', 'we{ird}', '}odd']) {
    same(uid, [
      keys.userRooms(uid),
      keys.userReads(uid),
      keys.userReadCounts(uid),
      keys.userRandom(uid),
      keys.userRoomCounter(uid),
      keys.rateLimit(uid),
      keys.userSockets(uid),
      keys.userBudget(uid),
    ]);
  }
  same('users', [keys.users(), keys.userIndex(), keys.accountNames(), keys.passwords()]);
  same('random', [keys.randomRooms(), keys.randomCounter(), keys.randomSeats()]);
  same('nodes', [keys.nodes(), keys.nodeClaims()]);
  // Rooms and users spread over slots (not all in one).
  const slots = new Set(Array.from({ length: 50 }, (_, i) => calculateSlot(keys.roomMembers(`alice_${i}`))));
  assert.ok(slots.size > 40, `${slots.size} slots for 50 rooms`);
});

test("ids with braces get keys of their own: never another room's", () => {
  const keys = createKeys('chat:');
  const ids = ['a_b', 'a{b', 'a}b', 'a{b}', '{a_b}', 'a__b'];
  assert.equal(new Set(ids.map((id) => keys.roomMembers(id))).size, ids.length);
  assert.equal(new Set(ids.map((id) => shardChannel('p', id))).size, ids.length);
});
