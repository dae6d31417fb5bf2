// Starting and stopping what the bench measures: the chat server from the build, the bare relay,
// and (when no Redis is given) a private redis-server, so that nobody else's traffic shows up in
// its CPU or its INFO commandstats.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const sessionSecret = randomBytes(32).toString('hex');

/**
 * The chat's environment in every bench process (run.mjs, storm.mjs, the profile scripts): the
 * generator signs its thousands of clients in through the name-only form, all from 127.0.0.1,
 * makes the page scenario's rooms in a burst, and sends up to hundreds of events a second per
 * client: production allows that form only when told, and the per-address, room and event-budget
 * limits are raised (they are still checked on every request and event). The `text` rate limit
 * stays the contract's unless `extra` raises it. BENCH_NODE_ENV and BENCH_LOG_LEVEL are honoured.
 * One session secret per bench process, so every node of a scenario accepts the others' cookies.
 */
export function benchChatEnv(extra = {}) {
  return {
    NODE_ENV: process.env.BENCH_NODE_ENV || 'production',
    SESSION_SECRET: sessionSecret,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
    ALLOW_DEV_AUTH: 'true',
    SIGNINS_PER_MINUTE: '1000000',
    ROOMS_PER_MINUTE: '1000000',
    EVENTS_PER_SECOND: '1000000',
    EVENT_BURST: '1000000',
    ...extra,
  };
}
const children = new Set();

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The Node flags `npm start` runs the server with (e.g. its young-generation size), read from
 * package.json so the bench measures the server as it is deployed. The bare relay and the
 * generator get the same flags: the ratio compares code, not heap settings.
 */
export function startFlags() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const words = String(pkg.scripts?.start ?? '').split(/\s+/);
  return words.slice(words.indexOf('node') + 1).filter((w) => w.startsWith('--'));
}

/** Preloaded into a server that the idle scenario measures: SIGUSR2 → full GC → one JSON line. */
const GC_HOOK = path.join(root, 'bench', 'lib', 'gc-hook.cjs');

/**
 * Spawns `cmd args` and waits until it is ready: `readyPath` answering 200 on `port`, or, when
 * that is /healthz, a JSON log line with "msg":"listening" (its "port" wins). The chat server
 * waits on /readyz: its /healthz answers 200 once the store does, while every other route still
 * answers 503 until the node's Redis clients are all connected (with a cluster, slots loaded and
 * the sharded adapter made) — sign-ins in that window were refused.
 */
async function spawnUntilListening(
  name,
  cmd,
  args,
  env,
  port,
  { timeoutMs = 30_000, readyPath = '/healthz', cwd = root } = {},
) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const tail = [];
  const lineWaiters = new Set();
  let listenPort = null;
  let exited = null;
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      for (const w of lineWaiters) w(line);
      if (listenPort === null && readyPath === '/healthz' && line.includes('"msg":"listening"')) {
        const m = /"port":(\d+)/.exec(line);
        listenPort = m ? Number(m[1]) : port;
      }
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });
  const t0 = Date.now();
  while (listenPort === null) {
    if (exited) throw new Error(`${name} exited (${JSON.stringify(exited)}) before listening:\n${tail.join('\n')}`);
    if (Date.now() - t0 > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not listen within ${timeoutMs} ms:\n${tail.join('\n')}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      await res.arrayBuffer();
      if (res.status === 200) listenPort = port;
    } catch {
      // not up yet
    }
    if (listenPort === null) await sleep(100);
  }
  return {
    name,
    pid: child.pid,
    port: listenPort,
    url: `http://127.0.0.1:${listenPort}`,
    tail,
    /** The next output line for which `match` returns a value, that value. */
    nextLine(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          lineWaiters.delete(w);
          reject(new Error(`${name}: no matching output line within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = (line) => {
          const v = match(line);
          if (v === undefined || v === null) return;
          clearTimeout(timer);
          lineWaiters.delete(w);
          resolve(v);
        };
        lineWaiters.add(w);
      });
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(killer);
    },
  };
}

/**
 * The chat server from the build (dist/main.js), in Redis mode, with `npm start`'s Node flags.
 * `gcHook`: also preload bench/lib/gc-hook.cjs, so `server.fullGc()` can ask for a full
 * collection and read memory after it (the app itself is unchanged). `tree`: another checkout's
 * build instead (bench/profile/snapshot.sh makes them for A/Bs), run from that tree so that it
 * serves its own views and browser build.
 */
export async function startChat({
  name = 'server',
  redisUrl,
  prefix,
  env = {},
  gcHook = false,
  nodeArgs = [],
  tree = root,
}) {
  const port = await freePort();
  // `nodeArgs`: more Node flags, e.g. `--cpu-prof` for a profile (not allowed in NODE_OPTIONS).
  const hook = [...nodeArgs, ...(gcHook ? ['--expose-gc', '--require', GC_HOOK] : [])];
  const server = await spawnUntilListening(
    name,
    process.execPath,
    [...startFlags(), ...hook, path.join(tree, 'dist', 'main.js')],
    { PORT: String(port), REDIS_URL: redisUrl, REDIS_PREFIX: prefix, ...env },
    port,
    { readyPath: '/readyz', cwd: tree },
  );
  server.fullGc = async () => {
    const answer = server.nextLine((line) => {
      if (!line.startsWith('{"gcHook"')) return null;
      return JSON.parse(line).gcHook;
    });
    process.kill(server.pid, 'SIGUSR2');
    return answer;
  };
  return server;
}

export async function startBare() {
  const port = await freePort();
  return spawnUntilListening(
    'bare',
    process.execPath,
    [...startFlags(), path.join(root, 'bench', 'bare-relay.mjs')],
    { PORT: String(port) },
    port,
  );
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function hasRedisServer() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * BENCH_REDIS_URL when given; else a private redis-server on a free port (no persistence) when
 * the binary is there; else the usual redis://127.0.0.1:6379.
 */
export async function startRedis() {
  if (process.env.BENCH_REDIS_URL || !hasRedisServer()) {
    const url = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await client.connect();
    const info = await client.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]) || null;
    return { url, pid, private: false, client, commands: async () => [await totalCommands(client)], async stop() {} };
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '20000'],
    { stdio: 'ignore' },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; !(await canConnect(port)); i++) {
    if (i > 100 || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`);
    await sleep(50);
  }
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  client.on('error', () => {}); // reported by the failing command instead
  await client.connect();
  await client.ping();
  return {
    url,
    pid: child.pid,
    private: true,
    client,
    /** Commands run so far, as a one-node list (the cluster's list has one entry per master). */
    commands: async () => [await totalCommands(client)],
    async stop() {
      await client.quit().catch(() => {});
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

/** Commands a Redis has run so far (`INFO stats` total_commands_processed: the calls inside Lua scripts count too). */
export async function totalCommands(client) {
  const info = await client.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Deletes every key under `prefix` (SCAN, fine in a bench, never on a request path). */
export async function deleteKeys(client, prefix) {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await client.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

/** Kills whatever this process started and is still running (on Ctrl-C or a crash). */
export function killAll() {
  for (const child of children) child.kill('SIGKILL');
}
