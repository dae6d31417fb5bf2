/**
 * On a Redis Cluster a message is acknowledged once a replica has it (src/store/replica-wait.ts):
 * right after the ack the master's replica holds it. A replica that hangs (SIGSTOP) delays the
 * acknowledgement by the wait's bound at most — the message is stored and acknowledged anyway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { createKeys } from '../../src/store/keys.js';
import { createRedisClient, type RedisClient } from '../../src/store/redis-client.js';
import { createReplicaWait, ReplicaWaitFailed } from '../../src/store/replica-wait.js';
import { isStoreUnavailable } from '../../src/store/unavailable.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { UserProfile } from '../../src/shared/types.js';
import { redisClusterSkip, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import type { Cluster } from 'ioredis';

const WAIT_MS = 300;
const user = (uid: string): UserProfile => ({ uid, name: uid, course: '', role: 'student', picture: '' });

describe('replica wait on a Redis Cluster', { skip: redisClusterSkip, timeout: 60_000 }, () => {
  let cluster: RedisClusterHandle;
  let redis: RedisClient;
  let store: RedisStore;
  const keys = createKeys('rw:');

  before(async () => {
    cluster = await startRedisCluster();
    const nodes = cluster.seeds.split(',').map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) }));
    redis = createRedisClient({ clusterNodes: nodes }, 'replica-wait-test', createLogger('silent'), {
      commandTimeoutMs: 5000,
    });
    await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    store = new RedisStore({
      redis,
      keys,
      limits: {
        randomRoomSize: 10,
        historyKeep: 1000,
        rateLimitCount: 1000,
        rateLimitWindowMs: 10_000,
        clientIdKeepMs: 60_000,
        maxRoomsPerUser: 1000,
      },
      channelPrefix: 'rw:socket.io',
      replicaWait: createReplicaWait(redis as Cluster, WAIT_MS, createLogger('silent')),
    });
  });
  after(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it('the replica holds every acknowledged message; a hung replica costs the bound, not the message', async () => {
    const g = await store.createGroup(user('alice'), 'G', []);
    const key = keys.roomMessages(g.room_id);
    const master = await cluster.masterForKey(key);
    const [replica] = await cluster.replicasOf(master);
    assert.ok(replica, 'the room’s master has a replica');
    // A replica answers reads of its slots only on a connection that asked for it.
    await cluster.call(replica, 'READONLY');
    const post = async (msg: string) => {
      const t = performance.now();
      const r = await store.postMessage({ room_id: g.room_id, uid: 'alice', name: 'A', picture: '', msg });
      assert.ok(r.ok && r.message);
      return { id: r.id, ms: performance.now() - t };
    };
    const fast: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { id, ms } = await post(`m${i}`);
      fast.push(ms);
      // Read from the replica itself, at once: the ack came after it had the message.
      const onReplica = (await cluster.call(replica, 'XRANGE', key, id, id)) as unknown[];
      assert.equal(onReplica.length, 1, `message ${i} on the replica when acknowledged`);
    }
    cluster.pause(replica);
    let hung: { id: string; ms: number };
    try {
      hung = await post('while the replica hangs');
    } finally {
      cluster.resume(replica);
    }
    const median = [...fast].sort((a, b) => a - b)[10]!;
    console.log(
      `  ack: median ${median.toFixed(1)} ms with the replica up; ${hung.ms.toFixed(0)} ms with it hung (bound ${WAIT_MS} ms)`,
    );
    assert.ok(hung.ms >= WAIT_MS - 20 && hung.ms < WAIT_MS + 2000, `${hung.ms} ms`);
    assert.deepEqual(
      (await store.history(g.room_id, { limit: 1 })).map((m) => m.id),
      [hung.id],
    );
  });

  it('a WAIT on a master demoted meanwhile is "outcome unknown" (service unavailable), not an internal error', async () => {
    const [replica] = await cluster.replicasOf(await cluster.masterForKey(keys.roomMessages('any')));
    // What a demoted master answers (Redis's own words), wrapped as the store wraps it.
    const refused = await cluster.call(replica!, 'WAIT', 1, 10).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof Error, 'a replica refuses WAIT');
    const wrapped = new ReplicaWaitFailed(refused);
    assert.match(wrapped.message, /outcome unknown/);
    assert.equal(isStoreUnavailable(wrapped), true);
    assert.equal(isStoreUnavailable(refused), false, 'unwrapped it would have been an internal error');
  });
});
