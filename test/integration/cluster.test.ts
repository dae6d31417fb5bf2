/**
 * Scale-out on one machine: (1) three `npm start` processes on one Redis, (2) the cluster entry
 * (`node dist/cluster.js`, three workers behind @socket.io/sticky). Clients sit on every process;
 * a message sent through any of them reaches every socket of every member exactly once, in the
 * order `history` returns. Long-polling clients exercise the sticky routing of the cluster.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import {
  connect,
  createChat,
  emitAck,
  isMarker,
  login,
  markerText,
  type ChatClient,
  type SignedIn,
} from '../helpers/client.js';
import { compareIds } from '../helpers/contract.js';
import { cleanRedis, newPrefix, redisSkip, root, startServer, type TestServer } from '../helpers/server.js';
import { figures, readAll, waitFor } from './fault-kit.js';

/** Every `internal_msg` of a room one socket received, in arrival order. */
function inbox(socket: ChatClient, roomId: string): Message[] {
  const got: Message[] = [];
  socket.on('internal_msg', (m) => {
    if (m.room_id === roomId) got.push(m);
  });
  return got;
}

/**
 * Sends `perSocket` messages from each of `senders` concurrently, then checks every receiver got
 * each acknowledged message exactly once, in history's order. Returns the printed figures.
 */
async function exchange(
  label: string,
  room: string,
  senders: ChatClient[],
  receivers: { socket: ChatClient; got: Message[]; where: string }[],
  perSocket: number,
  extra: Record<string, unknown>,
): Promise<void> {
  const acked: string[] = [];
  await Promise.all(
    senders.map(async (s, i) => {
      for (let n = 0; n < perSocket; n++) {
        const res = await emitAck<{ id: string }>(s, 'text', { room_id: room, msg: `${label}-${i}-${n}` });
        assert.equal(res.ok, true, `text ${label}-${i}-${n}: ${JSON.stringify(res)}`);
        if (res.ok) acked.push(res.id);
      }
    }),
  );
  const total = senders.length * perSocket;
  assert.equal(acked.length, total);
  await waitFor(() => receivers.every((r) => r.got.length >= total), 10_000, `${total} messages on every socket`);
  // A marker message posted after every acknowledgement travels the room's channel behind all of
  // them: once every socket has it, a late duplicate would have arrived before it.
  const markText = markerText();
  const mark = await emitAck<{ id: string }>(senders[0]!, 'text', { room_id: room, msg: markText });
  assert.equal(mark.ok, true, JSON.stringify(mark));
  await waitFor(
    () => receivers.every((r) => r.got.some((m) => m.msg === markText)),
    10_000,
    'the marker message on every socket',
  );
  for (const r of receivers) r.got = r.got.filter((m) => m.msg !== markText);
  const history = (await readAll(senders[0]!, room)).filter((m) => !isMarker(m)).map((m) => m.id);
  const expected = [...acked].sort(compareIds);
  assert.deepEqual(history.slice(-total), expected, 'history holds every acknowledged message in id order');
  for (const r of receivers) {
    const ids = r.got.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, `${r.where}: a message arrived twice`);
    assert.deepEqual(ids, expected, `${r.where}: every message once, in history's order`);
  }
  console.log(
    `${label}: ${figures({ ...extra, sockets: receivers.length, sent: total, acked: acked.length, deliveries: receivers.reduce((a, r) => a + r.got.length, 0), expected: total * receivers.length })}`,
  );
}

describe('three npm start processes on one Redis', { skip: redisSkip, timeout: 90_000 }, () => {
  const prefix = newPrefix();
  const nodes: TestServer[] = [];
  const sockets: ChatClient[] = [];

  before(async () => {
    // One after another: three cold starts at once starve a 2-core machine.
    for (let i = 0; i < 3; i++) nodes.push(await startServer({ redis: true, prefix }));
  });
  after(async () => {
    for (const s of sockets) s.close();
    const codes = await Promise.all(nodes.map((n) => n.stop()));
    await cleanRedis(prefix);
    assert.deepEqual(codes, [0, 0, 0], 'every process exits 0 on SIGTERM');
  });

  it('a message sent through any process reaches every socket on all three exactly once', async () => {
    const users: SignedIn[] = [];
    // Each user signs in through a different process: the session lives in Redis.
    for (const [i, n] of ['cA', 'cB', 'cC'].entries()) users.push(await login(nodes[i]!.url, `${n}-${prefix}`));
    const [ann, bob, cyd] = users as [SignedIn, SignedIn, SignedIn];

    // Every user has a socket on every process (three tabs, each on another node).
    const tabs: { user: number; node: number; socket: ChatClient }[] = [];
    for (const [u, user] of users.entries()) {
      for (const [n, node] of nodes.entries()) {
        const socket = await connect(node.url, user.cookie);
        sockets.push(socket);
        const j = await emitAck<{ rooms: unknown[] }>(socket, 'joined', {});
        assert.equal(j.ok, true);
        tabs.push({ user: u, node: n, socket });
      }
    }
    const added = tabs.filter((t) => t.user !== 0).map((t) => new Promise((r) => t.socket.once('room_added', r)));

    // Ann creates the group through process 0; Bob's and Cyd's tabs on all three are told.
    const created = await createChat(nodes[0]!.url, ann.cookie, 'three nodes', [bob.uid, cyd.uid]);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const room = created.body.room_id!;
    await Promise.race([
      Promise.all(added),
      new Promise((_, reject) => setTimeout(() => reject(new Error('room_added did not reach every tab')), 5000)),
    ]);

    const receivers = tabs.map((t) => ({
      socket: t.socket,
      got: inbox(t.socket, room),
      where: `node${t.node}/user${t.user}`,
    }));
    // One sender per process: Ann on node 0, Bob on node 1, Cyd on node 2.
    const senders = [0, 1, 2].map((i) => tabs.find((t) => t.user === i && t.node === i)!.socket);
    await exchange('npm-start x3', room, senders, receivers, 6, { processes: nodes.length });
  });
});

