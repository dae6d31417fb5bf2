/**
 * The Redis Cluster harness (test/helpers/redis-cluster.ts) against itself: a real 3-master,
 * 3-replica cluster on loopback, started twice at once (as two test files would), with ioredis
 * `Cluster` clients writing through a graceful `CLUSTER FAILOVER` and through a SIGKILL of a
 * master. The errors the writers see are counted by kind and printed: they are what the store's
 * retry rules have to cover. Asserted: the cluster is settled again within a bound, clients write
 * again afterwards, no write acknowledged before a graceful failover is lost, sharded Pub/Sub
 * delivers, and nothing is left running or on disk after stop().
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Cluster, ClusterOptions } from 'ioredis';
import { figures } from './fault-kit.js';
import {
  isRedisServerRunning,
  keySlot,
  redisClusterSkip,
  startRedisCluster,
  type RedisClusterHandle,
} from '../helpers/redis-cluster.js';

/** Scheduling slack on a shared 2-core machine. */
const READY_BOUND_MS = 15_000;
const GRACEFUL_BOUND_MS = 5_000;
/** Failure detection (node timeout), FAIL agreement, the replica's election delay, the vote. */
const KILL_BOUND_MS = 15_000;
const WRITERS_PER_CLIENT = 6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The kind of a failed command, as a retry rule would have to recognise it. */
function kindOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // ioredis gives up after maxRedirections and wraps the last error: say which it was.
  const wrapped = /^Too many Cluster redirections\. Last error: (?:\w*Error: )?(.*)$/s.exec(msg);
  if (wrapped) return `redirections(${kindOf(wrapped[1])})`;
  const code = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|READONLY|LOADING|MASTERDOWN)\b/.exec(msg)?.[1];
  if (code) return code;
  if (/timed out/i.test(msg)) return 'timeout';
  if (/isn't ready|enableOfflineQueue/i.test(msg)) return 'not-ready';
  if (/ECONNREFUSED|ECONNRESET|EPIPE|Connection is closed|Stream isn't writeable/i.test(msg)) return 'connection';
  return `other: ${msg.slice(0, 80)}`;
}

interface Writer {
  name: string;
  client: Cluster;
  /** Keys whose SET was acknowledged. */
  acked: string[];
  errors: Map<string, number>;
  /** The first message of each kind, to see what a retry rule would match on. */
  samples: Map<string, string>;
  /** performance.now() of the last acknowledged write. */
  lastAck: number;
  /** The longest time no loop of this writer got an acknowledgement. */
  longestStallMs: number;
  ops: number;
  stop(): Promise<void>;
}

/** Several loops writing fresh keys (spread over every slot) until stopped. */
function startWriter(name: string, client: Cluster): Writer {
  let running = true;
  let seq = 0;
  const w: Writer = {
    name,
    client,
    acked: [],
    errors: new Map(),
    samples: new Map(),
    lastAck: 0,
    longestStallMs: 0,
    ops: 0,
    stop: async () => {
      running = false;
      await loops;
    },
  };
  const loop = async (): Promise<void> => {
    while (running) {
      const key = `harness:${name}:${seq++}`;
      w.ops++;
      try {
        await client.set(key, '1');
        w.acked.push(key);
        const now = performance.now();
        // Only across the fault: the first ack has nothing before it.
        if (w.lastAck > 0) w.longestStallMs = Math.max(w.longestStallMs, Math.round(now - w.lastAck));
        w.lastAck = now;
      } catch (err) {
        const k = kindOf(err);
        w.errors.set(k, (w.errors.get(k) ?? 0) + 1);
        if (!w.samples.has(k)) w.samples.set(k, err instanceof Error ? err.message.slice(0, 100) : String(err));
        await sleep(10);
      }
      await sleep(2);
    }
  };
  const loops = Promise.all(Array.from({ length: WRITERS_PER_CLIENT }, loop));
  return w;
}

/** Keys of `acked` that a fresh client no longer finds. */
async function missing(cluster: RedisClusterHandle, acked: string[]): Promise<number> {
  const reader = cluster.client();
  try {
    let lost = 0;
    for (let i = 0; i < acked.length; i += 500) {
      const found = await Promise.all(acked.slice(i, i + 500).map((k) => reader.exists(k)));
      lost += found.filter((n) => n === 0).length;
    }
    return lost;
  } finally {
    reader.disconnect();
  }
}

/** Both profiles a chat process might run: ioredis's defaults, and the store's own settings. */
const PROFILES: Record<string, ClusterOptions> = {
  defaults: {},
  store: {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
  },
};

/**
 * ioredis re-subscribes a sharded subscriber only when its own client refreshes the slot map:
 * after a connection loss, a MOVED on a command of the same client, or the optional periodic
 * refresh (off by default). Both are measured: whether and when each hears the shard again.
 */
const SUBSCRIBERS: Record<string, ClusterOptions> = {
  defaults: { shardedSubscribers: true },
  refresh1s: { shardedSubscribers: true, slotsRefreshInterval: 1000 },
};
const SUBSCRIBER_WAIT_MS = 8000;

interface Listener {
  name: string;
  client: Cluster;
  resumedAfter(t: number): boolean;
  report(publishedAt: Map<number, number>, publishErrors: number): Record<string, unknown>;
}

async function listen(cluster: RedisClusterHandle, bus: string, name: string, opts: ClusterOptions): Promise<Listener> {
  const client = cluster.client(opts);
  const heardAt = new Map<number, number>();
  client.on('smessage', (_ch: string, msg: string) => heardAt.set(Number(msg), performance.now()));
  await client.ssubscribe(bus);
  return {
    name,
    client,
    resumedAfter: (t) => [...heardAt.values()].some((at) => at > t),
    report(publishedAt, publishErrors) {
      const missed = [...publishedAt.keys()].filter((n) => !heardAt.has(n));
      const times = [...heardAt.values()].sort((a, b) => a - b);
      const gap = times.reduce((g, t, i) => (i === 0 ? 0 : Math.max(g, t - times[i - 1]!)), 0);
      return {
        published: publishedAt.size,
        publishErrors,
        heard: heardAt.size,
        missed: missed.length,
        longestSilenceMs: Math.round(gap),
        resumed: times.length > 0 && times.at(-1)! > Math.max(...publishedAt.values()) - 1000,
      };
    },
  };
}

describe('Redis Cluster harness', { skip: redisClusterSkip, timeout: 180_000 }, () => {
  let cluster: RedisClusterHandle;
  const pids: number[] = [];
  const dirs: string[] = [];

  before(async () => {
    // Two at once, as two test files would: disjoint ports, both come up.
    const [a, b] = await Promise.all([startRedisCluster(), startRedisCluster()]);
    cluster = a;
    try {
      assert.equal(new Set([...a.ports, ...b.ports]).size, 12, 'two clusters share no port');
      console.log(`# cluster ready: ${figures({ readyMs: [a.readyMs, b.readyMs], seeds: a.seeds })}`);
    } finally {
      await b.stop();
    }
  });
  after(async () => {
    await cluster?.stop();
  });

  it('is 3 masters and 3 replicas, each in its own directory, ready within the bound', async () => {
    assert.ok(cluster.readyMs < READY_BOUND_MS, `ready in ${cluster.readyMs} ms`);
    const nodes = await cluster.nodes();
    assert.deepEqual(nodes.map((n) => n.role).sort(), ['master', 'master', 'master', 'replica', 'replica', 'replica']);
    assert.equal(new Set(nodes.map((n) => n.dir)).size, 6);
    pids.push(...nodes.map((n) => n.pid));
    dirs.push(...nodes.map((n) => n.dir));
    assert.equal(cluster.seeds.split(',').length, 6);
  });

  it('computes slots as Redis does (hash tags included)', async () => {
    const samples = [
      '',
      'a',
      'user:42',
      '{user:42}:sessions',
      'x{}y',
      '{}{a}',
      'a{b}c{d}',
      'room:{r1}:msgs',
      'ü{ñ}',
      '{{a}}',
    ];
    for (let i = 0; i < 200; i++) samples.push(`chat:${i}:${(i * 7919).toString(36)}`);
    for (const key of samples) {
      assert.equal(keySlot(key), Number(await cluster.call(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key)), key);
    }
  });

  it('a Cluster client reads and writes across every master', async () => {
    const client = cluster.client();
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `harness:spread:${i}`);
      const masters = new Set(await Promise.all(keys.map((k) => cluster.masterForKey(k))));
      assert.equal(masters.size, 3, 'the sample keys land on all three masters');
      await Promise.all(keys.map((k, i) => client.set(k, String(i))));
      assert.deepEqual(
        await Promise.all(keys.map((k) => client.get(k))),
        keys.map((_, i) => String(i)),
      );
    } finally {
      client.disconnect();
    }
  });

  it('sharded Pub/Sub: SSUBSCRIBE receives SPUBLISH (shardedSubscribers: true)', async () => {
    const sub = cluster.client({ shardedSubscribers: true });
    const pub = cluster.client();
    try {
      const channel = '{room:harness}:bus';
      const got = new Promise<[string, string]>((resolve) =>
        sub.on('smessage', (ch: string, msg: string) => resolve([ch, msg])),
      );
      await sub.ssubscribe(channel);
      // Delivered to subscribers of the shard that owns the channel's slot, and to no other node.
      assert.equal(await pub.spublish(channel, 'hello'), 1);
      assert.deepEqual(await got, [channel, 'hello']);
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  for (const fault of ['graceful failover', 'SIGKILL of a master'] as const) {
    it(`clients write through a ${fault}; the cluster settles within the bound`, async () => {
      const target = await cluster.masterForSlot(0);
      const writers = await Promise.all(
        Object.entries(PROFILES).map(async ([name, opts]) => {
          const client = cluster.client(opts);
          // Without an offline queue, a command before 'ready' fails: not what is measured here.
          await new Promise((resolve) => client.once('ready', resolve));
          return startWriter(name, client);
        }),
      );
      // Subscribers on a channel of the shard that fails over, and a publisher ticking on it.
      let tag = 0;
      while ((await cluster.masterForKey(`{h${tag}}:bus`)) !== target) tag++;
      const bus = `{h${tag}}:bus`;
      const listeners = await Promise.all(
        Object.entries(SUBSCRIBERS).map(([name, opts]) => listen(cluster, bus, name, opts)),
      );
      const pub = cluster.client();
      const publishedAt = new Map<number, number>();
      let publishErrors = 0;
      let ticking = true;
      const ticker = (async () => {
        for (let n = 0; ticking; n++) {
          await pub.spublish(bus, String(n)).then(
            () => publishedAt.set(n, performance.now()),
            () => publishErrors++,
          );
          await sleep(20);
        }
      })();
      try {
        await sleep(500);
        const result =
          fault === 'graceful failover' ? await cluster.failover(target) : await cluster.killMaster(target);
        const settledAt = performance.now();
        // Back to work: every writer acknowledges again within the bound.
        const deadline = settledAt + 10_000;
        while (writers.some((w) => w.lastAck < settledAt) && performance.now() < deadline) await sleep(20);
        const resumedMs = Math.round(Math.max(...writers.map((w) => w.lastAck)) - settledAt);
        // Until every subscriber hears messages published after the fault again, or a bound.
        const resumeDeadline = performance.now() + SUBSCRIBER_WAIT_MS;
        while (performance.now() < resumeDeadline && listeners.some((l) => !l.resumedAfter(settledAt))) await sleep(50);
        await sleep(500);
        ticking = false;
        await ticker;
        await Promise.all(writers.map((w) => w.stop()));
        const lost = await Promise.all(writers.map((w) => missing(cluster, w.acked)));
        console.log(
          `# ${fault}: ${figures({
            ms: result.ms,
            settledMs: result.settledMs,
            from: result.from,
            to: result.to,
            firstAckAfterSettledMs: resumedMs,
            nodeTimeoutMs: cluster.nodeTimeoutMs,
          })}`,
        );
        for (const [i, w] of writers.entries()) {
          console.log(
            `#   writer ${w.name}: ${figures({ ops: w.ops, acked: w.acked.length, lostAcked: lost[i], longestStallMs: w.longestStallMs, errors: Object.fromEntries(w.errors) })}`,
          );
          for (const [k, m] of w.samples) console.log(`#     ${k}: ${m}`);
        }
        for (const l of listeners) {
          console.log(
            `#   subscriber ${l.name} on ${bus} (slot ${keySlot(bus)}): ${figures(l.report(publishedAt, publishErrors))}`,
          );
        }
        const bound = fault === 'graceful failover' ? GRACEFUL_BOUND_MS : KILL_BOUND_MS;
        assert.ok(result.ms < bound, `${fault} took ${result.ms} ms (bound ${bound})`);
        assert.notEqual(await cluster.masterForSlot(0), target, 'slot 0 moved to the replica');
        for (const w of writers) assert.ok(w.lastAck >= settledAt, `${w.name} writes again after the ${fault}`);
        // Replication is asynchronous: after a SIGKILL a write acknowledged by the old master may
        // not have reached the replica. A graceful failover waits for the replica to catch up.
        if (fault === 'graceful failover') assert.deepEqual(lost, [0, 0], 'no acknowledged write lost');
      } finally {
        ticking = false;
        await ticker;
        await Promise.all(writers.map((w) => w.stop()));
        for (const w of writers) w.client.disconnect();
        for (const l of listeners) l.client.disconnect();
        pub.disconnect();
      }
    });
  }

  it('a killed master comes back as a replica of the node that took its slots', async () => {
    const down = (await cluster.nodes()).find((n) => n.role === 'down');
    assert.ok(down, 'the killed master is still down');
    const { ms } = await cluster.restartNode(down.port);
    console.log(`# restart: ${figures({ port: down.port, ms })}`);
    const nodes = await cluster.nodes();
    assert.equal(nodes.find((n) => n.port === down.port)?.role, 'replica');
    assert.equal(nodes.filter((n) => n.role === 'master').length, 3);
    pids.push(nodes.find((n) => n.port === down.port)!.pid);
  });

  it('stop() leaves no redis-server running and no directory behind', async () => {
    await cluster.stop();
    for (const pid of pids) assert.equal(isRedisServerRunning(pid), false, `pid ${pid} still runs`);
    for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} still exists`);
    await cluster.stop();
  });
});
