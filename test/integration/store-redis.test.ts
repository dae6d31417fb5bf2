/**
 * What only the Redis store can show: atomicity across connections, round trips that do not grow
 * with the number of rooms, publishing to a real Socket.IO sharded Redis adapter in its wire
 * format, and a client that outlives an outage. Runs on one Redis and (cluster stage) on a
 * Redis Cluster.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test as nodeTest } from 'node:test';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { pino } from 'pino';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import type { Message, UserProfile } from '../../src/shared/types.js';
import { createKeys } from '../../src/store/keys.js';
import { broadcastOf, roomChannel, shardChannel } from '../../src/store/fanout.js';
import { createRedisClient, type RedisClient } from '../../src/store/redis-client.js';
import { keySlot as calculateSlot } from '../helpers/redis-cluster.js';
import { createEventBudget } from '../../src/chat/event-budget.js';
import { createSocketLimiter, ONE_REDIS_LIMIT_SCRIPTS } from '../../src/chat/socket-limit.js';
import { createThrottle } from '../../src/chat/throttle.js';
import { createLogger } from '../../src/logger.js';
import { createLimiter } from '../../src/store/limiter.js';
import { RedisStore, SCRIPT_KEYS } from '../../src/store/redis-store.js';
import type { StoreLimits } from '../../src/store/types.js';
import { deleteKeys, listKeys, onCluster, redisSkip, redisUrl, testRedis, uniquePrefix } from '../helpers/redis.js';

const limits: StoreLimits = {
  randomRoomSize: 10,
  historyKeep: 1000,
  rateLimitCount: 1000,
  rateLimitWindowMs: 10_000,
  clientIdKeepMs: 86_400_000,
  maxRoomsPerUser: 1000,
};
const user = (uid: string): UserProfile => ({ uid, name: `Name ${uid}`, course: '', role: 'student', picture: '' });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('RedisStore on real Redis', () => {
  // Each test says it skipped (not just the suite), so the runner's skip count shows it.
  const test = (name: string, fn: () => Promise<void>): void => void nodeTest(name, { skip: redisSkip }, fn);
  const runPrefix = uniquePrefix('test:store-redis');
  let n = 0;
  const clients: RedisClient[] = [];
  const client = (role: string): RedisClient => {
    const c = testRedis(role);
    clients.push(c);
    return c;
  };
  const freshKeys = () => createKeys(`${runPrefix}${n++}:`);
  const channelPrefix = `${runPrefix}socket.io`;

  before(async () => {
    if (!redisSkip) await client('store-redis-test').ping();
  });

  after(async () => {
    if (redisSkip) return;
    await deleteKeys(clients[0] as RedisClient, runPrefix);
    assert.equal((await listKeys(clients[0] as RedisClient, runPrefix)).length, 0);
    await Promise.all(clients.map((c) => c.quit()));
  });

  test('25 concurrent joinRandom over 5 connections fill rooms of 10, 10, 5 (three rounds)', async () => {
    const conns = Array.from({ length: 5 }, (_, i) => client(`join-${i}`));
    for (let round = 0; round < 3; round++) {
      const keys = freshKeys();
      const stores = conns.map((redis) => new RedisStore({ redis, keys, limits, channelPrefix }));
      const uids = Array.from({ length: 25 }, (_, i) => `u${i}`);
      const results = await Promise.all(uids.map((uid, i) => (stores[i % 5] as RedisStore).joinRandom(user(uid))));
      const store = stores[0] as RedisStore;
      const sizes = await Promise.all(
        ['Random_0', 'Random_1', 'Random_2', 'Random_3'].map((r) => store.roomMembers(r)),
      );
      assert.deepEqual(
        sizes.map((m) => m.length),
        [10, 10, 5, 0],
      );
      assert.equal(new Set(sizes.flat()).size, 25);
      assert.equal(results.filter((r) => r.opening).length, 3, 'one opening message per room made');
      for (const [i, r] of results.entries()) {
        assert.ok(sizes.flat().includes(`u${i}`));
        assert.deepEqual(await store.userRooms(`u${i}`), [r.room]);
      }
    }
  });

  test('one user joining at random from 5 connections at once gets one room, joined once', async () => {
    const keys = freshKeys();
    const stores = Array.from(
      { length: 5 },
      (_, i) => new RedisStore({ redis: client(`same-${i}`), keys, limits, channelPrefix }),
    );
    const results = await Promise.all(stores.map((s) => s.joinRandom(user('solo'))));
    assert.deepEqual(new Set(results.map((r) => r.room.room_id)), new Set(['Random_0']));
    assert.equal(results.filter((r) => r.joined).length, 1);
    assert.deepEqual(await (stores[0] as RedisStore).roomMembers('Random_0'), ['solo']);
  });

  test('concurrent createGroup by one creator over 5 connections gives distinct n', async () => {
    const keys = freshKeys();
    const stores = Array.from(
      { length: 5 },
      (_, i) => new RedisStore({ redis: client(`group-${i}`), keys, limits, channelPrefix }),
    );
    const rooms = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (stores[i % 5] as RedisStore).createGroup(user('alice'), `G${i}`, ['bob'])),
    );
    const ids = rooms.map((r) => r.room_id);
    assert.deepEqual([...ids].sort(), Array.from({ length: 20 }, (_, i) => `alice_${i}`).sort());
    const bobRooms = await (stores[0] as RedisStore).userRooms('bob');
    assert.equal(bobRooms.length, 20);
    for (const r of rooms) assert.ok(bobRooms.some((b) => b.room_id === r.room_id && b.room_name === r.room_name));
  });

  test('searchUsers reads the name index (ZRANGEBYLEX + HMGET), not every user; indexUsers adds users saved before it', async () => {
    const keys = freshKeys();
    const redis = clients[0] as RedisClient;
    const store = new RedisStore({ redis, keys, limits, channelPrefix });
    // 2,000 users written as the code before the index did: the profile hash only.
    const pipe = redis.pipeline();
    for (let i = 0; i < 2000; i++) {
      pipe.hset(
        keys.users(),
        `old${i}`,
        JSON.stringify({ ...user(`old${i}`), name: `Old ${String(i).padStart(4, '0')}` }),
      );
    }
    await pipe.exec();
    assert.deepEqual(await store.searchUsers('old 000', 50), []);
    assert.equal(await store.indexUsers(), 2000);
    assert.equal(await store.indexUsers(), 0, 'once is enough');
    await store.saveUser({ ...user('new1'), name: 'Older Still' });
    const counted = client('search-count');
    await counted.ping();
    const searching = new RedisStore({ redis: counted, keys, limits, channelPrefix });
    const rt = countRoundTrips(counted);
    const found = await searching.searchUsers('old 000', 50);
    assert.deepEqual(
      found.map((u) => u.name),
      Array.from({ length: 10 }, (_, i) => `Old 000${i}`),
    );
    assert.deepEqual(rt.commands, ['zrangebylex', 'hmget']);
    assert.deepEqual(
      (await searching.searchUsers('olde', 5)).map((u) => u.uid),
      ['new1'],
    );
  });

  /**
   * Counts the round trips a call costs: a command sent while none of this client's commands is
   * in flight starts a new one (it had to wait for an answer); commands sent while others are in
   * flight ride along (auto-pipelining writes them together, one write per Redis node).
   */
  function countRoundTrips(redis: RedisClient): { trips: number; commands: string[]; reset(): void } {
    const seen = { trips: 0, commands: [] as string[], reset: () => ((seen.trips = 0), (seen.commands = [])) };
    let inFlight = 0;
    const original = redis.sendCommand.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    (redis as { sendCommand: unknown }).sendCommand = (
      command: { name: string; promise: Promise<unknown> },
      ...rest: unknown[]
    ) => {
      if (inFlight === 0) seen.trips++;
      inFlight++;
      seen.commands.push(command.name);
      const done = () => void inFlight--;
      command.promise.then(done, done);
      return original(command, ...rest);
    };
    return seen;
  }

  test('roomSummaries: the same round trips for 1 room and for 60 rooms', async () => {
    const keys = freshKeys();
    const setup = new RedisStore({ redis: clients[0] as RedisClient, keys, limits, channelPrefix });
    const one = await setup.createGroup(user('solo'), 'Only', []);
    for (let i = 0; i < 60; i++) {
      const g = await setup.createGroup(user('many'), `R${i}`, []);
      await setup.postMessage({ room_id: g.room_id, uid: 'many', name: 'M', picture: '', msg: `hello ${i}` });
    }
    const counted = client('count');
    const store = new RedisStore({ redis: counted, keys, limits, channelPrefix });
    // Loads the slot map, and the scripts on every master these users' keys are on: a script's
    // first call on a Redis it is not cached on takes one more round trip (EVALSHA answered
    // NOSCRIPT, then EVAL: src/store/lua.ts), once.
    await store.roomSummaries('many', 5, 5);
    await store.roomSummaries('solo', 5, 5);
    const rt = countRoundTrips(counted);
    const figures: string[] = [];
    for (const [perFirst, perOther] of [
      [5, 5],
      [50, 0],
      [0, 0],
    ] as const) {
      rt.reset();
      const solo = await store.roomSummaries('solo', perFirst, perOther);
      const soloTrips = rt.trips;
      rt.reset();
      const many = await store.roomSummaries('many', perFirst, perOther);
      figures.push(
        `(${perFirst},${perOther}): 1 room ${soloTrips} round trips, 60 rooms ${rt.trips} (${rt.commands.length} commands)`,
      );
      assert.equal(soloTrips, rt.trips, 'round trips do not grow with rooms');
      assert.ok(rt.trips <= 3);
      assert.equal(many.length, 60);
      assert.equal(many[0]?.messages.length, Math.min(perFirst, 2));
      assert.ok(many.slice(1).every((r) => r.messages.length === Math.min(perOther, 2)));
      // Newest activity first (rooms whose last messages share a millisecond by room id).
      const ms = many.map((r) => Number(r.last_message?.id.split('-')[0]));
      assert.deepEqual(
        ms,
        [...ms].sort((x, y) => y - x),
      );
      // R59 got the last message: first, or behind a room whose last message shares its millisecond.
      const r59 = many.find((r) => r.room_name === 'R59');
      assert.equal(ms[0], Number(r59?.last_message?.id.split('-')[0]));
      if (perFirst === 5)
        assert.deepEqual(
          solo.map(({ room_id, room_name, messages }) => ({ room_id, room_name, messages })),
          [one],
        );
    }
    console.log(`  roomSummaries ${onCluster ? 'on the cluster' : 'on one Redis'}: ${figures.join('; ')}`);
  });

  test("roomSummaries: unread by subtracting the mark's n agrees with counting, for read, unread and pre-n rooms", async () => {
    const keys = freshKeys();
    const redis = clients[0] as RedisClient;
    const store = new RedisStore({ redis, keys, limits, channelPrefix });
    const post = async (roomId: string, uid: string, msg: string) => {
      const r = await store.postMessage({ room_id: roomId, uid, name: uid, picture: '', msg });
      assert.ok(r.ok);
      return r.id;
    };
    const g = await store.createGroup(user('ann'), 'G', ['bob', 'cy']);
    const first = await post(g.room_id, 'ann', 'a1');
    await post(g.room_id, 'bob', 'b1');
    await store.markRead('cy', g.room_id, first);
    await post(g.room_id, 'ann', 'a2');
    await post(g.room_id, 'bob', 'b2');
    // A room written before entries carried `n` (raw XADD, as the previous release did), read by
    // bob up to its second message with a mark that has no `n` yet.
    const old = await store.createGroup(user('ann'), 'Old', ['bob', 'cy']);
    const legacy: string[] = [];
    for (const [uid, type] of [
      ['ann', 'user'],
      ['', 'server'],
      ['cy', 'user'],
      ['ann', 'user'],
    ] as const)
      legacy.push(
        (await redis.xadd(
          keys.roomMessages(old.room_id),
          '*',
          'uid',
          uid,
          'name',
          uid,
          'picture',
          '',
          'msg',
          'x',
          'type',
          type,
          'time',
          new Date().toISOString(),
        )) ?? '',
      );
    await redis.hset(keys.userReads('bob'), old.room_id, legacy[1] ?? '');
    const expected = { ann: [1, 1], bob: [0, 2], cy: [3, 2] }; // [G, Old] as counted by hand
    const unreadOf = async (uid: string) => {
      const rooms = await store.roomSummaries(uid, 0, 0);
      return [g.room_id, old.room_id].map((id) => rooms.find((r) => r.room_id === id)?.unread);
    };
    for (const [uid, want] of Object.entries(expected)) assert.deepEqual(await unreadOf(uid), want, uid);

    // The first post after them continues the count from what the stream keeps (3 user entries).
    await post(old.room_id, 'bob', 'b-new');
    const [, fields] =
      ((await redis.xrevrange(keys.roomMessages(old.room_id), '+', '-', 'COUNT', 1)) as [string, string[]][])[0] ?? [];
    assert.equal(fields?.[fields.indexOf('n') + 1], '4');
    await store.markRead('cy', old.room_id, legacy[3] ?? '');
    const after = { ann: [1, 2], bob: [0, 0], cy: [3, 1] };
    for (const [uid, want] of Object.entries(after)) assert.deepEqual(await unreadOf(uid), want, uid);
    // The same figures by counting in Lua (the path for marks without `n`).
    for (const uid of Object.keys(after)) await redis.del(keys.userReadCounts(uid));
    for (const [uid, want] of Object.entries(after)) assert.deepEqual(await unreadOf(uid), want, `${uid}, counted`);

    // Rooms whose mark has its `n` are read with XREVRANGE, no script of their own (on one Redis,
    // one NEWEST_ENTRIES for all of them).
    await post(g.room_id, 'cy', 'c1');
    await post(old.room_id, 'cy', 'c2');
    await post(g.room_id, 'ann', 'a3');
    const counted = client('count-n');
    const countedStore = new RedisStore({ redis: counted, keys, limits, channelPrefix });
    await counted.ping(); // connected (its hello commands are not the summary's)
    const rt = countRoundTrips(counted);
    rt.reset();
    const cy = await countedStore.roomSummaries('cy', 0, 0);
    assert.deepEqual(
      rt.commands.filter((c) => c !== 'hgetall'),
      onCluster ? ['xrevrange', 'xrevrange'] : ['evalsha'],
    );
    assert.deepEqual(
      [g.room_id, old.room_id].map((id) => cy.find((r) => r.room_id === id)?.unread),
      [1, 0],
      "own messages after the mark never count (cy's last post in each moved the mark)",
    );

    // A mark on an id between two messages (`read` takes any id up to the newest): its `n` is the
    // entry's at or before it, and the subtraction agrees with counting.
    const between = await post(g.room_id, 'bob', 'b3');
    await post(g.room_id, 'bob', 'b4');
    const [ms, seq] = between.split('-');
    const mark = await store.markRead('ann', g.room_id, `${ms}-${Number(seq) + 1}`);
    assert.equal(mark?.moved, true);
    const byN = (await unreadOf('ann'))[0];
    await redis.del(keys.userReadCounts('ann'));
    assert.equal(byN, (await unreadOf('ann'))[0], 'a mark between two ids: the same by n and by counting');
  });

  test('roomSummaries: the newest message of each of 250 rooms, text exactly as sent (JSON from Lua on one Redis)', async () => {
    const keys = freshKeys();
    const store = new RedisStore({ redis: clients[0] as RedisClient, keys, limits, channelPrefix });
    // Quotes, backslashes, markup, control characters, slashes, non-Latin text, an emoji (astral),
    // a JSON-looking text and an empty-looking one: what cjson escapes and what it passes as bytes.
    const texts = [
      'say "hi" \\ back',
      '</script><b>&amp;',
      'tab\tline\nbell\u0007',
      'a/b',
      'Привет 你好',
      '🙂 ok',
      '{"x":[1]}',
      ' . ',
    ];
    const rooms: string[] = [];
    for (let i = 0; i < 250; i++) {
      const g = await store.createGroup(user('wide'), `W${i}`, []);
      rooms.push(g.room_id);
      // Every third room keeps only its "created" notice; the others end with a user's text.
      if (i % 3 !== 0) {
        const r = await store.postMessage({
          room_id: g.room_id,
          uid: 'wide',
          name: 'Wide 🙂',
          picture: '',
          msg: texts[i % texts.length] ?? '',
        });
        assert.ok(r.ok);
      }
    }
    const summaries = await store.roomSummaries('wide', 0, 0);
    assert.equal(summaries.length, 250);
    for (const [i, id] of rooms.entries()) {
      const room = summaries.find((r) => r.room_id === id);
      const expected = (await store.history(id, { limit: 1 }))[0];
      assert.deepEqual(room?.last_message, expected, `room ${i}`);
      if (i % 3 !== 0) assert.equal(room?.last_message?.msg, texts[i % texts.length]);
      assert.equal(room?.unread, 0);
    }
  });

  test("postMessage with the user's budget: its token and the rate place in one script, and an empty budget stops there", async () => {
    const keys = freshKeys();
    const setup = new RedisStore({ redis: clients[0] as RedisClient, keys, limits, channelPrefix });
    const g = await setup.createGroup(user('bud'), 'B', []);
    const counted = client('count-budget');
    const store = new RedisStore({ redis: counted, keys, limits, channelPrefix });
    await counted.ping();
    const rt = countRoundTrips(counted);
    const budget = { perSecond: 0.001, burst: 2 };
    const post = (msg: string) =>
      store.postMessage({ room_id: g.room_id, uid: 'bud', name: 'B', picture: '', msg }, { budget });
    rt.reset();
    const first = await post('one');
    assert.equal(first.ok, true);
    await counted.ping(); // on a cluster, the read mark's script, sent behind the answer, has gone out
    // One Redis: one script (POST_TEXT). A cluster: the take (budget + rate), the post, and the read
    // mark, three (four before TEXT_TAKE).
    assert.deepEqual(
      rt.commands.filter((c) => c !== 'ping'),
      onCluster ? ['evalsha', 'evalsha', 'evalsha'] : ['evalsha'],
    );
    assert.equal((await post('two')).ok, true);
    await counted.ping(); // the read mark's script, queued behind the answer, has gone out
    rt.reset();
    assert.deepEqual(await post('three'), { ok: false, error: 'rate limited', overBudget: true });
    assert.deepEqual(rt.commands, ['evalsha'], 'nothing after the empty budget');
    const stored = await setup.history(g.room_id, { limit: 10 });
    assert.deepEqual(
      stored.filter((m) => m.type === 'user').map((m) => m.msg),
      ['one', 'two'],
    );
  });

  test('every command sent (store, leases and presence, budget, throttle, limiter) names keys of one cluster slot (on one Redis, but the one-script text and read and the newest entries)', async () => {
    const keys = freshKeys();
    const redis = client('slots');
    await redis.ping();
    const seen: { name: string; keys: string[]; script: string }[] = [];
    const original = redis.sendCommand.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    (redis as { sendCommand: unknown }).sendCommand = (
      command: { name: string; args: unknown[]; getKeys(): (string | Buffer)[] },
      ...rest: unknown[]
    ) => {
      const script = command.name === 'evalsha' ? String(command.args[0]) : '';
      seen.push({ name: command.name, keys: command.getKeys().map(String), script });
      return original(command, ...rest);
    };
    const logger = createLogger('silent');
    const store = new RedisStore({ redis, keys, limits: { ...limits, rateLimitCount: 3 }, channelPrefix });
    const [alice, bob] = [user('alice'), user('bob')];
    await store.saveUser(alice);
    await store.saveUser(bob);
    await store.createAccount(user('carol'), 'carol', 'hash');
    await store.findAccount('carol');
    await store.getUsers(['alice', 'bob']);
    await store.searchUsers('name', 5);
    const g = await store.createGroup(alice, 'G', ['bob']);
    const d = await store.directRoom(alice, bob);
    const r = await store.joinRandom(alice);
    await store.joinRandom(alice);
    const posted = await store.postMessage({
      room_id: g.room_id,
      uid: 'alice',
      name: 'A',
      picture: '',
      msg: 'x',
      client_id: 'abcdefgh',
    });
    assert.ok(posted.ok);
    await store.postMessage({
      room_id: g.room_id,
      uid: 'alice',
      name: 'A',
      picture: '',
      msg: 'x',
      client_id: 'abcdefgh',
    });
    for (let i = 0; i < 4; i++)
      await store.postMessage({ room_id: d.room_id, uid: 'alice', name: 'A', picture: '', msg: `${i}` });
    await store.postMessage({ room_id: g.room_id, uid: 'nobody', name: 'N', picture: '', msg: 'x' });
    await store.markRead('bob', g.room_id, posted.id);
    await store.roomSummaries('alice', 5, 1);
    await store.roomSummaries('alice', 5, 0);
    await store.history(g.room_id, { limit: 5 });
    await store.memberOf('alice', [g.room_id, d.room_id]);
    await store.findClientId(g.room_id, 'alice', 'abcdefgh');
    await store.leaveRoom('alice', r.room.room_id);
    await store.leaveRoom('bob', g.room_id);
    await store.leaveRoom('alice', g.room_id);
    const leases = createSocketLimiter({ max: 3, redis, keys, logger });
    await leases.acquire('alice', 's1');
    await leases.acquire('bob', 's2');
    await leases.heartbeat();
    await leases.release('alice', 's1');
    await leases.sweep();
    await leases.online(['alice', 'bob']);
    await leases.close();
    await createEventBudget(redis, keys.userBudget, { perSecond: 5, burst: 10 }).take('alice');
    await createThrottle(redis).first(keys.typing(g.room_id, 'alice'), 100);
    await createLimiter(redis, { prefix: keys.limit('rooms'), points: 5, windowMs: 1000 }).consume('alice');

    // A whole `text` (POST_TEXT) and a whole `read` (READ_MARK) in one script each, the newest
    // entries of many rooms (NEWEST_ENTRIES), and a socket's claim and release (CONNECT,
    // DISCONNECT) run on one Redis only: a cluster takes them in single-slot steps.
    const sha = (lua: string) => createHash('sha1').update(lua).digest('hex');
    const oneRedisOnly = new Set(
      [SCRIPT_KEYS.chatPostText, SCRIPT_KEYS.chatReadMark, SCRIPT_KEYS.chatNewestEntries]
        .map((c) => sha(c.lua))
        .concat(ONE_REDIS_LIMIT_SCRIPTS.map(sha)),
    );
    const calls = seen.filter((c) => oneRedisOnly.has(c.script)).length;
    assert.equal(
      calls,
      onCluster ? 0 : 7 + 1 + 1 + 3,
      'the one-script text, read, newest entries and leases on one Redis only',
    );
    const crossSlot = seen.filter(
      (c) => new Set(c.keys.map((k) => calculateSlot(k))).size > 1 && (onCluster || !oneRedisOnly.has(c.script)),
    );
    assert.deepEqual(crossSlot, []);
    const scripts = seen.filter((c) => c.name === 'evalsha' || c.name === 'eval');
    assert.ok(scripts.length > 20, `${scripts.length} script calls looked at`);
    console.log(`  ${seen.length} commands looked at (${scripts.length} script calls): none names keys of two slots`);
  });

  test('every store script starts with #!lua, so Redis refuses a key it was not given', async () => {
    const lua = [...Object.values(SCRIPT_KEYS).map((c) => c.lua)];
    for (const body of lua) assert.ok(body.startsWith('#!lua'), body.slice(0, 80));
  });

  describe('postMessage reaches a real Socket.IO server through the sharded Redis adapter', () => {
    let http: HttpServer;
    let io: Server;
    let port: number;
    let sub: RedisClient;
    const keys = createKeys(`${runPrefix}adapter:`);
    const adapterPrefix = `${runPrefix}adapter:socket.io`;

    before(async () => {
      if (redisSkip) return;
      const pub = client('adapter-pub');
      sub = testRedis('adapter-sub', { subscriber: true });
      clients.push(sub);
      http = createServer();
      io = new Server(http, {
        adapter: createShardedAdapter(pub, sub, { channelPrefix: adapterPrefix, subscriptionMode: 'dynamic' }),
      });
      io.of('/chat').on('connection', (socket) => {
        const room = socket.handshake.auth.room as string;
        if (room) void socket.join(roomChannel(room));
        socket.emit('ready' as never);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      port = (http.address() as AddressInfo).port;
    });

    after(async () => {
      if (redisSkip) return;
      io.of('/chat').disconnectSockets(true);
      await io.close();
    });

    const connect = async (room: string) => {
      const socket = connectClient(`http://127.0.0.1:${port}/chat`, {
        transports: ['websocket'],
        reconnection: false,
        auth: { room },
      });
      const received: Message[] = [];
      socket.on('internal_msg' as never, (m: Message) => {
        received.push(m);
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('ready' as never, () => resolve());
        socket.once('connect_error', reject);
      });
      return { socket, received };
    };

    test("the room member gets each message exactly once, in storage order, in the adapter's own format; others get nothing", async () => {
      const store = new RedisStore({ redis: client('adapter-store'), keys, limits, channelPrefix: adapterPrefix });
      const g = await store.createGroup(user('alice'), 'G', []);
      // What the script publishes, read raw from the room's channel: exactly what the adapter
      // itself would publish for nsp.to(room).emit('internal_msg', message) (fanout.ts).
      const raw = testRedis('adapter-raw', { subscriber: true });
      clients.push(raw);
      const payloads: unknown[] = [];
      raw.on('smessage', (_channel: string, message: string) => payloads.push(JSON.parse(message)));
      await raw.ssubscribe(shardChannel(adapterPrefix, g.room_id));
      const member = await connect(g.room_id);
      const outsider = await connect('some_other_room');
      const posted: Message[] = [];
      // The adapter subscribes on join, asynchronously: send until the first arrives.
      await until('the adapter subscribed', async () => {
        const r = await store.postMessage({ room_id: g.room_id, uid: 'alice', name: 'A', picture: '', msg: 'probe' });
        assert.ok(r.ok && r.message);
        posted.push(r.message);
        await sleep(50);
        return member.received.length > 0;
      });
      member.received.length = 0;
      posted.length = 0;
      payloads.length = 0;
      for (let i = 0; i < 5; i++) {
        const r = await store.postMessage({
          room_id: g.room_id,
          uid: 'alice',
          name: 'Alice <b>',
          picture: 'https://img.test/a.png',
          msg: `hello ${i} ü 🎉 "quoted" \\ / \u2028`,
        });
        assert.ok(r.ok && r.message);
        posted.push(r.message);
      }
      await until('5 messages', () => member.received.length >= 5 && payloads.length >= 5);
      // A marker after them: anything doubled would have arrived before it (one socket, in order).
      const marker = await store.postMessage({
        room_id: g.room_id,
        uid: 'alice',
        name: 'A',
        picture: '',
        msg: 'marker',
      });
      assert.ok(marker.ok && marker.message);
      await until('the marker', () => member.received.some((m) => m.msg === 'marker'));
      assert.deepEqual(member.received, [...posted, marker.message]);
      assert.deepEqual(payloads.slice(0, 5), posted.map(broadcastOf));
      // And broadcastOf is what the adapter itself publishes for the same emit (but for the
      // sender's uid, its own random one): the format is the adapter's, not a copy gone stale.
      payloads.length = 0;
      io.of('/chat')
        .to(roomChannel(g.room_id))
        .emit('internal_msg' as never, posted[0] as never);
      await until("the adapter's own publish", () => payloads.length > 0);
      const own = payloads[0] as { uid: string };
      assert.notEqual(own.uid, broadcastOf(posted[0]!).uid);
      assert.deepEqual({ ...own, uid: 'x' }, { ...broadcastOf(posted[0]!), uid: 'x' });
      assert.deepEqual(member.received.slice(0, 5), await store.history(g.room_id, { limit: 5, before: marker.id }));
      assert.deepEqual(outsider.received, []);
      member.socket.disconnect();
      outsider.socket.disconnect();
    });
  });

  // One Redis behind a proxy; a cluster's outages are the failover tests' (cluster-failover.test.ts).
  if (!onCluster)
    test('createRedisClient: commands fail in bounded time while Redis is away, and it reconnects by itself', async () => {
      const target = new URL(redisUrl);
      const sockets = new Set<net.Socket>();
      const proxy = net.createServer((down) => {
        const up = net.connect(Number(target.port || 6379), target.hostname);
        sockets.add(down).add(up);
        down.pipe(up).pipe(down);
        const drop = () => (down.destroy(), up.destroy());
        down.on('error', drop).on('close', drop);
        up.on('error', drop).on('close', drop);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const port = (proxy.address() as AddressInfo).port;
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      });
      const redis = createRedisClient(`redis://127.0.0.1:${port}`, 'outage-test', pino({ level: 'info' }, sink), {
        commandTimeoutMs: 500,
      });
      try {
        assert.equal(await redis.client('GETNAME'), 'outage-test');

        // Redis "goes away": the port refuses connections and open ones are cut.
        await new Promise<void>((resolve) => {
          proxy.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        const started = Date.now();
        await assert.rejects(redis.ping());
        const failedAfter = Date.now() - started;
        console.log(`  ping failed after ${failedAfter} ms while Redis was away`);
        assert.ok(failedAfter < 3000, `took ${failedAfter} ms`);
        await until(
          'two logged reconnection attempts',
          () => lines.filter((l) => l.msg === 'redis reconnecting').length >= 2,
        );
        const attempts = lines.filter((l) => l.msg === 'redis reconnecting');
        assert.ok(attempts.every((l) => l.role === 'outage-test' && (l.delayMs as number) <= 2000));

        // Redis "comes back" on the same address: the client recovers with no help.
        await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
        const back = Date.now();
        await until(
          'a ping after recovery',
          () =>
            redis.ping().then(
              () => true,
              () => false,
            ),
          10_000,
        );
        console.log(`  recovered ${Date.now() - back} ms after Redis came back`);
        assert.equal(await redis.client('GETNAME'), 'outage-test');
      } finally {
        redis.disconnect();
        proxy.close();
        for (const s of sockets) s.destroy();
      }
    });
});
