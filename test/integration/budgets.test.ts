/**
 * Nobody floods anybody (CONTRACT limits), on two nodes of one Redis, with the contract's default
 * numbers unless a test says otherwise: `create_chat` 10 a minute per user; 1,000 rooms per user;
 * the per-user event budget (50 a second, bursts of 100) shared by sockets on both nodes;
 * `typing` once per 2 s per user and room however many sockets; `status` join only when a user
 * comes online, however many sockets send `joined` however often.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '../../src/shared/limits.js';
import type { StatusEvent, TypingEvent } from '../../src/shared/types.js';
import { emitAck, marker, sleep } from '../helpers/client.js';
import { closeAll, group, openTab, postJson, signIn, uname, type User } from '../helpers/contract.js';
import { cleanRedis, newPrefix, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

/** The contract's defaults, set back where the test helper raises them for other suites. */
const DEFAULTS = {
  ROOMS_PER_MINUTE: String(LIMITS.roomsPerMinute),
  EVENTS_PER_SECOND: String(LIMITS.eventsPerSecond),
  EVENT_BURST: String(LIMITS.eventBurst),
};

describe('budgets and limits across two nodes', { skip: redisSkip, timeout: 120_000 }, () => {
  const prefix = newPrefix();
  let a: InProcessServer;
  let b: InProcessServer;
  const user = (tag: string, on: InProcessServer = a): Promise<User> => signIn(on.url, uname(tag));

  before(async () => {
    [a, b] = await Promise.all([
      startInProcess({ redis: true, prefix, env: DEFAULTS }),
      startInProcess({ redis: true, prefix, env: DEFAULTS }),
    ]);
  });
  after(async () => {
    closeAll();
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanRedis(prefix);
  });

  test('create_chat: 10 a minute per user across nodes, then 429 "rate limited"; bad requests do not count', async () => {
    const me = await user('room spammer');
    const other = await user('other creator');
    const create = (on: InProcessServer, who: User, body: unknown) =>
      postJson(on.url, '/chat/create_chat', body, { cookie: who.cookie });
    for (let i = 0; i < 3; i++) assert.equal((await create(a, me, { room_name: '', users: [] })).status, 400);
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.roomsPerMinute + 2; i++) {
      statuses.push((await create(i % 2 ? a : b, me, { room_name: `r${i}`, users: [other.uid] })).status);
    }
    assert.deepEqual(statuses, [...Array<number>(LIMITS.roomsPerMinute).fill(200), 429, 429]);
    const refused = await create(a, me, { room_name: 'one more', users: [] });
    assert.deepEqual(refused.json(), { status: 'ERROR', error: 'rate limited' });
    // The victim got exactly ten rooms; another user may still create.
    const rooms = await emitAck<{ rooms: unknown[] }>((await openTab(other)).socket, 'joined', {});
    assert.equal(rooms.ok && rooms.rooms.length, LIMITS.roomsPerMinute);
    assert.equal((await create(b, other, { room_name: 'mine', users: [] })).status, 200);
  });

  test('event budget: 50 a second, bursts of 100, shared by the user’s sockets on both nodes', async () => {
    const me = await user('budget');
    const bystander = await user('bystander');
    const roomId = await group(me, 'Budget', [bystander]);
    const [onA, onB] = [await openTab(me, a.url), await openTab(me, b.url)];
    // Time has to pass here (the bucket refills at 50 a second): the two `joined` above came out of it.
    await sleep(2100);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        emitAck((i % 2 ? onA : onB).socket, 'history', { room_id: roomId, limit: 1 }, 10_000),
      ),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const ok = answers.filter((r) => r.ok).length;
    const errors = new Set(answers.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error)));
    console.log(`[budgets] 300 events at once on two nodes: ok=${ok} refused=${300 - ok} in ${elapsedS.toFixed(2)} s`);
    assert.deepEqual([...errors], ['rate limited']);
    assert.ok(ok >= LIMITS.eventBurst, `at least the burst passes: ${ok}`);
    assert.ok(
      ok <= LIMITS.eventBurst + Math.ceil(LIMITS.eventsPerSecond * elapsedS) + 2,
      `no more than the budget: ${ok}`,
    );
    // Another user is not affected; the user's budget refills.
    const other = await openTab(bystander, b.url);
    assert.equal((await emitAck(other.socket, 'history', { room_id: roomId, limit: 1 })).ok, true);
    await sleep(500); // time for the bucket to refill: that is what is checked
    assert.equal((await emitAck(onA.socket, 'history', { room_id: roomId, limit: 1 })).ok, true);
  });

  test('over the budget, a text resent with a stored client_id still answers the stored message', async () => {
    // A node of its own whose bucket refills at one token a second: at the contract's 50 a second
    // a token came back every 20 ms, and on a busy machine (test files run side by side) one did
    // between the refusals and the texts. Its bucket starts full; the sign-in's `joined` takes one.
    const slow = await startInProcess({ redis: true, prefix, env: { EVENTS_PER_SECOND: '1', EVENT_BURST: '20' } });
    try {
      const me = await signIn(slow.url, uname('budget resend'));
      const roomId = await group(me, 'Resend', []);
      const tab = await openTab(me);
      const first = await emitAck(tab.socket, 'text', { room_id: roomId, msg: 'kept', client_id: 'budget-resend-1' });
      assert.equal(first.ok, true);
      // Empty the bucket, then the two texts right behind (one socket's events are handled in order).
      const emptying = await Promise.all(
        Array.from({ length: 25 }, () => emitAck(tab.socket, 'history', { room_id: roomId, limit: 1 })),
      );
      assert.ok(
        emptying.some((r) => !r.ok),
        'the budget ran out',
      );
      const [resent, fresh] = await Promise.all([
        emitAck(tab.socket, 'text', { room_id: roomId, msg: 'kept', client_id: 'budget-resend-1' }),
        emitAck(tab.socket, 'text', { room_id: roomId, msg: 'new', client_id: 'budget-resend-2' }),
      ]);
      assert.deepEqual(resent, first);
      assert.deepEqual(fresh, { ok: false, error: 'rate limited' });
    } finally {
      // Its sockets are disconnected by the shutdown.
      await slow.stop();
    }
  });

  test('text takes its budget token in the posting script: posted, refused or malformed, each counts, and the budget comes first', async () => {
    // One token a second, bursts of 10, and a rate limit that never refuses: what runs out here
    // is the budget. (`text`'s token is taken with its rate-limit place, one script: redis-store.ts.)
    const slow = await startInProcess({
      redis: true,
      prefix,
      env: { EVENTS_PER_SECOND: '1', EVENT_BURST: '10', RATE_LIMIT_COUNT: '1000' },
    });
    try {
      const me = await signIn(slow.url, uname('text budget'));
      const roomId = await group(me, 'Text budget', []);
      const tab = await openTab(me, slow.url);
      const sent = await Promise.all(
        Array.from({ length: 14 }, (_, i) => emitAck(tab.socket, 'text', { room_id: roomId, msg: `m${i}` })),
      );
      const ok = sent.filter((r) => r.ok).length;
      // 10 in the bucket, `joined` took one, at most a few came back meanwhile.
      assert.ok(ok >= 8 && ok <= 12, `texts within the budget: ${ok}`);
      assert.deepEqual(new Set(sent.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error))), new Set(['rate limited']));
      // The budget is spent for every event, and comes before every other refusal.
      const after = await Promise.all([
        emitAck(tab.socket, 'text', { room_id: roomId, msg: '   ' }),
        emitAck(tab.socket, 'text', { room_id: 'nowhere', msg: 'x' }),
        emitAck(tab.socket, 'text', { room_id: roomId }),
        emitAck(tab.socket, 'history', { room_id: roomId, limit: 1 }),
      ]);
      assert.deepEqual(
        after.map((r) => (r.ok ? 'ok' : r.error)),
        ['rate limited', 'rate limited', 'rate limited', 'rate limited'],
      );
      // Stored: exactly the texts answered ok (read on a node of the contract's budget: this
      // user's bucket refills 50 times as fast there).
      const fresh = await startInProcess({ redis: true, prefix });
      try {
        const reader = await openTab(me, fresh.url);
        const h = (await emitAck(reader.socket, 'history', { room_id: roomId, limit: 50 })) as {
          ok: boolean;
          messages?: { type: string }[];
        };
        assert.equal(h.messages?.filter((m) => m.type === 'user').length, ok);
      } finally {
        await fresh.stop();
      }
    } finally {
      await slow.stop();
    }
  });

  test('typing: once per 2 s per user and room, from 20 sockets on two nodes', async () => {
    const me = await user('typist');
    const reader = await user('reader');
    const roomId = await group(me, 'Typing', [reader]);
    const readerTab = await openTab(reader, b.url);
    const tabs = await Promise.all(Array.from({ length: 20 }, (_, i) => openTab(me, i % 2 ? a.url : b.url)));
    await sleep(2100); // the 20 `joined` came out of the bucket: a full one again (it refills with time only)
    for (let round = 0; round < 3; round++) {
      await Promise.all(tabs.map((t) => emitAck(t.socket, 'typing', { room_id: roomId })));
    }
    // Typing notices from both nodes travel the room's channel; the reader's marker message,
    // posted after every typing event was answered, arrives behind all of them.
    await marker(readerTab.socket, { sender: readerTab.socket, room_id: roomId });
    const got = (readerTab.rec.of('typing') as TypingEvent[]).filter((t) => t.uid === me.uid);
    console.log(`[budgets] typing notices received from 60 typing events on 20 sockets: ${got.length}`);
    assert.equal(got.length, 1);
  });

  test('status join: only for coming online — 20 sockets sending `joined` 30 times each announce once', async () => {
    const me = await user('joiner flood');
    const member = await user('flood member');
    const rooms = await Promise.all(Array.from({ length: 3 }, (_, i) => group(member, `Flood ${i}`, [me])));
    const memberTab = await openTab(member, a.url);
    const tabs = await Promise.all(Array.from({ length: 20 }, (_, i) => openTab(me, i % 2 ? a.url : b.url, false)));
    let sent = 0;
    for (let round = 0; round < 30; round++) {
      await Promise.all(tabs.map((t) => emitAck(t.socket, 'joined', {}, 10_000)));
      sent += tabs.length;
    }
    // Status notices from both nodes travel the rooms' channels to the member's node, in the
    // order Redis published them; the member's marker message comes after every one of them.
    await marker(memberTab.socket, { sender: memberTab.socket, room_id: rooms[0]! });
    const notices = (memberTab.rec.of('status') as StatusEvent[]).filter((s) => s.uid === me.uid);
    console.log(`[budgets] status notices received from ${sent} joined on 20 sockets (3 rooms): ${notices.length}`);
    assert.deepEqual(notices.map((n) => n.room_id).sort(), [...rooms].sort());
  });
});

