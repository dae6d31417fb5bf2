/**
 * The per-user socket cap and presence in Redis (src/chat/socket-limit.ts): claims are capped;
 * the lease is the node's, renewed by one command whatever its number of sockets; a node whose
 * lease lapsed has its sockets given back by exactly one other node; a node that finds its own
 * lease gone writes its sockets back; and the presence grace.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RedisClient } from '../../src/store/redis-client.js';
import { createSocketLimiter, RETURN_GRACE_MS, type SocketLimiter } from '../../src/chat/socket-limit.js';
import { createLogger } from '../../src/logger.js';
import { createKeys } from '../../src/store/keys.js';
import { testRedis } from '../helpers/redis.js';
import { cleanRedis, newPrefix, redisSkip } from '../helpers/server.js';

describe('socket leases in Redis', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  const keys = createKeys(prefix);
  const logger = createLogger('silent');
  let redis: RedisClient;
  const conns: RedisClient[] = [];
  const connection = (): RedisClient => {
    const conn = testRedis('socket-limit-node');
    conns.push(conn);
    return conn;
  };
  /** A node's limiter, on its own connection (each node has one). */
  const node = (max = 5): SocketLimiter => createSocketLimiter({ max, redis: connection(), keys, logger });
  /** Which node id holds each of the user's sockets. */
  const holders = async (uid: string): Promise<Record<string, string>> => redis.hgetall(keys.userSockets(uid));
  const sweepUntil = async (nodes: SocketLimiter[], uids: string[]): Promise<string[]> => {
    const gone: string[] = [];
    for (let i = 0; i < 10 && gone.length < uids.length; i++)
      gone.push(...(await Promise.all(nodes.map((n) => n.sweep()))).flat());
    return gone;
  };

  before(() => {
    redis = testRedis('socket-limit-test');
  });
  after(async () => {
    await cleanRedis(prefix);
    for (const conn of [redis, ...conns]) conn.disconnect();
  });

  it('caps claims per user; the same socket again is not a new one; a release lost here is dropped at the next claim', async () => {
    const a = node(2);
    assert.equal(await a.acquire('cap', 's1'), 'online', 'the first socket brings the user online');
    assert.equal(await a.acquire('cap', 's2'), 'more');
    assert.equal(await a.acquire('cap', 's3'), 'refused', 'a third socket is over the cap');
    assert.equal(await a.acquire('cap', 's2'), 'more', 'the same socket again is not a new one');
    await a.release('cap', 's2');
    assert.equal(await a.acquire('cap', 's3'), 'more', 'a released slot is free again');
    // s3 closes, but its release never reaches Redis (written back here as if the HDEL was lost).
    const nodeId = (await holders('cap')).s1!;
    await a.release('cap', 's3');
    await redis.hset(keys.userSockets('cap'), 's3', nodeId);
    assert.equal(await a.acquire('cap', 's4'), 'more', 'the lost release is not counted: this node knows s3 closed');
    assert.deepEqual(Object.keys(await holders('cap')).sort(), ['s1', 's4']);
  });

  it("renewing is one command for the node, whatever its sockets; a dead node's sockets are given back once, by one node", async () => {
    const dead = node();
    const b = node();
    const c = node();
    // 450 users (three batches of claims), two sockets each on the node that dies; some also on b.
    const uids = Array.from({ length: 450 }, (_, i) => `u${i}`);
    for (const uid of uids) {
      assert.equal(await dead.acquire(uid, `${uid}-a`), 'online');
      assert.equal(await dead.acquire(uid, `${uid}-b`), 'more');
    }
    const both = uids.slice(0, 10);
    for (const uid of both) assert.equal(await b.acquire(uid, `${uid}-on-b`), 'more');

    const conn = connection();
    const counted = createSocketLimiter({ max: 5, redis: conn, keys, logger });
    for (const uid of uids.slice(0, 100)) await counted.acquire(uid, `${uid}-c`);
    await counted.heartbeat();
    let commands = 0;
    const original = conn.sendCommand.bind(conn) as (...args: unknown[]) => Promise<unknown>;
    (conn as { sendCommand: unknown }).sendCommand = (...args: unknown[]) => {
      commands++;
      return original(...args);
    };
    assert.deepEqual(await counted.heartbeat(), []);
    assert.equal(commands, 1, 'one command renews a node holding 100 users');
    (conn as { sendCommand: unknown }).sendCommand = original;
    await counted.close();
    for (const uid of uids.slice(0, 100)) assert.equal((await holders(uid))[`${uid}-c`], undefined, 'close gives back');

    // The node dies: it stops renewing. Its lease is made to have lapsed.
    const deadId = (await holders('u0'))['u0-a']!;
    assert.ok((await redis.zscore(keys.nodes(), deadId)) !== null, 'the node is in the registry');
    await redis.zadd(keys.nodes(), 1, deadId);
    const gone = await sweepUntil([b, c], uids);
    assert.equal(await redis.zscore(keys.nodes(), deadId), null, 'the dead node left the registry');
    assert.equal(await redis.zscore(keys.nodeClaims(), deadId), null, 'its claim is done');
    assert.equal(await redis.exists(keys.nodeUsers(deadId)), 0, 'its set of users is gone');
    for (const uid of uids) {
      const left = Object.keys(await holders(uid));
      assert.deepEqual(left, both.includes(uid) ? [`${uid}-on-b`] : [], `${uid}: only the dead node's sockets went`);
    }
    const expected = uids.filter((u) => !both.includes(u));
    assert.deepEqual(gone.sort(), expected.sort(), 'each user with no socket left goes offline once');
    assert.deepEqual(
      [...(await b.online(both))].sort(),
      [...both].sort(),
      'a user with a socket elsewhere stays online',
    );
    assert.deepEqual([...(await b.online(uids.slice(10, 20)))], []);
    assert.equal(await b.acquire('u20', 'again'), 'online', 'back on a live node: online again');
  });

  it('a node that finds its lease gone writes its sockets back under a new id, and says who came back', async () => {
    const a = node();
    const uids = ['w1', 'w2', 'w3'];
    for (const uid of uids) await a.acquire(uid, `${uid}-x`);
    await a.acquire('w2', 'w2-y'); // two tabs: both written back
    await a.heartbeat();
    const oldId = (await holders('w1'))['w1-x']!;
    // As after Redis restarted empty: the registry, the hashes and presence lost.
    await redis.zrem(keys.nodes(), oldId);
    // One key per command: each is in a cluster slot of its own.
    for (const k of [keys.nodeUsers(oldId), ...uids.map((u) => keys.userSockets(u))]) await redis.del(k);
    await redis.zrem(keys.presence(), ...uids);
    assert.deepEqual((await a.heartbeat()).sort(), uids);
    const newId = (await holders('w1'))['w1-x']!;
    assert.ok(newId && newId !== oldId, `a new node id (${oldId} → ${newId})`);
    for (const uid of uids)
      assert.deepEqual(await holders(uid), { [`${uid}-x`]: newId, ...(uid === 'w2' ? { 'w2-y': newId } : {}) });
    assert.ok((await redis.zscore(keys.nodes(), newId)) !== null, 'the new id is in the registry');
    assert.deepEqual((await redis.smembers(keys.nodeUsers(newId))).sort(), uids);
    assert.deepEqual([...(await a.online(uids))].sort(), uids);
    assert.deepEqual(await a.heartbeat(), [], 'the next heartbeat finds its lease');
  });

  it('presence: the last socket closing leaves a short grace (a reload is no flap); then one node claims the user offline', async () => {
    for (const limiter of [node(), createSocketLimiter({ max: 5, redis: null, keys, logger })]) {
      const uid = `grace-${Math.random().toString(36).slice(2, 8)}`;
      assert.equal(await limiter.acquire(uid, 'a'), 'online');
      assert.deepEqual([...(await limiter.online([uid, 'nobody']))], [uid]);
      await limiter.release(uid, 'a');
      assert.equal(await limiter.acquire(uid, 'b'), 'more', 'back within the grace');
      await limiter.release(uid, 'b');
      assert.deepEqual([...(await limiter.online([uid]))], [uid], 'online during the grace');
      assert.ok(!(await limiter.sweep()).includes(uid), 'not swept during the grace');
    }
    const uid = `grace-redis-${Math.random().toString(36).slice(2, 8)}`;
    const nodes = [node(), node()];
    assert.equal(await nodes[0]!.acquire(uid, 'a'), 'online');
    await nodes[0]!.release(uid, 'a');
    const until = Number(await redis.zscore(keys.presence(), uid));
    const [sec] = await redis.time();
    assert.ok(until - Number(sec) * 1000 <= RETURN_GRACE_MS + 1000, 'online until the grace ends');
    // The grace made to have passed: of two nodes sweeping at once, exactly one claims the user.
    await redis.zadd(keys.presence(), 1, uid);
    const swept = await Promise.all(nodes.map((n) => n.sweep()));
    assert.deepEqual(
      swept.flat().filter((u) => u === uid),
      [uid],
    );
    assert.deepEqual([...(await nodes[1]!.online([uid]))], []);
    assert.equal(await nodes[1]!.acquire(uid, 'c'), 'online', 'the next socket brings the user online again');
    // A user due while holding a socket (a release's presence step came after another socket's claim) is raised back.
    await redis.zadd(keys.presence(), 1, uid);
    assert.ok(!(await nodes[0]!.sweep()).includes(uid));
    assert.deepEqual([...(await nodes[1]!.online([uid]))], [uid]);
  });
});
