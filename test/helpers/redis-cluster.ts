/**
 * A private Redis Cluster for tests: 3 masters and 3 replicas on 127.0.0.1, started by the test
 * and torn down by it, never touching the machine's shared Redis on 6379. Built for the failover
 * tests: graceful `CLUSTER FAILOVER`, SIGKILL of a master, and bringing a killed node back.
 *
 * Each node runs in its own directory: a shared directory with a stray dump.rdb or nodes.conf
 * makes a node start with data or an identity and breaks cluster creation. The cluster is formed
 * directly (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET between every pair, REPLICATE) rather than with
 * `redis-cli --cluster create`, whose one-second polling loops make it take seconds longer.
 *
 * Several test files may each start a cluster at once: ports come from a random base in a high
 * range, each port and its bus port (port + 10000) are checked free by binding, and a node that
 * still loses the race (EADDRINUSE) makes the start try again elsewhere. Nothing outlives the test
 * process: an exit handler SIGKILLs the nodes, and a small watchdog shell does the same if the
 * process dies without running it (SIGKILL, a runner timeout).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';

const ci = process.env.CI === 'true' || process.env.CI === '1';

function findBin(name: string): string | null {
  const fromEnv = name === 'redis-server' ? process.env.REDIS_SERVER_BIN : undefined;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

export const redisClusterBin = findBin('redis-server');

/**
 * A `{ skip }` reason when this machine cannot run a cluster, else false. Under CI=true it is
 * always false, so a missing redis-server fails the suite instead of hiding it.
 */
export const redisClusterSkip: string | false =
  redisClusterBin || ci ? false : 'no redis-server on PATH (or REDIS_SERVER_BIN) to start a Redis Cluster';

export const SLOTS = 16384;

/** CRC16-CCITT (XModem: polynomial 0x1021, initial 0), the checksum the Redis Cluster spec names. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The slot of a key as Redis (and ioredis) computes it, without a server: hash tags included
 * (the bytes between the first `{` and the next `}`, when not empty). Synchronous, for unit tests
 * of a key layout; the harness test pins it against `CLUSTER KEYSLOT`. Not `cluster-key-slot`
 * (ioredis's): that one gives `{}{a}` the slot of `a`, where Redis hashes the whole key.
 */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}

export type NodeRole = 'master' | 'replica' | 'down';

export interface ClusterNode {
  port: number;
  /** Pid of the running process; 0 when the node is down. */
  pid: number;
  dir: string;
  role: NodeRole;
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** First client port; the bus ports are these + 10000. Random in a high range when omitted. */
  basePort?: number;
  /** cluster-node-timeout: how long a silent node takes to be suspected (and a master replaced). */
  nodeTimeoutMs?: number;
  /** Extra redis-server directives, e.g. `{ appendonly: 'yes' }`. */
  config?: Record<string, string>;
  /** How long start() may take before it gives up. */
  readyTimeoutMs?: number;
}

export interface FailoverResult {
  /** From the command (or the kill) until every live node says cluster_state:ok and agrees the slots moved. */
  ms: number;
  /** Until, additionally, every replica's link is up (the old master re-attached, after a graceful failover). */
  settledMs: number;
  /** The master that was replaced. */
  from: number;
  /** The replica that now serves its slots. */
  to: number;
  /** Waited before acting, for the replica's previous election to expire (not part of `ms`). */
  waitedMs: number;
}

