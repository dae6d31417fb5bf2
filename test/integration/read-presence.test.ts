/**
 * "Never miss a message", the server's part, on two nodes of one Redis through Socket.IO and
 * HTTP only: read marks (`read`, forward only, every tab told, own messages read), the `joined`
 * summary (newest activity first, last message, unread), `members` with online state, `presence`
 * (online within 2 s, offline within 30 s, no flap on a quick reconnect, offline after a node is
 * SIGKILLed, back after Redis lost the leases), and direct conversations (`POST /chat/direct`, one room both ways).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Member, PresenceEvent, ReadEvent, RoomSummary, RoomWithMessages } from '../../src/shared/types.js';
import { HEARTBEAT_MS } from '../../src/chat/socket-limit.js';
import { createKeys } from '../../src/store/keys.js';
import { emitAck, sleep } from '../helpers/client.js';
import {
  closeAll,
  expectExactly,
  expectNone,
  group,
  openTab,
  postJson,
  send,
  signIn,
  uname,
  type Tab,
  type User,
} from '../helpers/contract.js';
import { testRedis } from '../helpers/redis.js';
import {
  cleanRedis,
  newPrefix,
  redisSkip,
  startInProcess,
  startServer,
  type InProcessServer,
  type TestServer,
} from '../helpers/server.js';

async function summaries(tab: Tab): Promise<RoomSummary[]> {
  const ack = await emitAck<{ rooms: RoomSummary[] }>(tab.socket, 'joined', {});
  if (!ack.ok) throw new Error(`joined refused: ${ack.error}`);
  return ack.rooms;
}

/** Waits until the tab got a presence event for `uid` with `online`; returns how long it took. */
async function presenceWithin(tab: Tab, uid: string, online: boolean, ms: number): Promise<number> {
  const start = Date.now();
  await tab.rec.until(
    () => (tab.rec.of('presence') as PresenceEvent[]).some((p) => p.uid === uid && p.online === online),
    ms,
    `presence ${uid} ${online}`,
  );
  return Date.now() - start;
}

