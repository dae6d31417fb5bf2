/**
 * The key layout migration (src/store/migrate.ts) on data written by the code that used the old
 * layout: commit 7ab94bf, checked out into a scratch worktree, built and run on a test prefix,
 * driven over HTTP and Socket.IO like a browser would (dev and password sign-in, a group with
 * messages, a direct room, a random room one user left, read marks). Then two migrations at once
 * (two nodes starting together), a third that only reads the marker, and today's server on the
 * same prefix answers what the old one answered: every user's rooms with names, unread counts and
 * read marks, every history, the random room's seats, the room counters, the password account.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Message, RoomSummary } from '../../src/shared/types.js';
import { createLogger } from '../../src/logger.js';
import { LEGACY_LAYOUT, createKeys } from '../../src/store/keys.js';
import { migrateLayout } from '../../src/store/migrate.js';
import { createRedisClient, whenReady, type RedisClient } from '../../src/store/redis-client.js';
import { emitAck, type ChatClient } from '../helpers/client.js';
import { closeAll, fullHistory, openTab, postJson, send, signIn, uname, type User } from '../helpers/contract.js';
import { redisClusterSkip, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { listKeys, onCluster, testRedis } from '../helpers/redis.js';
import { cleanRedis, newPrefix, redisSkip, root, startServer, type TestServer } from '../helpers/server.js';

/** The last commit that wrote the layout before hash tags. */
const LEGACY_COMMIT = '7ab94bf';

function commitMissing(): string | false {
  try {
    execFileSync('git', ['cat-file', '-e', `${LEGACY_COMMIT}^{commit}`], { cwd: root, stdio: 'ignore' });
    return false;
  } catch {
    return `commit ${LEGACY_COMMIT} is not in this clone (shallow?): no old code to write legacy data`;
  }
}

const skip =
  redisSkip ||
  (onCluster ? 'the old layout only ever ran on one Redis (the cluster is refused)' : false) ||
  commitMissing();

interface Snapshot {
  rooms: Map<string, Pick<RoomSummary, 'room_name' | 'unread' | 'last_read'> & { last: string | null }>;
  histories: Map<string, Message[]>;
}

async function snapshot(socket: ChatClient): Promise<Snapshot> {
  const ack = await emitAck<{ rooms: RoomSummary[] }>(socket, 'joined', {});
  if (!ack.ok) throw new Error(`joined refused: ${ack.error}`);
  const rooms: Snapshot['rooms'] = new Map();
  const histories = new Map<string, Message[]>();
  for (const r of ack.rooms) {
    rooms.set(r.room_id, {
      room_name: r.room_name,
      unread: r.unread,
      last_read: r.last_read,
      last: r.last_message?.id ?? null,
    });
    histories.set(r.room_id, await fullHistory(socket, r.room_id));
  }
  return { rooms, histories };
}

/** Only the fields both versions' messages carry. */
const plain = (msgs: Message[]) =>
  msgs.map(({ id, room_id, uid, name, msg, type, time }) => ({ id, room_id, uid, name, msg, type, time }));

