/**
 * The contract's "Sending exactly once" through Socket.IO, in both stores: `client_id` is kept on
 * the stored and delivered message; a resend (any tab, after leaving, any number of times) answers
 * the stored message and stores, delivers and counts nothing; a malformed one is refused. And the
 * project's batched `catch_up` (one event for up to 100 rooms), which the page uses after a
 * reconnect instead of one `history` per room.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '../../src/shared/limits.js';
import type { CatchUpResult, Message } from '../../src/shared/types.js';
import { emitAck } from '../helpers/client.js';
import {
  MESSAGE_KEYS,
  clear,
  closeAll,
  expectExactly,
  expectNone,
  fullHistory,
  group,
  history,
  openTab,
  send,
  signIn,
  uname,
  type User,
} from '../helpers/contract.js';
import { cleanRedis, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

type Sent = { id: string; time: string };
const cid = (tag: string): string => `${tag}-${Math.random().toString(36).slice(2, 12)}`;

for (const mode of ['memory', 'redis'] as const) {
  describe(`sending exactly once (${mode} store)`, { skip: mode === 'redis' ? redisSkip : false }, () => {
    let server: InProcessServer;
    // catch_up's tests post over 100 messages into one room: a node with the rate limit raised.
    let bulk: InProcessServer;
    let url: string;
    const user = (tag: string, on = url): Promise<User> => signIn(on, uname(tag));

    before(async () => {
      const redis = mode === 'redis';
      [server, bulk] = await Promise.all([
        startInProcess({ redis }),
        startInProcess({ redis, env: { RATE_LIMIT_COUNT: '10000' } }),
      ]);
      url = server.url;
    });
    after(async () => {
      closeAll();
      await Promise.all([server?.stop(), bulk?.stop()]);
      if (mode === 'redis') await Promise.all([server, bulk].map((s) => s && cleanRedis(s.prefix)));
    });

    test('client_id: carried by the delivered and stored message; a resend from any tab answers the same and delivers nothing', async () => {
      const a = await user('cid sender');
      const b = await user('cid receiver');
      const roomId = await group(a, 'Once', [b]);
      const [a1, a2, b1] = [await openTab(a), await openTab(a), await openTab(b)];
      clear(a1, a2, b1);
      const id = cid('first');
      const ack = await emitAck<Sent>(a1.socket, 'text', { room_id: roomId, msg: ' once ', client_id: id });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      if (!ack.ok) return;
      const got = await expectExactly<Message>([a1, a2, b1], 'internal_msg', 1, () => true, { settleMs: 'marker' });
      for (const [m] of got) {
        assert.deepEqual(Object.keys(m!).sort(), [...MESSAGE_KEYS, 'client_id'].sort());
        assert.equal(m!.client_id, id);
        assert.equal(m!.id, ack.id);
      }
      // The same client id again, from either tab, three times: the stored message, nothing new.
      for (const tab of [a1, a2, a1]) {
        assert.deepEqual(await emitAck(tab.socket, 'text', { room_id: roomId, msg: 'once', client_id: id }), ack);
      }
      await expectNone([a1, a2, b1], 'internal_msg', (m: Message) => m.id !== ack.id, 'marker');
      const stored = await history(b1.socket, { room_id: roomId });
      assert.deepEqual(
        stored.filter((m) => m.type === 'user').map((m) => [m.id, m.msg, m.client_id]),
        [[ack.id, 'once', id]],
      );
      // A message sent without a client id carries none.
      const plain = await send(a1.socket, roomId, 'no id');
      const [got2] = await expectExactly<Message>([b1], 'internal_msg', 1, (x) => x.id === plain.id, {
        settleMs: 'marker',
      });
      assert.deepEqual(Object.keys(got2![0]!).sort(), MESSAGE_KEYS);
      assert.equal((await history(b1.socket, { room_id: roomId })).at(-1)!.client_id, undefined);
    });

    test('client_id is per user and room: the same string from another user or in another room is a new message', async () => {
      const a = await user('cid scope a');
      const b = await user('cid scope b');
      const r1 = await group(a, 'Scope 1', [b]);
      const r2 = await group(a, 'Scope 2', [b]);
      const [at, bt] = [await openTab(a), await openTab(b)];
      const id = cid('shared');
      const acks = [
        await emitAck<Sent>(at.socket, 'text', { room_id: r1, msg: 'a in 1', client_id: id }),
        await emitAck<Sent>(bt.socket, 'text', { room_id: r1, msg: 'b in 1', client_id: id }),
        await emitAck<Sent>(at.socket, 'text', { room_id: r2, msg: 'a in 2', client_id: id }),
      ];
      // Ids are per room (two rooms may use the same id in the same millisecond): room and id.
      const ids = acks.map((x, i) => `${[r1, r1, r2][i]} ${x.ok ? x.id : x.error}`);
      assert.equal(new Set(ids).size, 3, `three messages: ${ids.join(', ')}`);
      const msgs = (await fullHistory(at.socket, r1)).filter((m) => m.type === 'user').map((m) => m.msg);
      assert.deepEqual(msgs, ['a in 1', 'b in 1']);
    });

    test('resends are not counted by the rate limit and are answered even when the limit is reached', async () => {
      const a = await user('cid rate');
      const roomId = await group(a, 'Rate once', []);
      const at = await openTab(a);
      const ids = Array.from({ length: LIMITS.rateLimitCount }, (_, i) => cid(`r${i}`));
      const acks: Sent[] = [];
      for (const id of ids) {
        const ack = await emitAck<Sent>(at.socket, 'text', { room_id: roomId, msg: id, client_id: id });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        if (ack.ok) acks.push({ id: ack.id, time: ack.time });
      }
      // The limit is reached: a new message is refused, every resend still answers its message.
      assert.deepEqual(await emitAck(at.socket, 'text', { room_id: roomId, msg: 'new', client_id: cid('new') }), {
        ok: false,
        error: 'rate limited',
      });
      for (let round = 0; round < 3; round++) {
        for (const [i, id] of ids.entries()) {
          assert.deepEqual(await emitAck(at.socket, 'text', { room_id: roomId, msg: id, client_id: id }), {
            ok: true,
            ...acks[i],
          });
        }
      }
      const stored = (await fullHistory(at.socket, roomId)).filter((m) => m.type === 'user');
      assert.deepEqual(
        stored.map((m) => m.client_id),
        ids,
      );
    });

    test('a malformed client_id is "invalid payload" and stores nothing', async () => {
      const a = await user('cid bad');
      const roomId = await group(a, 'Bad ids', []);
      const at = await openTab(a);
      for (const bad of ['short7x', 'x'.repeat(65), 'has space1', 'dots.in.it', 'ünïcödé-id', 12345678, null, {}, '']) {
        assert.deepEqual(
          await emitAck(at.socket, 'text', { room_id: roomId, msg: 'hi', client_id: bad }),
          { ok: false, error: 'invalid payload' },
          `client_id ${JSON.stringify(bad)}`,
        );
      }
      for (const good of ['abcdefgh', 'A_z-0'.repeat(12) + 'abcd']) {
        const ack = await emitAck(at.socket, 'text', { room_id: roomId, msg: 'ok', client_id: good });
        assert.equal(ack.ok, true, `client_id ${good} (${good.length}): ${JSON.stringify(ack)}`);
      }
      assert.equal((await fullHistory(at.socket, roomId)).filter((m) => m.type === 'user').length, 2);
    });

    test('a resend after leaving the room answers the stored message (the outcome, not "not a member")', async () => {
      const a = await user('cid leaver');
      const b = await user('cid stayer');
      const roomId = await group(a, 'Leave once', [b]);
      const [at, bt] = [await openTab(a), await openTab(b)];
      const id = cid('leave');
      const ack = await emitAck<Sent>(at.socket, 'text', { room_id: roomId, msg: 'bye', client_id: id });
      assert.equal(ack.ok, true);
      assert.deepEqual(await emitAck(at.socket, 'exit_room', { room_id: roomId }), { ok: true });
      clear(bt);
      assert.deepEqual(await emitAck(at.socket, 'text', { room_id: roomId, msg: 'bye', client_id: id }), ack);
      // A new client id is refused as before.
      assert.deepEqual(await emitAck(at.socket, 'text', { room_id: roomId, msg: 'x', client_id: cid('after') }), {
        ok: false,
        error: 'not a member',
      });
      await expectNone([bt], 'internal_msg', () => true, 'marker');
      assert.equal((await fullHistory(bt.socket, roomId)).filter((m) => m.type === 'user').length, 1);
    });

    test('catch_up: many rooms in one event, after each mark, `more` past 100, rooms left out when not a member', async () => {
      const a = await user('catcher', bulk.url);
      const b = await user('catch peer', bulk.url);
      const outsider = await user('catch outsider', bulk.url);
      const rooms = [await group(b, 'C1', [a]), await group(b, 'C2', [a]), await group(b, 'C3', [a])];
      const foreign = await group(outsider, 'Not yours', []);
      const [at, bt] = [await openTab(a), await openTab(b)];
      const marks = await Promise.all(rooms.map(async (r) => (await history(at.socket, { room_id: r })).at(-1)!.id));
      // Room 0: 3 new; room 1: none; room 2: 105 new (more than one answer holds).
      for (let i = 0; i < 3; i++) await send(bt.socket, rooms[0]!, `zero ${i}`);
      for (let i = 0; i < 105; i++) await send(bt.socket, rooms[2]!, `two ${i}`);
      const res = await emitAck<{ rooms: CatchUpResult[] }>(at.socket, 'catch_up', {
        rooms: [...rooms.map((r, i) => ({ room_id: r, after: marks[i]! })), { room_id: foreign, after: '0-0' }],
      });
      assert.equal(res.ok, true, JSON.stringify(res).slice(0, 300));
      if (!res.ok) return;
      assert.deepEqual(
        res.rooms.map((r) => [r.room_id, r.messages.length, r.more]),
        [
          [rooms[0], 3, false],
          [rooms[1], 0, false],
          [rooms[2], 100, true],
        ],
      );
      assert.deepEqual(
        res.rooms[0]!.messages.map((m) => m.msg),
        ['zero 0', 'zero 1', 'zero 2'],
      );
      const rest = await history(at.socket, { room_id: rooms[2]!, after: res.rooms[2]!.messages.at(-1)!.id });
      assert.deepEqual(
        [...res.rooms[2]!.messages, ...rest].map((m) => m.msg),
        Array.from({ length: 105 }, (_, i) => `two ${i}`),
      );
    });

    test('catch_up refusals: no rooms, over 100 rooms, a malformed mark or room id is "invalid payload"', async () => {
      const a = await user('catch bad');
      const at = await openTab(a);
      const many = Array.from({ length: LIMITS.catchUpMaxRooms + 1 }, (_, i) => ({ room_id: `r${i}`, after: '0-0' }));
      for (const payload of [
        {},
        { rooms: [] },
        { rooms: many },
        { rooms: [{ room_id: 'x', after: 'nope' }] },
        { rooms: [{ room_id: '', after: '0-0' }] },
        { rooms: 'x' },
        [],
      ]) {
        assert.deepEqual(await emitAck(at.socket, 'catch_up', payload), { ok: false, error: 'invalid payload' });
      }
      const full = await emitAck(at.socket, 'catch_up', { rooms: many.slice(1) });
      assert.deepEqual(full, { ok: true, rooms: [] });
    });
  });
}
