import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKeys, type Keys } from '../../src/store/keys.js';

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
    presence: keys.presence(),
  };
  for (const uid of ['alice', 'bob']) {
    out[`userRooms:${uid}`] = keys.userRooms(uid);
    out[`userRandom:${uid}`] = keys.userRandom(uid);
    out[`userReads:${uid}`] = keys.userReads(uid);
    out[`userRoomCounter:${uid}`] = keys.userRoomCounter(uid);
    out[`rateLimit:${uid}`] = keys.rateLimit(uid);
    out[`userSockets:${uid}`] = keys.userSockets(uid);
    out[`userBudget:${uid}`] = keys.userBudget(uid);
  }
  for (const room of ['alice_0', 'Random_3']) {
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