describe('key layout migration of data written by 7ab94bf', { skip, timeout: 180_000 }, () => {
  const prefix = newPrefix();
  const worktree = path.join(os.tmpdir(), `chat-legacy-${randomBytes(4).toString('hex')}`);
  const entry = path.relative(root, path.join(worktree, 'dist', 'main.js'));
  const servers: TestServer[] = [];
  const redis = testRedis('migrate-test');
  const logger = createLogger('silent');
  let buildMs = 0;

  before(async () => {
    const started = Date.now();
    execFileSync('git', ['worktree', 'add', '--detach', worktree, LEGACY_COMMIT], { cwd: root, stdio: 'ignore' });
    symlinkSync(path.join(root, 'node_modules'), path.join(worktree, 'node_modules'), 'dir');
    execFileSync(process.execPath, ['scripts/build.mjs', 'server'], {
      cwd: worktree,
      stdio: 'ignore',
      timeout: 120_000,
    });
    buildMs = Date.now() - started;
  });
  after(async () => {
    closeAll();
    await Promise.all(servers.map((s) => s.stop()));
    await cleanRedis(prefix);
    await redis.quit();
    if (existsSync(worktree)) {
      execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: root, stdio: 'ignore' });
    }
    rmSync(worktree, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}, legacy = false): Promise<TestServer> {
    const server = await startServer({ redis: true, prefix, env, ...(legacy ? { entry } : {}) });
    servers.push(server);
    return server;
  }
  async function stop(server: TestServer): Promise<void> {
    closeAll();
    servers.splice(servers.indexOf(server), 1);
    await server.stop();
  }

  test('rooms, histories, read marks, seats, counters and accounts survive; no legacy key is left', async (t) => {
    t.diagnostic(`old code checked out and built in ${buildMs} ms`);
    const password = 'correct horse battery';
    const accountName = uname('acct');

    // --- The old code writes the data. ---
    const old = await start({}, true);
    const [a, b, c] = (await Promise.all(['ada', 'bob', 'cy'].map((n) => signIn(old.url, uname(n))))) as [
      User,
      User,
      User,
    ];
    const [ta, tb, tc] = await Promise.all([openTab(a), openTab(b), openTab(c)]);
    const made = await postJson(
      old.url,
      '/chat/create_chat',
      { room_name: 'Old group', users: [b.uid, c.uid] },
      { cookie: a.cookie },
    );
    assert.equal(made.status, 200, made.text);
    const groupId = (made.json() as { room_id: string }).room_id;
    const m1 = await send(ta.socket, groupId, 'first from ada');
    await send(ta.socket, groupId, 'second from ada');
    await send(tb.socket, groupId, 'one from bob');
    await send(ta.socket, groupId, 'third from ada');
    const direct = await postJson(old.url, '/chat/direct', { uid: c.uid }, { cookie: b.cookie });
    assert.equal(direct.status, 200, direct.text);
    const directId = (direct.json() as { room_id: string }).room_id;
    await send(tb.socket, directId, 'hello cy');
    for (const tab of [ta, tb, tc]) {
      const ack = await emitAck<{ room_id: string }>(tab.socket, 'join_random', {});
      assert.equal(ack.ok && ack.room_id, 'Random_0');
    }
    await send(tc.socket, 'Random_0', 'cy was here');
    assert.equal((await emitAck(tc.socket, 'exit_room', { room_id: 'Random_0' })).ok, true);
    // cy read the group up to ada's first message; bob everything he was sent directly to.
    assert.equal((await emitAck(tc.socket, 'read', { room_id: groupId, id: m1.id })).ok, true);
    const before = new Map<string, Snapshot>();
    for (const [u, tab] of [
      [a, ta],
      [b, tb],
      [c, tc],
    ] as const)
      before.set(u.uid, await snapshot(tab.socket));
    assert.equal(before.get(c.uid)?.rooms.get(groupId)?.unread, 3, 'legacy data as intended');
    await stop(old);

    const oldAccounts = await start({ AUTH: 'password' }, true);
    const up = await postJson(oldAccounts.url, '/signup', { name: accountName, password });
    assert.equal(up.status, 303, up.text);
    await stop(oldAccounts);

    const keys = await listKeys(redis, prefix);
    assert.ok(keys.includes(LEGACY_LAYOUT.users(prefix)), `the old code wrote the old layout: ${keys.join(' ')}`);

    // --- Two nodes migrate at once, then a third start finds the marker. ---
    const started = Date.now();
    const [r1, r2] = await Promise.all([migrateLayout(redis, prefix, logger), migrateLayout(redis, prefix, logger)]);
    const migrateMs = Date.now() - started;
    const moved = r1.moved + r2.moved;
    t.diagnostic(`${keys.length} keys under the prefix; ${moved} moved, ${r1.seats + r2.seats} seats, ${migrateMs} ms`);
    assert.equal(r1.seats + r2.seats, 1, 'Random_0 got its seats once');
    assert.ok(moved >= 4 + 3 * 2, `profiles, name index, accounts, random index and users' rooms moved: ${moved}`);
    const again = await migrateLayout(redis, prefix, logger);
    assert.deepEqual(again, { moved: 0, seats: 0, alreadyDone: true });

    const k = createKeys(prefix);
    assert.equal(await redis.hget(k.randomSeats(), 'Random_0'), '2');
    const left = (await listKeys(redis, prefix)).filter(
      (key) =>
        [
          LEGACY_LAYOUT.users(prefix),
          LEGACY_LAYOUT.userIndex(prefix),
          LEGACY_LAYOUT.accountNames(prefix),
          LEGACY_LAYOUT.passwords(prefix),
          LEGACY_LAYOUT.randomRooms(prefix),
          LEGACY_LAYOUT.randomCounter(prefix),
        ].includes(key) ||
        (key.startsWith(`${prefix}user:`) && !key.startsWith(`${prefix}user:{`)),
    );
    assert.deepEqual(left, [], 'no key of the old layout is left');

    // --- Today's server on the same prefix; the old session cookies still sign in. ---
    const now = await start();
    for (const u of [a, b, c]) {
      u.url = now.url;
      u.tabs = [];
      const tab = await openTab(u, now.url, false);
      const after = await snapshot(tab.socket);
      const was = before.get(u.uid)!;
      assert.deepEqual(after.rooms, was.rooms, `${u.name}'s rooms, names, unread counts and read marks`);
      for (const [id, msgs] of was.histories) {
        assert.deepEqual(plain(after.histories.get(id) ?? []), plain(msgs), `${u.name}: history of ${id}`);
      }
    }

    // The random room has 2 of 10 seats taken: 8 more fill it, the next opens Random_1.
    const joiners = await Promise.all(Array.from({ length: 9 }, (_, i) => signIn(now.url, uname(`r${i}`))));
    const rooms: string[] = [];
    for (const j of joiners) {
      const tab = await openTab(j, now.url, false);
      const ack = await emitAck<{ room_id: string }>(tab.socket, 'join_random', {});
      assert.equal(ack.ok, true, JSON.stringify(ack));
      if (ack.ok) rooms.push(ack.room_id);
    }
    assert.deepEqual(rooms, [...Array<string>(8).fill('Random_0'), 'Random_1']);

    // ada's room counter moved: her next group is not her first one again.
    const next = await postJson(
      now.url,
      '/chat/create_chat',
      { room_name: 'New group', users: [b.uid] },
      {
        cookie: a.cookie,
        origin: now.url,
      },
    );
    assert.equal(next.status, 200, next.text);
    assert.equal((next.json() as { room_id: string }).room_id, `${a.uid}_1`);
    assert.equal(groupId, `${a.uid}_0`);

    // The password account signs in, and its name is still taken.
    const accounts = await start({ AUTH: 'password' });
    const signin = await postJson(accounts.url, '/login', { name: accountName, password });
    assert.equal(signin.status, 303, signin.text);
    const dup = await postJson(accounts.url, '/signup', { name: accountName, password: 'another password' });
    assert.equal(dup.status, 400, dup.text);
  });
});