export interface RedisClusterHandle {
  /** REDIS_CLUSTER_NODES: "127.0.0.1:p1,127.0.0.1:p2,…" for every node started. */
  seeds: string;
  ports: number[];
  nodeTimeoutMs: number;
  /** How long start() took until the cluster was settled. */
  readyMs: number;
  /** Every node with its role as the node itself reports it now (`down` when it does not answer). */
  nodes(): Promise<ClusterNode[]>;
  /** The port of the master that serves a slot now, by the view of a live node. */
  masterForSlot(slot: number): Promise<number>;
  masterForKey(key: string): Promise<number>;
  /** Ports of the live replicas of a master. */
  replicasOf(masterPort: number): Promise<number[]>;
  /** Any command on one node (no retries, 2 s timeout); for checks and for fault injection. */
  call(port: number, command: string, ...args: (string | number)[]): Promise<unknown>;
  /**
   * Graceful `CLUSTER FAILOVER` on a replica of `masterPort` (default: the master of slot 0);
   * resolves once the cluster is settled again.
   */
  failover(masterPort?: number): Promise<FailoverResult>;
  /** SIGKILLs a master (default: the master of slot 0) and waits until its replica took over. */
  killMaster(masterPort?: number): Promise<FailoverResult>;
  /** SIGKILLs any node and waits for its exit; no waiting for the cluster. */
  kill(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT: a node that hangs without closing its connections. */
  pause(port: number): void;
  resume(port: number): void;
  /**
   * Starts a killed node again on its port and directory (its nodes.conf keeps its identity); a
   * former master comes back as a replica of the node that took its slots. Resolves once settled.
   */
  restartNode(port: number): Promise<{ ms: number }>;
  /** Resolves once every live node says ok, all agree on the slot map, and every replica's link is up. */
  waitSettled(timeoutMs?: number): Promise<number>;
  /** An ioredis Cluster client on the seeds (errors are swallowed; attach your own listener). */
  client(options?: ClusterOptions): Cluster;
  /** The tail of a node's log, for failure messages. */
  log(port: number, lines?: number): string;
  /** SIGKILLs every node, removes the directories; idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Clean-up of everything started, whatever way the process ends.

const live = new Set<{ procs: () => ChildProcess[]; root: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' runs for a normal end and for process.exit() (a failing test file ends that way);
  // only synchronous work is possible here, which kill() and rmSync are.
  process.on('exit', () => {
    for (const c of live) {
      for (const p of c.procs()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      rmSync(c.root, { recursive: true, force: true });
    }
  });
}

/**
 * A detached shell that outlives this process by design: when the process is gone without its
 * exit handler having run, it SIGKILLs the nodes listed by pid files under `root` (only if that
 * pid is still a redis-server) and removes the directory.
 */
function startWatchdog(root: string): ChildProcess {
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done
    for f in "$1"/*/pid; do
      [ -f "$f" ] || continue
      p=$(cat "$f")
      [ "$(cat /proc/$p/comm 2>/dev/null)" = redis-server ] && kill -9 "$p"
    done
    rm -rf "$1"`;
  const w = spawn('sh', ['-c', script, 'watchdog', root], { detached: true, stdio: 'ignore' });
  w.unref();
  return w;
}

// ---------------------------------------------------------------------------------------------
// Ports.

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive ports from a random base whose bus ports (+10000) are free as well. */
async function pickPorts(count: number, basePort?: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // 20000–44999: above most ephemeral-free services, and the bus ports stay below 55000.
    const base = basePort ?? 20000 + Math.floor(Math.random() * 25000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.flatMap((p) => [canBind(p), canBind(p + 10000)]));
    if (free.every(Boolean)) return ports;
    if (basePort !== undefined) throw new Error(`ports ${base}..${base + count - 1} (or their bus ports) are taken`);
  }
  throw new Error('found no free block of ports for a Redis Cluster');
}

// ---------------------------------------------------------------------------------------------
// CLUSTER NODES as one node sees it.

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: string[];
}

function parseClusterNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', addr = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ');
      const port = Number(/:(\d+)@/.exec(addr)?.[1] ?? 0);
      // Importing/migrating entries look like "[123->-id]": not ownership.
      return { id, port, flags: flags.split(','), masterId, slots: slots.filter((s) => !s.startsWith('[')) };
    });
}

function slotCount(ranges: string[]): number {
  let n = 0;
  for (const r of ranges) {
    const [a, b] = r.split('-').map(Number);
    n += (b ?? a!) - a! + 1;
  }
  return n;
}

