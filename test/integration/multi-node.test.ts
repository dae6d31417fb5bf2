/**
 * Two nodes on one Redis (same key prefix) are one chat — both in this process: Redis, which
 * carries everything between nodes, is the boundary under test (cluster.test.ts runs processes): deliveries
 * cross nodes exactly once, a socket's messages arrive in send order everywhere and in `history`
 * order, concurrent senders on different nodes are seen in one order by everyone, random rooms
 * fill correctly under concurrent joins from both nodes, and the rate limit spans nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Message, RoomWithMessages, StatusEvent, TypingEvent } from '../../src/shared/types.js';
import { emitAck, isMarker } from '../helpers/client.js';
import {
  assertAscending,
  clear,
  closeAll,
  expectExactly,
  expectNone,
  fullHistory,
  group,
  openTab,
  postJson,
  received,
  send,
  signIn,
  uname,
  type Tab,
  type User,
} from '../helpers/contract.js';
import { cleanRedis, newPrefix, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

describe('two nodes on one Redis', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  let n1: InProcessServer;
  let n2: InProcessServer;
  // 60 per window lets one socket send 50 at once; the cross-node limit test uses 60 too.
  const env = { RATE_LIMIT_COUNT: '60' };
  const user = (tag: string, node = n1): Promise<User> => signIn(node.url, uname(tag));

  before(async () => {
    [n1, n2] = await Promise.all([
      startInProcess({ redis: true, prefix, env }),
      startInProcess({ redis: true, prefix, env }),
    ]);
  });
  after(async () => {
    closeAll();
    await Promise.all([n1?.stop(), n2?.stop()]);
    await cleanRedis(prefix);
  });

  test('room_added, messages, typing and exit reach every socket on both nodes exactly once', async () => {
    const a = await user('a two nodes', n1);
    const b = await user('b on node 2', n2);
    const c = await user('c on node 1', n1);
    const a1 = await openTab(a, n1.url);
    const a2 = await openTab(a, n2.url);
    const b2 = await openTab(b, n2.url);
    const c1 = await openTab(c, n1.url);
    const all = [a1, a2, b2, c1];
    clear(...all);
    // Created through node 2's HTTP: sockets on node 1 must hear it too.
    const res = await postJson(
      n2.url,
      '/chat/create_chat',
      { room_name: 'Across', users: [a.uid, c.uid] },
      { cookie: b.cookie },
    );
    assert.equal(res.status, 200, res.text);
    const roomId = (res.json() as { room_id: string }).room_id;
    // Each check below ends with a marker message through the room (it travels every node's
    // subscriber behind what was published before it), or a round trip where the tab is not in it.
    for (const [room] of await expectExactly<RoomWithMessages>(all, 'room_added', 1, () => true, {
      settleMs: { through: b2, room_id: roomId },
    })) {
      assert.equal(room!.room_id, roomId);
      assert.equal(room!.room_name, 'Across');
      assert.equal(room!.messages.length, 1);
    }
    // Every sender, from either node: each member socket gets each message exactly once.
    const ids: string[] = [];
    for (const [tab, text] of [
      [a1, 'from a on node 1'],
      [b2, 'from b on node 2'],
      [c1, 'from c on node 1'],
      [a2, 'from a on node 2'],
    ] as [Tab, string][]) {
      const { id } = await send(tab.socket, roomId, text);
      ids.push(id);
      const got = await expectExactly<Message>(all, 'internal_msg', 1, (m) => m.id === id, {
        settleMs: { through: b2, room_id: roomId },
      });
      for (const [m] of got) assert.equal(m!.msg, text);
    }
    for (const tab of all)
      assert.deepEqual(
        received(tab, roomId).map((m) => m.id),
        ids,
      );

    clear(...all);
    assert.deepEqual(await emitAck(b2.socket, 'typing', { room_id: roomId }), { ok: true });
    for (const [t] of await expectExactly<TypingEvent>([a1, a2, c1], 'typing', 1, () => true, {
      settleMs: { through: b2, room_id: roomId },
    })) {
      assert.deepEqual(t, { room_id: roomId, uid: b.uid, name: b.name });
    }
    await expectNone([b2], 'typing', () => true, 'marker');

    assert.deepEqual(await emitAck(a2.socket, 'exit_room', { room_id: roomId }), { ok: true });
    await expectExactly([b2, c1], 'status', 1, (s: StatusEvent) => s.type === 'exit' && s.uid === a.uid, {
      settleMs: { through: c1, room_id: roomId },
    });
    // a1 is no longer in the room: a round trip on it.
    await expectExactly([a1], 'room_removed', 1, () => true, { settleMs: 'marker' });
    await expectNone([a2], 'room_removed', () => true, 'marker');
    clear(...all);
    const { id } = await send(c1.socket, roomId, 'after a left');
    await expectExactly([b2, c1], 'internal_msg', 1, (m: Message) => m.id === id, {
      settleMs: { through: b2, room_id: roomId },
    });
    await expectNone([a1, a2], 'internal_msg', () => true, 'marker');
  });

  test('50 rapid messages from one socket arrive in send order on both nodes, matching history', async () => {
    const s = await user('rapid sender', n1);
    const r1 = await user('rapid r1', n1);
    const r2 = await user('rapid r2', n2);
    const roomId = await group(s, 'Rapid', [r1, r2]);
    const s1 = await openTab(s, n1.url);
    const s2 = await openTab(s, n2.url);
    const t1 = await openTab(r1, n1.url);
    const t2 = await openTab(r2, n2.url);
    const texts = Array.from({ length: 50 }, (_, i) => `rapid ${i}`);
    // All emitted at once, without waiting for acknowledgements.
    const acks = await Promise.all(
      texts.map((msg) => emitAck<{ id: string; time: string }>(s1.socket, 'text', { room_id: roomId, msg }, 10_000)),
    );
    const ids = acks.map((a, i) => {
      assert.equal(a.ok, true, `message ${i}: ${JSON.stringify(a)}`);
      return a.ok ? a.id : '';
    });
    assertAscending(ids, 'acknowledged ids in send order');
    await expectExactly<Message>([s1, s2, t1, t2], 'internal_msg', 50, (m) => m.room_id === roomId, {
      timeoutMs: 10_000,
      settleMs: { through: t1, room_id: roomId },
    });
    const stored = (await fullHistory(t2.socket, roomId)).filter((m) => m.type === 'user' && !isMarker(m));
    assert.deepEqual(
      stored.map((m) => m.id),
      ids,
    );
    assert.deepEqual(
      stored.map((m) => m.msg),
      texts,
    );
    for (const tab of [s1, s2, t1, t2]) {
      const got = received(tab, roomId);
      assert.deepEqual(
        got.map((m) => m.msg),
        texts,
      );
      assert.deepEqual(
        got.map((m) => m.id),
        ids,
      );
    }
  });

  test('two senders on different nodes at once: every member sees the history order', async () => {
    const a = await user('conc a', n1);
    const b = await user('conc b', n2);
    const c = await user('conc c', n1);
    const d = await user('conc d', n2);
    const roomId = await group(a, 'Concurrent', [b, c, d]);
    const tabs = [
      await openTab(a, n1.url),
      await openTab(b, n2.url),
      await openTab(c, n1.url),
      await openTab(d, n2.url),
    ];
    const burst = (tab: Tab, tag: string) =>
      Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          emitAck<{ id: string }>(tab.socket, 'text', { room_id: roomId, msg: `${tag} ${i}` }, 10_000),
        ),
      );
    const [fromA, fromB] = await Promise.all([burst(tabs[0]!, 'A'), burst(tabs[1]!, 'B')]);
    for (const ack of [...fromA, ...fromB]) assert.equal(ack.ok, true, JSON.stringify(ack));
    await expectExactly<Message>(tabs, 'internal_msg', 80, (m) => m.room_id === roomId, {
      timeoutMs: 10_000,
      settleMs: { through: tabs[2]!, room_id: roomId },
    });
    const order = (await fullHistory(tabs[3]!.socket, roomId))
      .filter((m) => m.type === 'user' && !isMarker(m))
      .map((m) => m.id);
    assert.equal(order.length, 80);
    assertAscending(order, 'history');
    for (const [i, tab] of tabs.entries()) {
      assert.deepEqual(
        received(tab, roomId).map((m) => m.id),
        order,
        `member ${i} saw another order`,
      );
    }
    // Each sender's own messages are stored in the order it sent them.
    const msgs = (await fullHistory(tabs[2]!.socket, roomId)).filter((m) => m.type === 'user').map((m) => m.msg);
    for (const tag of ['A', 'B']) {
      assert.deepEqual(
        msgs.filter((m) => m.startsWith(`${tag} `)),
        Array.from({ length: 40 }, (_, i) => `${tag} ${i}`),
      );
    }
  });

  test('25 concurrent join_random from both nodes: rooms of 10, 10 and 5', async () => {
    const users = await Promise.all(Array.from({ length: 25 }, (_, i) => user(`rnd ${i}`, i % 2 ? n2 : n1)));
    const tabs = await Promise.all(users.map((u, i) => openTab(u, i % 2 ? n2.url : n1.url)));
    const acks = await Promise.all(tabs.map((t) => emitAck<{ room_id: string }>(t.socket, 'join_random', {}, 10_000)));
    const rooms = new Map<string, number[]>();
    acks.forEach((ack, i) => {
      assert.equal(ack.ok, true, JSON.stringify(ack));
      if (ack.ok) rooms.set(ack.room_id, [...(rooms.get(ack.room_id) ?? []), i]);
    });
    const sizes = [...rooms.entries()].sort((x, y) => Number(x[0].split('_')[1]) - Number(y[0].split('_')[1]));
    assert.deepEqual(
      sizes.map(([, members]) => members.length),
      [10, 10, 5],
      JSON.stringify(sizes),
    );
    for (const id of rooms.keys()) assert.match(id, /^Random_\d+$/);
    // Each user is in the room it was told, and nowhere else: asking again gives it back.
    const again = await Promise.all(tabs.map((t) => emitAck<{ room_id: string }>(t.socket, 'join_random', {})));
    again.forEach((ack, i) => assert.deepEqual(ack, acks[i]));
    // And a message in each room reaches exactly its members, across nodes.
    for (const [roomId, members] of rooms) {
      const { id } = await send(tabs[members[0]!]!.socket, roomId, `hello ${roomId}`);
      await expectExactly(
        members.map((i) => tabs[i]!),
        'internal_msg',
        1,
        (m: Message) => m.id === id,
        { settleMs: 'marker' },
      );
      // Every node with a member has handled the message by now: a round trip on each other tab.
      const outside = tabs.filter((_, i) => !members.includes(i));
      await expectNone(outside, 'internal_msg', (m: Message) => m.id === id, 'marker');
    }
  });

  test("the rate limit counts a user's texts on both nodes together", async () => {
    const u = await user('limited', n1);
    const roomId = await group(u, 'Limit', []);
    const t1 = await openTab(u, n1.url);
    const t2 = await openTab(u, n2.url);
    for (let i = 0; i < 30; i++) await send(t1.socket, roomId, `n1 ${i}`);
    for (let i = 0; i < 30; i++) await send(t2.socket, roomId, `n2 ${i}`);
    assert.deepEqual(await emitAck(t1.socket, 'text', { room_id: roomId, msg: 'x' }), {
      ok: false,
      error: 'rate limited',
    });
    assert.deepEqual(await emitAck(t2.socket, 'text', { room_id: roomId, msg: 'y' }), {
      ok: false,
      error: 'rate limited',
    });
    assert.equal((await fullHistory(t1.socket, roomId)).length, 61);
  });
});
