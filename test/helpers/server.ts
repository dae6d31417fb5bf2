/**
 * Chat nodes for tests, on port 0. Redis-mode nodes given the same `prefix` are one chat.
 *
 * `startInProcess` builds the node in the test's own process (`createChatServer` from src/, as
 * main.ts does): no process to spawn, no build to load, a fraction of the start-up time. Use it
 * wherever no process boundary is under test. `startServer` spawns `node dist/main.js` (or
 * another entry) and reads the port from its "listening" log line: for tests of what only a
 * process shows — restart, SIGKILL, SIGTERM and shutdown, start-up, logs, the cluster entry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createChatServer, type ChatServer } from '../../src/server.js';
import { deleteKeys, onCluster, redisEnv, testRedis, redisUrl as testRedisUrl } from './redis.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// One source for the test Redis and the reason to skip without it: helpers/redis.ts.
export { redisSkip, redisUrl as testRedisUrl } from './redis.js';

export interface StartOptions {
  env?: Record<string, string>;
  /** Redis mode on TEST_REDIS_URL. */
  redis?: boolean;
  /** Key prefix shared by nodes of one chat; a fresh one when omitted. */
  prefix?: string;
  /** Fixed port (e.g. to restart on the same address); 0 by default. */
  port?: number;
  /** The script to run, relative to the project root: `dist/main.js` (npm start) by default. */
  entry?: string;
  /** How long to wait for the "listening" line. */
  startTimeoutMs?: number;
}

export interface TestServer {
  url: string;
  port: number;
  prefix: string;
  readonly pid: number;
  proc: ChildProcess;
  /** Everything the process printed, for assertions and failure messages. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops it and starts it again on the same port and prefix. */
  restart(): Promise<void>;
}

export const newPrefix = (): string => `test:${randomBytes(4).toString('hex')}:`;

function spawnNode(
  env: Record<string, string>,
  entry = 'dist/main.js',
  startTimeoutMs = 20_000,
): Promise<{ proc: ChildProcess; port: number; out: string[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(root, entry)], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    let buffered = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${entry} did not start in ${startTimeoutMs} ms:\n${out.join('')}`));
    }, startTimeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      out.push(s);
      buffered += s;
      const m = /"port":(\d+)[^\n]*"msg":"listening"|"msg":"listening"[^\n]*"port":(\d+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1] ?? m[2]), out });
      }
    });
    proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out.join('')}`));
    });
  });
}

function waitExit(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

/** The node's environment: the test defaults, the Redis to use and the caller's variables. */
function nodeEnv(opts: StartOptions, prefix: string): Record<string, string> {
  const env: Record<string, string> = {
    PORT: String(opts.port ?? 0),
    REDIS_PREFIX: prefix,
    // Suites sign in dozens of users a minute, all from 127.0.0.1, create rooms in bursts and
    // send hundreds of events a second as one user: the per-address limit, the rooms per minute
    // and the per-user event budget are raised here (all still run on every request and event);
    // the tests of those limits set them back to the contract's defaults.
    SIGNINS_PER_MINUTE: '1000000',
    ROOMS_PER_MINUTE: '1000000',
    EVENTS_PER_SECOND: '1000000',
    EVENT_BURST: '1000000',
    ...opts.env,
  };
  if (opts.redis) {
    if (!testRedisUrl && !onCluster) throw new Error('a node with {redis: true} needs TEST_REDIS_URL');
    // REDIS_URL, or REDIS_CLUSTER_NODES in the cluster stage.
    Object.assign(env, redisEnv());
  } else if (!('REDIS_URL' in env)) {
    env.REDIS_URL = '';
  }
  return env;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const prefix = opts.prefix ?? newPrefix();
  const env = nodeEnv(opts, prefix);
  const first = await spawnNode(env, opts.entry, opts.startTimeoutMs);
  const { port } = first;
  let { proc, out } = first;
  const server: TestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    prefix,
    get pid() {
      return proc.pid ?? -1;
    },
    get proc() {
      return proc;
    },
    output: () => out.join(''),
    async kill(signal = 'SIGKILL') {
      proc.kill(signal);
      return waitExit(proc);
    },
    async stop() {
      proc.kill('SIGTERM');
      return waitExit(proc);
    },
    async restart() {
      await server.stop();
      ({ proc, out } = await spawnNode({ ...env, PORT: String(port) }, opts.entry, opts.startTimeoutMs));
    },
  } as TestServer;
  return server;
}

/** A node built in the test's process (`startInProcess`). */
export interface InProcessServer {
  url: string;
  port: number;
  prefix: string;
  /** The node itself: its store, metrics, Socket.IO server. */
  chat: ChatServer;
  /** Shuts the node down as SIGTERM would (server.ts `shutdown`): sockets, HTTP, Redis clients, timers. */
  stop(): Promise<void>;
}

/**
 * A chat node in this process on port 0, from src/ (so never a stale build), configured from the
 * same environment `startServer` would give a process, and ready (Redis connected, Socket.IO made)
 * when it resolves. Logs are silent unless `env.LOG_LEVEL` says otherwise.
 *
 * Several may run in one process: each has its own metrics registry, store, Redis clients and
 * timers (nothing in src/ is module-global), and `stop()` closes all of them.
 */
export async function startInProcess(
  opts: Omit<StartOptions, 'entry' | 'startTimeoutMs'> = {},
): Promise<InProcessServer> {
  const prefix = opts.prefix ?? newPrefix();
  // Like a spawned node's environment (the runner's variables, then the test's); NODE_ENV and
  // LOG_LEVEL are the test's own, not the runner's.
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...nodeEnv(opts, prefix) });
  const chat = await createChatServer(config, createLogger(config.logLevel));
  let port: number;
  try {
    port = await chat.listen(config.port);
    await chat.ready;
  } catch (err) {
    await chat.shutdown('start-up failed');
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    prefix,
    chat,
    stop: () => chat.shutdown('test done'),
  };
}

/** Deletes every key under a test prefix (sessions, rooms, adapter state). */
export async function cleanRedis(prefix: string): Promise<void> {
  if (!testRedisUrl && !onCluster) return;
  const r = testRedis('test-clean');
  await deleteKeys(r, prefix);
  await r.quit();
}