describe(
  'read marks, summaries, members, presence and direct messages (two nodes)',
  { skip: redisSkip, timeout: 120_000 },
  () => {
    const prefix = newPrefix();
    // Node a is a process: the last test SIGKILLs it. Node b runs in this process.
    let a: TestServer;
    let b: InProcessServer;
    const user = (tag: string): Promise<User> => signIn(a.url, uname(tag));

    before(async () => {
      [a, b] = await Promise.all([startServer({ redis: true, prefix }), startInProcess({ redis: true, prefix })]);
    });
    after(async () => {
      closeAll();
      await Promise.all([a?.kill(), b?.stop()]);
      await cleanRedis(prefix);
    });

    test('read: forward only, never past the newest; every tab on both nodes told; own messages are read', async () => {
      const me = await user('reader');
      const peer = await user('writer');
      const roomId = await group(peer, 'Reading', [me]);
      const [mine, other, peerTab] = [await openTab(me, a.url), await openTab(me, b.url), await openTab(peer, b.url)];
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push(await send(peerTab.socket, roomId, `m${i}`));
      let [room] = await summaries(mine);
      assert.deepEqual(
        [room!.room_id, room!.unread, room!.last_read, room!.last_message?.msg],
        [roomId, 5, null, 'm4'],
      );

      assert.deepEqual(await emitAck(mine.socket, 'read', { room_id: roomId, id: sent[2]!.id }), {
        ok: true,
        last_read: sent[2]!.id,
      });
      const [got] = await expectExactly<ReadEvent>([other], 'read', 1, () => true, { settleMs: 'marker' });
      assert.deepEqual(got![0], { room_id: roomId, last_read: sent[2]!.id });
      [room] = await summaries(other);
      assert.equal(room!.unread, 2);
      // Backwards leaves it (still ok), and nobody is told of a mark that did not move; past the
      // newest stops at the newest.
      for (const id of [sent[0]!.id, sent[2]!.id]) {
        assert.deepEqual(await emitAck(mine.socket, 'read', { room_id: roomId, id }), {
          ok: true,
          last_read: sent[2]!.id,
        });
      }
      // Still the one `read` the other tab got above.
      await expectExactly<ReadEvent>([other], 'read', 1, () => true, { settleMs: 'marker' });
      assert.deepEqual(await emitAck(mine.socket, 'read', { room_id: roomId, id: '99999999999999-0' }), {
        ok: true,
        last_read: sent[4]!.id,
      });
      // A message the user sends moves their mark to it.
      await send(peerTab.socket, roomId, 'unread again');
      const own = await send(other.socket, roomId, 'my reply');
      [room] = await summaries(mine);
      assert.deepEqual([room!.last_read, room!.unread], [own.id, 0]);
      // Refusals: not a member, malformed id.
      const outsider = await openTab(await user('outsider'), a.url);
      assert.deepEqual(await emitAck(outsider.socket, 'read', { room_id: roomId, id: own.id }), {
        ok: false,
        error: 'not a member',
      });
      for (const id of ['x', '', 5, null]) {
        assert.deepEqual(await emitAck(mine.socket, 'read', { room_id: roomId, id }), {
          ok: false,
          error: 'invalid payload',
        });
      }
      await expectNone([outsider], 'read', () => true, 'marker');
    });

    test('joined and GET /chat: newest activity first, with the same unread counts', async () => {
      const me = await user('sorter');
      const peer = await user('sorter peer');
      const rooms = [await group(me, 'Old', [peer]), await group(me, 'Middle', [peer]), await group(me, 'New', [peer])];
      const peerTab = await openTab(peer, b.url);
      await send(peerTab.socket, rooms[1]!, 'x');
      // Time has to pass: ids are <ms>-<seq> per room, and a later millisecond orders the activity.
      await sleep(5);
      await send(peerTab.socket, rooms[0]!, 'y');
      await send(peerTab.socket, rooms[0]!, 'z');
      const listed = await summaries(await openTab(me, a.url));
      assert.deepEqual(
        listed.map((r) => [r.room_name, r.unread]),
        [
          ['Old', 2],
          ['Middle', 1],
          ['New', 0],
        ],
      );
      const html = await (await fetch(`${b.url}/chat`, { headers: { cookie: me.cookie } })).text();
      const order = [...html.matchAll(/data-testid="conv" data-room-id="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(order, [rooms[0], rooms[1], rooms[2]]);
      // Each entry shows the same unread count as `joined` (a badge hidden at 0).
      const badges = [...html.matchAll(/data-testid="unread-badge"( hidden)?><span class="unread-count">(\d+)</g)].map(
        (m) => (m[1] ? 'hidden' : m[2]),
      );
      assert.deepEqual(badges, ['2', '1', 'hidden']);
    });

    test('members: every member with online state; not a member refused', async () => {
      const me = await user('member a');
      const online = await user('member b');
      const offline = await user('member c');
      const roomId = await group(me, 'Members', [online, offline]);
      const tab = await openTab(me, a.url);
      await openTab(online, b.url);
      const ack = await emitAck<{ members: Member[] }>(tab.socket, 'members', { room_id: roomId });
      assert.equal(ack.ok, true);
      if (!ack.ok) return;
      const byUid = new Map(ack.members.map((m) => [m.uid, m]));
      assert.deepEqual(byUid.get(online.uid), { uid: online.uid, name: online.name, picture: '', online: true });
      assert.deepEqual(byUid.get(offline.uid), { uid: offline.uid, name: offline.name, picture: '', online: false });
      assert.equal(byUid.get(me.uid)?.online, true);
      assert.equal(ack.members.length, 3);
      const outsider = await openTab(await user('members outsider'), b.url);
      assert.deepEqual(await emitAck(outsider.socket, 'members', { room_id: roomId }), {
        ok: false,
        error: 'not a member',
      });
    });

    test('presence: online within 2 s on the other node, no flap on a reconnect within 5 s, offline within 30 s', async () => {
      const watcher = await user('watcher');
      const comer = await user('comer');
      await group(watcher, 'Presence', [comer]);
      const watch = await openTab(watcher, b.url);
      const first = await openTab(comer, a.url, false);
      const onlineMs = await presenceWithin(watch, comer.uid, true, 2000);
      // A reload: the socket closes and another opens within the grace. No offline, no second online.
      first.socket.close();
      // Real time under test: a reload half a second later, then past the 5 s grace and a 2 s sweep.
      await sleep(500);
      const second = await openTab(comer, a.url, false);
      await sleep(6000);
      const flaps = (watch.rec.of('presence') as PresenceEvent[]).filter((p) => p.uid === comer.uid);
      assert.deepEqual(flaps, [{ uid: comer.uid, online: true }], 'one online, no flap');
      second.socket.close();
      const offlineMs = await presenceWithin(watch, comer.uid, false, 30_000);
      console.log(`[presence] online after ${onlineMs} ms; offline ${offlineMs} ms after the last socket closed`);
      assert.ok(onlineMs <= 2000);
    });

    test('direct: one room both ways, named after the other, the other told with room_added; 400 for self or unknown', async () => {
      const ann = await user('direct ann');
      const bob = await user('direct bob');
      const bobTab = await openTab(bob, b.url);
      const first = await postJson(a.url, '/chat/direct', { uid: bob.uid }, { cookie: ann.cookie });
      assert.equal(first.status, 200, first.text);
      const body = first.json() as { status: string; room_id: string; room_name: string };
      assert.deepEqual(body, { status: 'OK', room_id: body.room_id, room_name: bob.name });
      const [added] = await expectExactly<RoomWithMessages>([bobTab], 'room_added', 1, () => true, {
        settleMs: 'marker',
      });
      assert.equal(added![0]!.room_id, body.room_id);
      assert.equal(added![0]!.room_name, ann.name);
      const back = await postJson(b.url, '/chat/direct', { uid: ann.uid }, { cookie: bob.cookie });
      assert.deepEqual(back.json(), { status: 'OK', room_id: body.room_id, room_name: ann.name });
      // Messages flow; the summaries name the room after the other side.
      const annTab = await openTab(ann, a.url);
      await send(annTab.socket, body.room_id, 'hi bob');
      const [bobRoom] = await summaries(bobTab);
      assert.deepEqual([bobRoom!.room_id, bobRoom!.room_name, bobRoom!.unread], [body.room_id, ann.name, 1]);
      for (const [payload, status] of [
        [{ uid: ann.uid }, 400],
        [{ uid: 'nobody-here' }, 400],
        [{}, 400],
        [{ uid: 5 }, 400],
      ] as const) {
        assert.equal((await postJson(a.url, '/chat/direct', payload, { cookie: ann.cookie })).status, status);
      }
      assert.equal((await postJson(a.url, '/chat/direct', { uid: bob.uid })).status, 401);
    });

    test('presence: a node whose leases Redis lost writes them back; the user is online again and the others are told', async () => {
      const watcher = await user('lapse watcher');
      const comer = await user('lapse comer');
      const roomId = await group(watcher, 'Lapse', [comer]);
      const watch = await openTab(watcher, b.url);
      await openTab(comer, a.url, false);
      await presenceWithin(watch, comer.uid, true, 2000);
      const online = async (): Promise<boolean | undefined> => {
        const ack = await emitAck<{ members: Member[] }>(watch.socket, 'members', { room_id: roomId });
        return ack.ok ? ack.members.find((m) => m.uid === comer.uid)?.online : undefined;
      };
      assert.equal(await online(), true);
      // As after Redis restarted without them: node a's registry entry, its set of users, the
      // user's sockets and their presence are gone (one key per command: each its own slot).
      const keys = createKeys(prefix);
      const redis = testRedis('read-presence-lapse');
      try {
        const [nodeId] = Object.values(await redis.hgetall(keys.userSockets(comer.uid)));
        assert.ok(nodeId, "the comer's socket is held by node a");
        await redis.zrem(keys.nodes(), nodeId);
        await redis.del(keys.nodeUsers(nodeId));
        await redis.del(keys.userSockets(comer.uid));
        await redis.zrem(keys.presence(), comer.uid);
        assert.equal(await online(), false, 'the lost lease shows the user offline');
        // Node a's next heartbeat (every 5 s) finds its entry gone and writes its sockets back.
        const start = Date.now();
        await watch.rec.until(
          () => (watch.rec.of('presence') as PresenceEvent[]).filter((p) => p.uid === comer.uid).length >= 2,
          HEARTBEAT_MS + 3000,
          'presence online again',
        );
        const told = (watch.rec.of('presence') as PresenceEvent[]).filter((p) => p.uid === comer.uid);
        assert.deepEqual(told, [
          { uid: comer.uid, online: true },
          { uid: comer.uid, online: true },
        ]);
        assert.equal(await online(), true);
        const [again] = Object.values(await redis.hgetall(keys.userSockets(comer.uid)));
        assert.ok(again && again !== nodeId, `written back under a new node id (${nodeId} → ${again})`);
        console.log(`[presence] written back and announced ${Date.now() - start} ms after the leases were lost`);
      } finally {
        redis.disconnect();
      }
    });

    test('presence: a SIGKILLed node does not leave its users online for more than 30 s', async () => {
      const watcher = await user('crash watcher');
      const victim = await user('crash victim');
      await group(watcher, 'Crash', [victim]);
      const watch = await openTab(watcher, b.url);
      await openTab(victim, a.url, false);
      await presenceWithin(watch, victim.uid, true, 2000);
      await a.kill('SIGKILL');
      const ms = await presenceWithin(watch, victim.uid, false, 30_000);
      console.log(`[presence] offline ${ms} ms after the node was killed`);
    });
  },
);