describe('1,000 rooms per user', { skip: redisSkip, timeout: 180_000 }, () => {
  let server: InProcessServer;
  before(async () => {
    // Rooms per minute raised (this tests the cap, not the rate); the cap is the default.
    server = await startInProcess({ redis: true, env: { MAX_ROOMS_PER_USER: String(LIMITS.maxRoomsPerUser) } });
  });
  after(async () => {
    await server?.stop();
    if (server) await cleanRedis(server.prefix);
  });

  test('a user in 1,000 rooms is refused a 1,001st, and a group that would pass it for a member names them', async () => {
    const full = await signIn(server.url, uname('full'));
    const friend = await signIn(server.url, uname('friend'));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < LIMITS.maxRoomsPerUser; i = next++) {
          const r = await postJson(
            server.url,
            '/chat/create_chat',
            { room_name: `n${i}`, users: [] },
            { cookie: full.cookie },
          );
          assert.equal(r.status, 200, r.text);
        }
      }),
    );
    const own = await postJson(
      server.url,
      '/chat/create_chat',
      { room_name: 'too many', users: [] },
      { cookie: full.cookie },
    );
    assert.equal(own.status, 400);
    assert.match((own.json() as { error: string }).error, /1000 rooms already: you/);
    const viaFriend = await postJson(
      server.url,
      '/chat/create_chat',
      { room_name: 'with full', users: [full.uid] },
      { cookie: friend.cookie },
    );
    assert.equal(viaFriend.status, 400);
    assert.match((viaFriend.json() as { error: string }).error, new RegExp(full.name));
    assert.deepEqual((viaFriend.json() as { users: string[] }).users, [full.uid]);
    // Nothing was made: the friend is in no room.
    const tab = await openTab(friend);
    const joined = await emitAck<{ rooms: unknown[] }>(tab.socket, 'joined', {});
    assert.equal(joined.ok && joined.rooms.length, 0);
    closeAll();
  });
});
