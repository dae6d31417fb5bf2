/**
 * Starts real chat nodes (`node dist/main.js` from the build) on port 0 for tests, reading the
 * port from the "listening" log line. Redis-mode nodes given the same `prefix` are one chat.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const prefix = opts.prefix ?? newPrefix();
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
    if (!testRedisUrl && !onCluster) throw new Error('startServer({redis:true}) needs TEST_REDIS_URL');
    // REDIS_URL, or REDIS_CLUSTER_NODES in the cluster stage.
    Object.assign(env, redisEnv());
  } else if (!('REDIS_URL' in env)) {
    env.REDIS_URL = '';
  }
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

/** Deletes every key under a test prefix (sessions, rooms, adapter state). */
export async function cleanRedis(prefix: string): Promise<void> {
  if (!testRedisUrl && !onCluster) return;
  const r = testRedis('test-clean');
  await deleteKeys(r, prefix);
  await r.quit();
}