function exitOf(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

describe('node dist/cluster.js', () => {
  it('refuses more than one worker without REDIS_URL, naming the variable', async () => {
    const proc = spawn(process.execPath, [path.join(root, 'dist', 'cluster.js')], {
      cwd: root,
      env: { ...process.env, WEB_CONCURRENCY: '2', REDIS_URL: '', PORT: '0', NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exitOf(proc);
    assert.equal(code, 1);
    assert.match(err, /REDIS_URL is required with 2 workers \(WEB_CONCURRENCY\)/);
  });

  describe('three workers on one Redis', { skip: redisSkip, timeout: 120_000 }, () => {
    const prefix = newPrefix();
    let cluster: TestServer;
    const sockets: ChatClient[] = [];
    before(async () => {
      cluster = await startServer({
        entry: 'dist/cluster.js',
        startTimeoutMs: 45_000,
        redis: true,
        prefix,
        env: { WEB_CONCURRENCY: '3', DEBUG: 'socket.io-sticky' },
      });
    });
    after(async () => {
      for (const s of sockets) s.close();
      if (cluster) {
        const code = await cluster.stop();
        const out = cluster.output();
        assert.equal(code, 0, `cluster exit code; output:\n${out.slice(-3000)}`);
        assert.match(out, /"exitCodes":\[0,0,0\]/, 'every worker stopped cleanly');
      }
      await cleanRedis(prefix);
    });

    it('long-polling and WebSocket clients on different workers all get every message once', async () => {
      const users: SignedIn[] = [];
      for (const n of ['wA', 'wB', 'wC']) users.push(await login(cluster.url, `${n}-${prefix}`));
      const receivers: { socket: ChatClient; got: Message[]; where: string }[] = [];
      const polling: ChatClient[] = [];
      // Per user: one polling-only socket (every request must reach the worker holding the
      // session, or Engine.IO answers "Session ID unknown") and one that upgrades to WebSocket.
      for (const [u, user] of users.entries()) {
        for (const transports of [['polling'], ['polling', 'websocket']] as const) {
          const socket = await connect(cluster.url, user.cookie, { transports: [...transports] });
          sockets.push(socket);
          const j = await emitAck(socket, 'joined', {});
          assert.equal(j.ok, true);
          if (transports.length === 1) polling.push(socket);
          receivers.push({ socket, got: [], where: `${transports.join('+')}/user${u}` });
        }
      }
      // Sockets opened before the room existed join it through the adapter (room_added).
      const added = receivers.slice(2).map((r) => new Promise((ok) => r.socket.once('room_added', ok)));
      const created = await createChat(cluster.url, users[0]!.cookie, 'cluster', [users[1]!.uid, users[2]!.uid]);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const room = created.body.room_id!;
      for (const r of receivers) r.got = inbox(r.socket, room);
      await Promise.race([
        Promise.all(added),
        new Promise((_, reject) => setTimeout(() => reject(new Error('room_added did not reach every socket')), 5000)),
      ]);
      // The primary's sticky router (DEBUG=socket.io-sticky) says which worker got each session.
      const bound = new Map<string, string>();
      for (const m of cluster.output().matchAll(/session (\S+) bound to worker (\d+)/g)) bound.set(m[1]!, m[2]!);
      const workers = new Set(receivers.map((r) => bound.get(r.socket.io.engine.id)));
      assert.equal(workers.size, 3, `sockets spread over the three workers: ${[...workers].join(',')}`);
      await exchange('cluster x3 workers', room, polling, receivers, 5, { workers: workers.size });
      for (const s of polling) assert.equal(s.io.engine.transport.name, 'polling', 'stayed on long-polling');
      assert.ok(
        receivers.every((r) => r.socket.connected),
        'no socket was dropped (a request routed to the wrong worker ends the session)',
      );
    });
  });
});