function ownsSlot(ranges: string[], slot: number): boolean {
  return ranges.some((r) => {
    const [a, b] = r.split('-').map(Number);
    return slot >= a! && slot <= (b ?? a!);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

interface Node {
  port: number;
  dir: string;
  proc: ChildProcess | null;
  exited: Promise<void>;
  client: Redis | null;
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  if (!redisClusterBin) throw new Error('no redis-server on PATH (or REDIS_SERVER_BIN)');
  let lastError: unknown;
  // A port can be taken between the check and the node's bind by another file's cluster.
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(redisClusterBin, opts);
    } catch (err) {
      lastError = err;
      if (!(err instanceof PortTakenError) || opts.basePort !== undefined) throw err;
    }
  }
  throw lastError;
}

class PortTakenError extends Error {}

async function startOnce(bin: string, opts: RedisClusterOptions): Promise<RedisClusterHandle> {
  const started = performance.now();
  const masters = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
  const count = masters * (1 + replicasPerMaster);
  const ports = await pickPorts(count, opts.basePort);
  const root = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-cluster-'));
  const nodes: Node[] = ports.map((port) => {
    const dir = path.join(root, String(port));
    mkdirSync(dir);
    return { port, dir, proc: null, exited: Promise.resolve(), client: null };
  });
  const byPort = new Map(nodes.map((n) => [n.port, n]));
  const entry = { procs: () => nodes.flatMap((n) => (n.proc ? [n.proc] : [])), root };
  installExitHook();
  live.add(entry);
  const watchdog = startWatchdog(root);

  const args = (n: Node): string[] => {
    const settings: Record<string, string> = {
      port: String(n.port),
      bind: '127.0.0.1',
      dir: n.dir,
      logfile: path.join(n.dir, 'redis.log'),
      daemonize: 'no',
      'cluster-enabled': 'yes',
      'cluster-config-file': 'nodes.conf',
      'cluster-node-timeout': String(nodeTimeoutMs),
      // A replica whose link was down for long may still take over: tests want a failover.
      'cluster-replica-validity-factor': '0',
      'cluster-allow-reads-when-down': 'no',
      appendonly: 'no',
      save: '',
      // The default 5 s delay before a diskless full sync would dominate start-up and re-attach.
      'repl-diskless-sync': 'yes',
      'repl-diskless-sync-delay': '0',
      ...opts.config,
    };
    return Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v]);
  };

  const logOf = (port: number, lines = 30): string => {
    try {
      const text = readFileSync(path.join(byPort.get(port)!.dir, 'redis.log'), 'utf8');
      return text.trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const launch = async (n: Node): Promise<void> => {
    const proc = spawn(bin, args(n), { cwd: n.dir, stdio: 'ignore' });
    // Unreferenced: a test that forgets stop() must not hang its file; the exit hook kills it.
    proc.unref();
    n.proc = proc;
    n.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void n.exited.then(() => rmSync(path.join(n.dir, 'pid'), { force: true }));
    if (proc.pid) writeFileSync(path.join(n.dir, 'pid'), String(proc.pid));
    const client = new Redis({
      host: '127.0.0.1',
      port: n.port,
      lazyConnect: true,
      // Fail at once while a node is down instead of queueing: polls must see "down" quickly.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2000,
      connectTimeout: 1000,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    n.client?.disconnect();
    n.client = client;
    const end = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        const log = logOf(n.port);
        if (/Address already in use/i.test(log)) throw new PortTakenError(`port ${n.port} taken`);
        throw new Error(`redis-server on ${n.port} exited at start:\n${log}`);
      }
      if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => {});
      if (client.status === 'ready' && (await client.ping().catch(() => '')) === 'PONG') {
        // The answer may come from another test's node that won the port in a race: never form
        // a cluster with (and so corrupt) someone else's server.
        const info = await client.info('server').catch(() => '');
        if (info.includes(`process_id:${proc.pid}\r`)) return;
        if (info.includes('process_id:')) throw new PortTakenError(`port ${n.port} answered by another process`);
      }
      if (Date.now() > end) throw new Error(`redis-server on ${n.port} did not answer:\n${logOf(n.port)}`);
      await sleep(20);
    }
  };

  const isUp = (n: Node): boolean => !!n.proc && n.proc.exitCode === null && n.proc.signalCode === null;

  const call = async (port: number, command: string, ...rest: (string | number)[]): Promise<unknown> => {
    const n = byPort.get(port);
    if (!n) throw new Error(`no node on ${port}`);
    if (!n.client || n.client.status !== 'ready') throw new Error(`node ${port} is not connected`);
    return n.client.call(command, ...rest);
  };
  const text = async (port: number, command: string, ...rest: (string | number)[]): Promise<string> =>
    String(await call(port, command, ...rest));

  interface Snapshot {
    settled: boolean;
    /** cluster_state ok everywhere, one slot map, no live node flagged failing: clients can work. */
    agreed: boolean;
    why: string;
    /** Slot ranges → master port, by the agreed view. */
    owners: { port: number; slots: string[] }[];
  }

  /** One look at every live node. */
  const snapshot = async (): Promise<Snapshot> => {
    const up = nodes.filter(isUp);
    const looks = await Promise.all(
      up.map(async (n) => {
        try {
          const [info, raw, role] = await Promise.all([
            text(n.port, 'CLUSTER', 'INFO'),
            text(n.port, 'CLUSTER', 'NODES'),
            call(n.port, 'ROLE') as Promise<unknown[]>,
          ]);
          return { n, info, view: parseClusterNodes(raw), role };
        } catch (err) {
          return { n, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const fail = (why: string): Snapshot => ({ settled: false, agreed: false, why, owners: [] });
    let signature: string | null = null;
    let topoSignature: string | null = null;
    let owners: Snapshot['owners'] = [];
    let linksUp = true;
    let why = '';
    for (const look of looks) {
      if ('error' in look) return fail(`${look.n.port}: ${look.error}`);
      if (!look.info.includes('cluster_state:ok')) return fail(`${look.n.port}: cluster_state not ok`);
      const mine = look.view
        .filter((l) => l.flags.includes('master') && l.slots.length > 0)
        .map((l) => ({ port: l.port, slots: l.slots }))
        .sort((a, b) => a.port - b.port);
      const covered = mine.reduce((s, o) => s + slotCount(o.slots), 0);
      if (covered !== SLOTS) return fail(`${look.n.port}: sees ${covered} slots served`);
      for (const other of up) {
        const line = look.view.find((l) => l.port === other.port);
        if (!line) return fail(`${look.n.port} does not know ${other.port}`);
        const bad = line.flags.filter((f) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(f));
        if (bad.length > 0) return fail(`${look.n.port} flags ${other.port} ${bad.join(',')}`);
      }
      // Who replicates whom, among live nodes, is part of what all must agree on: a replica's
      // ROLE says connected before its new master's view lists it.
      const portOf = new Map(look.view.map((l) => [l.id, l.port]));
      const topology = up.map((o) => {
        const line = look.view.find((l) => l.port === o.port)!;
        return line.flags.includes('slave') ? `${o.port}>${portOf.get(line.masterId) ?? '?'}` : `${o.port}`;
      });
      const sig = JSON.stringify(mine);
      if (signature === null) [signature, owners] = [sig, mine];
      else if (sig !== signature) return fail(`${look.n.port} disagrees on the slot map`);
      const topo = topology.join(' ');
      if (topoSignature === null) topoSignature = topo;
      else if (topo !== topoSignature) {
        linksUp = false;
        why ||= `${look.n.port} disagrees on who replicates whom`;
      }
      const [kind, , , state] = look.role;
      if (kind === 'master' && !mine.some((o) => o.port === look.n.port)) {
        // A master without slots is a node not yet turned into a replica (after a restart).
        linksUp = false;
        why ||= `${look.n.port} is a master without slots`;
      }
      if (kind === 'slave' && state !== 'connected') {
        linksUp = false;
        why ||= `${look.n.port}: replication link ${String(state)}`;
      }
    }
    return { settled: linksUp, agreed: true, why, owners };
  };

  const waitFor = async (
    what: string,
    test: (s: Snapshot) => boolean,
    timeoutMs: number,
    t0 = performance.now(),
  ): Promise<{ ms: number; snap: Snapshot }> => {
    const end = performance.now() + timeoutMs;
    let snap: Snapshot = { settled: false, agreed: false, why: 'not looked', owners: [] };
    for (;;) {
      snap = await snapshot();
      if (test(snap)) return { ms: Math.round(performance.now() - t0), snap };
      if (performance.now() > end) {
        const logs = nodes.map((n) => `--- ${n.port}\n${logOf(n.port, 8)}`).join('\n');
        throw new Error(`Redis Cluster: timed out waiting for ${what} (${snap.why})\n${logs}`);
      }
      await sleep(20);
    }
  };
  const waitSettled = async (timeoutMs = 20_000, t0?: number): Promise<number> =>
    (await waitFor('a settled cluster', (s) => s.settled, timeoutMs, t0)).ms;

  const ownerOf = async (slot: number): Promise<number> => {
    for (const n of nodes.filter(isUp)) {
      try {
        const view = parseClusterNodes(await text(n.port, 'CLUSTER', 'NODES'));
        const owner = view.find((l) => l.flags.includes('master') && ownsSlot(l.slots, slot));
        if (owner) return owner.port;
      } catch {
        // try the next node
      }
    }
    throw new Error(`no live node knows the master of slot ${slot}`);
  };

  const replicasOf = async (masterPort: number): Promise<number[]> => {
    const view = parseClusterNodes(await text(masterPort, 'CLUSTER', 'NODES'));
    const id = view.find((l) => l.port === masterPort)?.id;
    return view
      .filter((l) => l.masterId === id && l.flags.includes('slave') && !l.flags.some((f) => f.startsWith('fail')))
      .map((l) => l.port)
      .filter((p) => isUp(byPort.get(p)!));
  };

  const kill = async (port: number): Promise<void> => {
    const n = byPort.get(port);
    if (!n?.proc || !isUp(n)) return;
    // Referenced while waiting: otherwise a caller with nothing else pending would see its
    // event loop drain (and the process exit) before the 'exit' event.
    n.proc.ref();
    n.proc.kill('SIGKILL');
    await n.exited;
  };

  /**
   * A replica keeps its last election's state (the votes it got, the epoch it asked for) for
   * 2 × max(2 × node timeout, 2 s). A manual failover inside that window "wins" at once with the
   * stale epoch, and loses against the current owner: nothing changes, and the master stays
   * paused until the manual failover times out (5 s). So the same node is not asked again sooner.
   */
  const electionQuietMs = 2 * Math.max(2 * nodeTimeoutMs, 2000) + 100;
  const lastElection = new Map<number, number>();
  const quiet = async (port: number): Promise<number> => {
    const wait = (lastElection.get(port) ?? -Infinity) + electionQuietMs - performance.now();
    if (wait > 0) await sleep(wait);
    return Math.max(0, Math.round(wait));
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const n of nodes) n.client?.disconnect();
    await Promise.all(nodes.map((n) => kill(n.port)));
    // The watchdog has nothing left to do; it is ours, so end it by its pid.
    if (watchdog.exitCode === null) watchdog.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    live.delete(entry);
  };

  try {
    await Promise.all(nodes.map(launch));
    const primaries = nodes.slice(0, masters);
    const replicas = nodes.slice(masters);
    // Slots as redis-cli splits them: contiguous ranges, the remainder spread over the first ones.
    await Promise.all(
      primaries.map((n, i) => {
        const from = Math.floor((i * SLOTS) / masters);
        const to = Math.floor(((i + 1) * SLOTS) / masters) - 1;
        return call(n.port, 'CLUSTER', 'ADDSLOTSRANGE', from, to);
      }),
    );
    // Distinct config epochs before the nodes meet, so no epoch collision has to be resolved.
    await Promise.all(nodes.map((n, i) => call(n.port, 'CLUSTER', 'SET-CONFIG-EPOCH', i + 1)));
    // Every pair meets directly: waiting for gossip to spread the node list takes seconds.
    await Promise.all(
      nodes.flatMap((a) =>
        nodes.filter((b) => b !== a).map((b) => call(a.port, 'CLUSTER', 'MEET', '127.0.0.1', b.port)),
      ),
    );
    const ids = new Map(
      await Promise.all(nodes.map(async (n) => [n.port, await text(n.port, 'CLUSTER', 'MYID')] as const)),
    );
    // REPLICATE fails with "Unknown node" until the handshake with the master is done.
    await Promise.all(
      replicas.map(async (r, i) => {
        const master = primaries[i % masters]!;
        const end = Date.now() + 10_000;
        for (;;) {
          try {
            await call(r.port, 'CLUSTER', 'REPLICATE', ids.get(master.port)!);
            return;
          } catch (err) {
            if (Date.now() > end) throw err;
            await sleep(20);
          }
        }
      }),
    );
    await waitSettled(opts.readyTimeoutMs ?? 20_000);
  } catch (err) {
    await stop();
    throw err;
  }

  const handle: RedisClusterHandle = {
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    nodeTimeoutMs,
    readyMs: Math.round(performance.now() - started),
    async nodes() {
      return Promise.all(
        nodes.map(async (n): Promise<ClusterNode> => {
          let role: NodeRole = 'down';
          if (isUp(n)) {
            const r = (await call(n.port, 'ROLE').catch(() => null)) as unknown[] | null;
            if (r?.[0] === 'master') role = 'master';
            else if (r?.[0] === 'slave') role = 'replica';
          }
          return { port: n.port, pid: isUp(n) ? (n.proc?.pid ?? 0) : 0, dir: n.dir, role };
        }),
      );
    },
    masterForSlot: ownerOf,
    masterForKey: (key) => ownerOf(keySlot(key)),
    replicasOf,
    call,
    async failover(masterPort) {
      const from = masterPort ?? (await ownerOf(0));
      const [to] = await replicasOf(from);
      if (to === undefined) throw new Error(`master ${from} has no live replica to fail over to`);
      const waitedMs = await quiet(to);
      const t0 = performance.now();
      await call(to, 'CLUSTER', 'FAILOVER');
      const promoted = (s: Snapshot): boolean => s.agreed && s.owners.some((o) => o.port === to);
      const { ms } = await waitFor(`${to} to take over from ${from}`, promoted, 20_000, t0);
      lastElection.set(to, t0 + ms);
      const settledMs = await waitSettled(20_000, t0);
      return { ms, settledMs, from, to, waitedMs };
    },
    async killMaster(masterPort) {
      const from = masterPort ?? (await ownerOf(0));
      const replicas = await replicasOf(from);
      if (replicas.length === 0) throw new Error(`master ${from} has no live replica to take over`);
      let waitedMs = 0;
      for (const r of replicas) waitedMs += await quiet(r);
      const t0 = performance.now();
      await kill(from);
      const { ms, snap } = await waitFor(
        `a replica of ${from} (${replicas.join(', ')}) to take over`,
        (s) => s.agreed && s.owners.some((o) => replicas.includes(o.port)),
        30_000,
        t0,
      );
      const to = snap.owners.find((o) => replicas.includes(o.port))!.port;
      lastElection.set(to, t0 + ms);
      const settledMs = await waitSettled(20_000, t0);
      return { ms, settledMs, from, to, waitedMs };
    },
    kill,
    pause(port) {
      byPort.get(port)?.proc?.kill('SIGSTOP');
    },
    resume(port) {
      byPort.get(port)?.proc?.kill('SIGCONT');
    },
    async restartNode(port) {
      const n = byPort.get(port);
      if (!n) throw new Error(`no node on ${port}`);
      if (isUp(n)) throw new Error(`node ${port} is running`);
      const t0 = performance.now();
      await launch(n);
      // Up in the snapshot only once every other node no longer flags it as failed.
      return { ms: await waitSettled(30_000, t0) };
    },
    waitSettled: (timeoutMs) => waitSettled(timeoutMs),
    client(options: ClusterOptions = {}) {
      const c = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        options,
      );
      c.on('error', () => {});
      return c;
    },
    log: logOf,
    stop,
  };
  return handle;
}

/** True when a redis-server with this pid is still alive (for "nothing left running" checks). */
export function isRedisServerRunning(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'redis-server';
  } catch {
    // No /proc (not Linux): ask the process table.
    return spawnSync('kill', ['-0', String(pid)]).status === 0;
  }
}