describe('key layout migration on a Redis Cluster', { skip: redisClusterSkip, timeout: 60_000 }, () => {
  const prefix = newPrefix();
  const logger = createLogger('silent');
  let cluster: RedisClusterHandle;
  let redis: RedisClient;

  before(async () => {
    cluster = await startRedisCluster({ replicasPerMaster: 0 });
    const clusterNodes = cluster.ports.map((port) => ({ host: '127.0.0.1', port }));
    redis = createRedisClient({ clusterNodes }, 'migrate-test', logger, { commandTimeoutMs: 5000 });
    await whenReady(redis);
  });
  after(async () => {
    await redis?.quit();
    await cluster?.stop();
  });

  test('legacy keys are refused with the way out; without them only the marker is set', async () => {
    const k = createKeys(prefix);
    await redis.hset(LEGACY_LAYOUT.users(prefix), 'u1', '{}');
    await redis.hset(k.userRooms('u2'), 'r', 'r');
    await assert.rejects(
      migrateLayout(redis, prefix, logger),
      /old layout.*npm run migrate.*redis-cli --cluster import/s,
    );
    assert.equal(await redis.get(k.layout()), null, 'the marker is not set');

    await redis.del(LEGACY_LAYOUT.users(prefix));
    await redis.hset(LEGACY_LAYOUT.userKey(prefix, 'u1', 'rooms'), 'r', 'r');
    await assert.rejects(migrateLayout(redis, prefix, logger), /user:u1:rooms/);

    await redis.del(LEGACY_LAYOUT.userKey(prefix, 'u1', 'rooms'));
    assert.deepEqual(await migrateLayout(redis, prefix, logger), { moved: 0, seats: 0, alreadyDone: false });
    assert.deepEqual(await migrateLayout(redis, prefix, logger), { moved: 0, seats: 0, alreadyDone: true });
    assert.equal(await redis.hget(k.userRooms('u2'), 'r'), 'r', 'keys of the new layout are left alone');
  });
});
