/**
 * Every Socket.IO event of the contract with its acknowledgement and its deliveries, against a
 * real node (built in this process, reached over HTTP and websockets) with the in-process store
 * and again in Redis mode: the handshake,
 * joined, text, join_random, exit_room, history, typing, room_added, and the refusals in the
 * contract's order (each refusal changes nothing and reaches nobody).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Message, RoomSummary, RoomWithMessages, StatusEvent, TypingEvent } from '../../src/shared/types.js';
import { Manager } from 'socket.io-client';
import { connect, emitAck, sleep, type ChatClient } from '../helpers/client.js';
import {
  ID_RE,
  MESSAGE_KEYS,
  assertAscending,
  clear,
  closeAll,
  expectExactly,
  expectNone,
  expectOne,
  fullHistory,
  group,
  history,
  joinedRefs,
  openTab,
  postJson,
  received,
  send,
  signIn,
  uname,
  type Tab,
  type User,
} from '../helpers/contract.js';
import { createKeys } from '../../src/store/keys.js';
import { listKeys, testRedis } from '../helpers/redis.js';
import { cleanRedis, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

const ROOM_EVENTS = ['text', 'exit_room', 'history', 'typing'] as const;

for (const mode of ['memory', 'redis'] as const) {
  describe(`Socket.IO /chat contract (${mode} store)`, { skip: mode === 'redis' ? redisSkip : false }, () => {
    let server: InProcessServer;
    let url: string;
    const user = (tag: string, extra: Record<string, string> = {}): Promise<User> => signIn(url, uname(tag), extra);

    before(async () => {
      server = await startInProcess({ redis: mode === 'redis' });
      url = server.url;
    });
    after(async () => {
      closeAll();
      await server?.stop();
      if (mode === 'redis' && server) await cleanRedis(server.prefix);
    });

    test('handshake without a session or with a bad cookie: connect_error "unauthorized"', async () => {
      await assert.rejects(connect(url, ''), (err: Error) => err.message === 'unauthorized');
      await assert.rejects(
        connect(url, 'connect.sid=s%3Aforged.bad-signature'),
        (err: Error) => err.message === 'unauthorized',
      );
      const me = await user('handshake');
      // A validly signed cookie whose session was ended is no better.
      assert.equal((await postJson(url, '/logout', {}, { cookie: me.cookie })).status, 303);
      await assert.rejects(connect(url, me.cookie), (err: Error) => err.message === 'unauthorized');
    });

    test('/chat connected again over the same Engine.IO connection: the same user, signed in', async () => {
      // The server lets a connection's handshake request go once /chat is connected
      // (src/chat/socket-server.ts releaseHandshake); a second CONNECT on that connection (the "/"
      // namespace keeps it open meanwhile) must still be signed in as the same user.
      const me = await user('again');
      const manager = new Manager(url, {
        transports: ['websocket'],
        extraHeaders: { cookie: me.cookie },
        reconnection: false,
      });
      const root = manager.socket('/');
      const chat = manager.socket('/chat');
      try {
        await new Promise<void>((resolve, reject) => {
          chat.once('connect', resolve);
          chat.once('connect_error', reject);
        });
        const first = await emitAck<{ rooms: RoomSummary[] }>(chat as ChatClient, 'joined', {});
        assert.equal(first.ok, true);
        // The node holds the connection without its handshake request any more.
        const held = server.chat.io.of('/chat').sockets.get(chat.id ?? '');
        assert.ok(held, 'the server-side socket');
        assert.equal(held.conn.request, null, 'the handshake request was let go');
        chat.disconnect();
        assert.equal(root.connected, true, 'the Engine.IO connection is still open');
        const engineId = manager.engine.id;
        // (A CONNECT sent in the same tick as the DISCONNECT goes unanswered, with or without the
        // release: Socket.IO 4.8's, noticed here and left alone; a pause lets the first one land.)
        await sleep(200);
        await new Promise<void>((resolve, reject) => {
          chat.once('connect', resolve);
          chat.once('connect_error', reject);
          chat.connect();
        });
        assert.equal(manager.engine.id, engineId, 'over the same connection');
        const again = await emitAck<{ rooms: RoomSummary[] }>(chat as ChatClient, 'joined', {});
        assert.equal(again.ok, true, 'signed in as before');
      } finally {
        chat.close();
        root.close();
      }
    });

    test('joined: rooms listed; the socket is in them; the room hears status join', async () => {
      const a = await user('joiner');
      const b = await user('member');
      const roomId = await group(a, 'Joined room', [b]);
      const room2 = await group(b, 'Second', [a]);
      const bt = await openTab(b);
      const at = await openTab(a, url, false);
      const ack = await emitAck<{ rooms: RoomSummary[] }>(at.socket, 'joined', {});
      assert.equal(ack.ok, true, JSON.stringify(ack));
      if (!ack.ok) return;
      // Newest activity first: b's room was opened after a's.
      assert.deepEqual(
        ack.rooms.map((r) => [
          r.room_id,
          r.room_name,
          r.last_message?.msg,
          r.last_message?.type,
          r.last_read,
          r.unread,
        ]),
        [
          [room2, 'Second', `Chat started by ${b.name}`, 'server', null, 0],
          [roomId, 'Joined room', `Chat started by ${a.name}`, 'server', null, 0],
        ],
      );
      for (const r of ack.rooms) {
        assert.deepEqual(Object.keys(r).sort(), ['last_message', 'last_read', 'room_id', 'room_name', 'unread']);
        assert.deepEqual(Object.keys(r.last_message!).sort(), MESSAGE_KEYS);
      }
      const [statuses] = await expectExactly<StatusEvent>(
        [bt],
        'status',
        1,
        (s) => s.uid === a.uid && s.room_id === roomId,
        { settleMs: 'marker' },
      );
      const st = statuses![0]!;
      assert.equal(st.type, 'join');
      assert.equal(st.name, a.name);
      assert.equal(typeof st.msg, 'string');
      assert.ok(!Number.isNaN(Date.parse(st.time)));
      assert.deepEqual(Object.keys(st).sort(), ['msg', 'name', 'picture', 'room_id', 'time', 'type', 'uid']);
      // Now in the room: a message from b reaches this socket.
      await send(bt.socket, roomId, 'after joined');
      await expectExactly<Message>([at], 'internal_msg', 1, (m) => m.msg === 'after joined', { settleMs: 'marker' });
      // Only coming online is announced: not `joined` again, not another tab, not a reload.
      clear(bt);
      for (let i = 0; i < 5; i++) assert.equal((await emitAck(at.socket, 'joined', {})).ok, true);
      const more = await openTab(a);
      at.socket.close();
      await openTab(a);
      more.socket.close();
      await expectNone([bt], 'status', (s: StatusEvent) => s.uid === a.uid, 'marker');
    });

    test('text: ack {ok,id,time}; every member socket (own tabs too) gets internal_msg once, exact fields', async () => {
      const a = await user('sender');
      const b = await user('receiver');
      const outsider = await user('outsider');
      const roomId = await group(a, 'Text room', [b]);
      const [a1, a2, b1, o1] = [await openTab(a), await openTab(a), await openTab(b), await openTab(outsider)];
      clear(a1, a2, b1, o1);
      const before = Date.now();
      const ack = await emitAck<{ id: string; time: string }>(a1.socket, 'text', {
        room_id: roomId,
        msg: '  hello there \n',
        id: '1-0',
        time: '2000-01-01T00:00:00.000Z',
        uid: b.uid,
        name: 'Impostor',
        picture: 'https://evil.example/x.png',
        type: 'server',
      });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      if (!ack.ok) return;
      assert.deepEqual(Object.keys(ack).sort(), ['id', 'ok', 'time']);
      assert.match(ack.id, ID_RE);
      assert.notEqual(ack.id, '1-0');
      const t = Date.parse(ack.time);
      assert.ok(t >= before - 1000 && t <= Date.now() + 1000, `time ${ack.time} is not now`);
      assert.equal(new Date(t).toISOString(), ack.time);
      const got = await expectExactly<Message>([a1, a2, b1], 'internal_msg', 1, () => true, { settleMs: 'marker' });
      const expected: Message = {
        id: ack.id,
        room_id: roomId,
        uid: a.uid,
        name: a.name,
        picture: '',
        msg: 'hello there',
        time: ack.time,
        type: 'user',
      };
      for (const [m] of got) {
        assert.deepEqual(Object.keys(m!).sort(), MESSAGE_KEYS);
        assert.deepEqual(m, expected);
      }
      await expectNone([o1], 'internal_msg', () => true, 'marker');
      assert.deepEqual((await history(b1.socket, { room_id: roomId })).at(-1), expected);
    });

    test('text: msg up to 2,000 characters after trimming is accepted and stored trimmed', async () => {
      const a = await user('long');
      const roomId = await group(a, 'Long', []);
      const tab = await openTab(a);
      const long = 'z'.repeat(2000);
      const { id } = await send(tab.socket, roomId, `   ${long}   `);
      const last = (await history(tab.socket, { room_id: roomId })).at(-1)!;
      assert.equal(last.id, id);
      assert.equal(last.msg, long);
    });

    test('join_random: Random_<n> of at most 10, the 11th opens a new one, the same room comes back', async () => {
      const users = await Promise.all(Array.from({ length: 11 }, (_, i) => user(`random ${i}`)));
      const tabs: Tab[] = [];
      for (const u of users) tabs.push(await openTab(u));
      const second = await openTab(users[0]!);
      const ids: string[] = [];
      for (const [i, tab] of tabs.entries()) {
        const ack = await emitAck<{ room_id: string; room_name: string }>(tab.socket, 'join_random', {});
        assert.equal(ack.ok, true, JSON.stringify(ack));
        if (!ack.ok) return;
        assert.match(ack.room_id, /^Random_\d+$/);
        assert.equal(ack.room_name, ack.room_id);
        ids.push(ack.room_id);
        if (i === 1) {
          // The first member hears the second one join.
          const st = await expectOne<StatusEvent>(
            tabs[0]!,
            'status',
            (s) => s.type === 'join' && s.uid === users[1]!.uid,
            'marker',
          );
          assert.equal(st.room_id, ack.room_id);
        }
      }
      const first = ids[0]!;
      assert.deepEqual(ids.slice(0, 10), Array(10).fill(first));
      assert.notEqual(ids[10], first);
      assert.ok(Number(ids[10]!.split('_')[1]) > Number(first.split('_')[1]), `${ids[10]} is not newer than ${first}`);
      // Asking again gives the same room back, without a new join notice.
      clear(...tabs);
      const again = await emitAck(tabs[3]!.socket, 'join_random', {});
      assert.deepEqual(again, { ok: true, room_id: first, room_name: first });
      await expectNone(tabs.slice(0, 10), 'status', (s: StatusEvent) => s.uid === users[3]!.uid, 'marker');
      // The first user's other tab was told about the room and now receives it.
      const added = await expectOne<RoomWithMessages>(second, 'room_added', () => true, 'marker');
      assert.equal(added.room_id, first);
      assert.equal(added.room_name, first);
      assert.ok(Array.isArray(added.messages));
      await send(tabs[5]!.socket, first, 'random hello');
      await expectExactly<Message>([second, tabs[0]!, tabs[9]!], 'internal_msg', 1, (m) => m.msg === 'random hello', {
        settleMs: 'marker',
      });
      await expectNone([tabs[10]!], 'internal_msg', (m: Message) => m.msg === 'random hello', 'marker');
    });

    test('exit_room: status exit to others, room_removed to the other tab, the room goes with its last member', async () => {
      const a = await user('exiter');
      const b = await user('stayer');
      const roomId = await group(a, 'Exit room', [b]);
      const [a1, a2, b1] = [await openTab(a), await openTab(a), await openTab(b)];
      await send(b1.socket, roomId, 'before exit');
      await expectExactly([a1, a2, b1], 'internal_msg', 1, (m: Message) => m.msg === 'before exit', { settleMs: 0 });
      clear(a1, a2, b1);
      assert.deepEqual(await emitAck(a1.socket, 'exit_room', { room_id: roomId }), { ok: true });
      const st = await expectOne<StatusEvent>(b1, 'status', (s) => s.type === 'exit', 'marker');
      assert.equal(st.uid, a.uid);
      assert.equal(st.room_id, roomId);
      await expectExactly([a2], 'room_removed', 1, () => true, { settleMs: 'marker' });
      assert.deepEqual(a2.rec.of('room_removed'), [{ room_id: roomId }]);
      await expectNone([a1], 'room_removed', () => true, 'marker');
      // No longer a member, on any tab; b's messages no longer reach a.
      assert.deepEqual(await emitAck(a2.socket, 'text', { room_id: roomId, msg: 'x' }), {
        ok: false,
        error: 'not a member',
      });
      assert.deepEqual(await emitAck(a1.socket, 'history', { room_id: roomId }), { ok: false, error: 'not a member' });
      await send(b1.socket, roomId, 'after exit');
      await expectExactly([b1], 'internal_msg', 1, (m: Message) => m.msg === 'after exit', { settleMs: 'marker' });
      await expectNone([a1, a2], 'internal_msg', () => true, 'marker');
      const rooms = await emitAck<{ rooms: { room_id: string }[] }>(a1.socket, 'joined', {});
      assert.ok(rooms.ok && !rooms.rooms.some((r) => r.room_id === roomId));
      // The last member leaves: the room and its history are deleted.
      assert.deepEqual(await emitAck(b1.socket, 'exit_room', { room_id: roomId }), { ok: true });
      assert.deepEqual(await emitAck(b1.socket, 'history', { room_id: roomId }), { ok: false, error: 'not a member' });
      if (mode === 'redis') {
        const r = testRedis('contract-exit');
        const keys = createKeys(server.prefix);
        try {
          const left = await listKeys(r, keys.roomMembers(roomId).replace(/members$/, ''));
          assert.deepEqual(left, [], 'keys of the deleted room remain');
          // Re-create the same id (reset the creator's counter): its history must start empty.
          await r.del(keys.userRoomCounter(a.uid));
        } finally {
          await r.quit();
        }
        const again = await group(a, 'Exit room again', [b]);
        assert.equal(again, roomId);
        const msgs = await history(a1.socket, { room_id: again });
        assert.deepEqual(
          msgs.map((m) => [m.type, m.msg]),
          [['server', `Chat started by ${a.name}`]],
        );
      }
    });

    test('history: default 50, limit over 100 counts as 100, before/after exclusive, paging forward has no gaps', async () => {
      // 6 senders × 20 = 120 messages, within each sender's rate limit.
      const senders = await Promise.all(Array.from({ length: 6 }, (_, i) => user(`historian ${i}`)));
      const roomId = await group(senders[0]!, 'History', senders.slice(1));
      const tabs: Tab[] = [];
      for (const s of senders) tabs.push(await openTab(s));
      const opening = await history(tabs[0]!.socket, { room_id: roomId });
      assert.equal(opening.length, 1);
      const sent: string[] = [opening[0]!.id];
      for (let i = 0; i < 120; i++) sent.push((await send(tabs[i % 6]!.socket, roomId, `h${i}`)).id);
      assertAscending(sent, 'acknowledged ids');
      const s = tabs[1]!.socket;

      const dflt = await history(s, { room_id: roomId });
      assert.deepEqual(
        dflt.map((m) => m.id),
        sent.slice(-50),
      );
      assert.deepEqual(
        (await history(s, { room_id: roomId, limit: 500 })).map((m) => m.id),
        sent.slice(-100),
      );
      assert.deepEqual(
        (await history(s, { room_id: roomId, limit: 7 })).map((m) => m.id),
        sent.slice(-7),
      );

      const pivot = sent[60]!;
      const before = await history(s, { room_id: roomId, before: pivot, limit: 10 });
      assert.deepEqual(
        before.map((m) => m.id),
        sent.slice(50, 60),
      );
      const afterPage = await history(s, { room_id: roomId, after: pivot, limit: 10 });
      assert.deepEqual(
        afterPage.map((m) => m.id),
        sent.slice(61, 71),
      );
      assert.deepEqual((await history(s, { room_id: roomId, before: sent[0]! })).length, 0);
      assert.deepEqual((await history(s, { room_id: roomId, after: sent.at(-1)! })).length, 0);
      assert.deepEqual(
        (await history(s, { room_id: roomId, before: pivot, limit: 1000 })).map((m) => m.id),
        sent.slice(0, 60),
      );

      // Paging forward from the start in pages of 13 continues exactly where it stopped.
      const paged = await fullHistory(s, roomId, 13);
      assert.deepEqual(
        paged.map((m) => m.id),
        sent,
      );
      assert.deepEqual(
        paged.slice(1).map((m) => m.msg),
        Array.from({ length: 120 }, (_, i) => `h${i}`),
      );
      // Paging backward too.
      const back: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const got = await history(
          s,
          cursor ? { room_id: roomId, before: cursor, limit: 17 } : { room_id: roomId, limit: 17 },
        );
        back.unshift(...got.map((m) => m.id));
        if (got.length < 17) break;
        cursor = got[0]!.id;
      }
      assert.deepEqual(back, sent);
    });

    test("typing: the other members get {room_id, uid, name}; the sender's own sockets do not", async () => {
      const a = await user('typist');
      const b = await user('reader');
      const c = await user('not in room');
      const roomId = await group(a, 'Typing', [b]);
      const [a1, a2, b1, b2, c1] = [
        await openTab(a),
        await openTab(a),
        await openTab(b),
        await openTab(b),
        await openTab(c),
      ];
      clear(a1, a2, b1, b2, c1);
      assert.deepEqual(await emitAck(a1.socket, 'typing', { room_id: roomId }), { ok: true });
      const got = await expectExactly<TypingEvent>([b1, b2], 'typing', 1, () => true, { settleMs: 'marker' });
      for (const [t] of got) assert.deepEqual(t, { room_id: roomId, uid: a.uid, name: a.name });
      await expectNone([a1, a2, c1], 'typing', () => true, 'marker');
    });

    test('refusal 1: a non-object payload or a missing/non-string room_id is "invalid payload"', async () => {
      const a = await user('payload');
      const roomId = await group(a, 'Payload', []);
      const tab = await openTab(a);
      const before = await history(tab.socket, { room_id: roomId });
      const bad: unknown[] = [
        'str',
        42,
        null,
        [roomId],
        true,
        {},
        { room_id: 5 },
        { room_id: null },
        { room_id: ['x'] },
        { msg: 'hi' },
      ];
      for (const event of ROOM_EVENTS) {
        for (const payload of bad) {
          const ack = await emitAck(tab.socket, event, payload);
          assert.deepEqual(ack, { ok: false, error: 'invalid payload' }, `${event} ${JSON.stringify(payload)}`);
        }
      }
      for (const event of ['joined', 'join_random']) {
        for (const payload of ['str', 42, null, [1]]) {
          const ack = await emitAck(tab.socket, event, payload);
          assert.deepEqual(ack, { ok: false, error: 'invalid payload' }, `${event} ${JSON.stringify(payload)}`);
        }
      }
      // An acknowledgement without a payload (`emit('text', cb)`) is answered, not left waiting.
      for (const event of [...ROOM_EVENTS, 'joined', 'join_random', 'catch_up']) {
        const ack = await new Promise<unknown>((resolve, reject) => {
          (
            tab.socket.timeout(3000) as unknown as { emit(e: string, cb: (err: unknown, r: unknown) => void): void }
          ).emit(event, (err, res) => (err ? reject(new Error(`${event}: no answer`)) : resolve(res)));
        });
        assert.deepEqual(ack, { ok: false, error: 'invalid payload' }, `${event} with only an acknowledgement`);
      }
      // `invalid payload` comes before `invalid message` (bad room_id and bad msg together).
      assert.deepEqual(await emitAck(tab.socket, 'text', { room_id: 7, msg: '' }), {
        ok: false,
        error: 'invalid payload',
      });
      // Nothing changed: same history; the refused join_random joined nothing.
      assert.deepEqual(await history(tab.socket, { room_id: roomId }), before);
      assert.deepEqual(await joinedRefs(tab.socket), [{ room_id: roomId, room_name: 'Payload' }]);
      await expectNone([tab], 'internal_msg', () => true, 'marker');
    });

    test('refusal 2: a room the user is not in is "not a member", even with an invalid msg', async () => {
      const a = await user('member a');
      const b = await user('intruder');
      const roomId = await group(a, 'Private', []);
      const [at, bt] = [await openTab(a), await openTab(b)];
      const before = await history(at.socket, { room_id: roomId });
      clear(at, bt);
      for (const payload of [
        { room_id: roomId, msg: 'hi' },
        { room_id: roomId, msg: '' },
        { room_id: roomId, msg: 'x'.repeat(2001) },
        { room_id: roomId, msg: 5 },
        { room_id: roomId },
        { room_id: 'Random_999999', msg: 'hi' },
        { room_id: 'no such room', msg: '' },
      ]) {
        assert.deepEqual(
          await emitAck(bt.socket, 'text', payload),
          { ok: false, error: 'not a member' },
          JSON.stringify(payload),
        );
      }
      for (const event of ['exit_room', 'history', 'typing'] as const) {
        assert.deepEqual(
          await emitAck(bt.socket, event, { room_id: roomId }),
          { ok: false, error: 'not a member' },
          event,
        );
      }
      assert.deepEqual(await history(at.socket, { room_id: roomId }), before);
      await expectNone([at, bt], 'internal_msg', () => true, 'marker');
      await expectNone([at, bt], 'typing', () => true, 'marker');
      await expectNone([at, bt], 'status', () => true, 'marker');
    });

    test('refusal 3: empty, blank, over 2,000 characters, non-string or missing msg is "invalid message"', async () => {
      const a = await user('invalid');
      const b = await user('watcher');
      const roomId = await group(a, 'Invalid', [b]);
      const [at, bt] = [await openTab(a), await openTab(b)];
      const before = await history(at.socket, { room_id: roomId });
      clear(at, bt);
      for (const msg of [
        '',
        '   ',
        '\n\t ',
        'x'.repeat(2001),
        ` ${'y'.repeat(2001)} `,
        42,
        null,
        true,
        ['hi'],
        { text: 'hi' },
        undefined,
      ]) {
        const ack = await emitAck(
          at.socket,
          'text',
          msg === undefined ? { room_id: roomId } : { room_id: roomId, msg },
        );
        assert.deepEqual(ack, { ok: false, error: 'invalid message' }, JSON.stringify(msg));
      }
      assert.deepEqual(await history(at.socket, { room_id: roomId }), before);
      await expectNone([at, bt], 'internal_msg', () => true, 'marker');
    });

    test('refusal 4: the 21st text within 10 s is "rate limited"; refused events do not count; across tabs', async () => {
      const a = await user('chatty');
      const b = await user('listener');
      const roomId = await group(a, 'Rate', [b]);
      const [a1, a2, bt] = [await openTab(a), await openTab(a), await openTab(b)];
      clear(a1, a2, bt);
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await emitAck(a1.socket, 'text', { room_id: roomId, msg: ' ' }), {
          ok: false,
          error: 'invalid message',
        });
      }
      assert.deepEqual(await emitAck(a1.socket, 'text', { room_id: 'elsewhere', msg: 'x' }), {
        ok: false,
        error: 'not a member',
      });
      const ids: string[] = [];
      // 20 valid ones from two tabs of the same user: all accepted.
      for (let i = 0; i < 20; i++) ids.push((await send((i % 2 ? a2 : a1).socket, roomId, `r${i}`)).id);
      const refused = await emitAck(a2.socket, 'text', { room_id: roomId, msg: 'one too many' });
      assert.deepEqual(refused, { ok: false, error: 'rate limited' });
      assert.deepEqual(await emitAck(a1.socket, 'text', { room_id: roomId, msg: 'still too many' }), {
        ok: false,
        error: 'rate limited',
      });
      await expectExactly<Message>([bt], 'internal_msg', 20, () => true, { settleMs: 'marker' });
      assert.deepEqual(
        received(bt, roomId).map((m) => m.id),
        ids,
      );
      const stored = await history(bt.socket, { room_id: roomId });
      assert.deepEqual(
        stored.slice(1).map((m) => m.msg),
        Array.from({ length: 20 }, (_, i) => `r${i}`),
      );
      // Another user is not limited by a's sending.
      await send(bt.socket, roomId, 'b is fine');
    });

    test("room_added: a group created over HTTP reaches every online member's sockets, which then get its messages", async () => {
      const a = await user('grouper');
      const b = await user('added b');
      const c = await user('added c');
      const d = await user('left out');
      const [a1, b1, b2, c1, d1] = [
        await openTab(a),
        await openTab(b),
        await openTab(b),
        await openTab(c),
        await openTab(d),
      ];
      clear(a1, b1, b2, c1, d1);
      const res = await postJson(
        url,
        '/chat/create_chat',
        { room_name: 'Study group', users: [b.uid, c.uid] },
        { cookie: a.cookie },
      );
      assert.equal(res.status, 200);
      const roomId = (res.json() as { room_id: string }).room_id;
      const got = await expectExactly<RoomWithMessages>([a1, b1, b2, c1], 'room_added', 1, () => true, {
        settleMs: 'marker',
      });
      for (const [room] of got) {
        assert.deepEqual(Object.keys(room!).sort(), ['messages', 'room_id', 'room_name']);
        assert.equal(room!.room_id, roomId);
        assert.equal(room!.room_name, 'Study group');
        assert.deepEqual(
          room!.messages.map((m) => [m.type, m.msg]),
          [['server', `Chat started by ${a.name}`]],
        );
        assert.deepEqual(Object.keys(room!.messages[0]!).sort(), MESSAGE_KEYS);
      }
      await expectNone([d1], 'room_added', () => true, 'marker');
      // Without sending `joined` again, every member socket receives the room's messages.
      const { id } = await send(c1.socket, roomId, 'welcome all');
      const msgs = await expectExactly<Message>([a1, b1, b2, c1], 'internal_msg', 1, () => true, {
        settleMs: 'marker',
      });
      for (const [m] of msgs) assert.equal(m!.id, id);
      const fromB = await send(b2.socket, roomId, 'thanks');
      await expectExactly<Message>([a1, b1, c1], 'internal_msg', 1, (m) => m.id === fromB.id, { settleMs: 'marker' });
      await expectNone([d1], 'internal_msg', () => true, 'marker');
    });
  });
}
