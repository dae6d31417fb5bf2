/**
 * A private redis-server for fault tests that stop and restart Redis: the machine's shared Redis
 * on 6379 serves other engineers' tests and must never be stopped. Persistence is taken from
 * config/redis.conf (appendonly, appendfsync, no-appendfsync-on-rewrite, aof-load-truncated), so
 * a restart test checks the settings that ship; the data directory survives `stop()` so `start()`
 * again replays the AOF. Bound to 127.0.0.1 on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { root } from './server.js';

export const redisServerBin = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
export const redisServerSkip: string | false = existsSync(redisServerBin)
  ? false
  : `no ${redisServerBin} to start a private Redis`;

/** The persistence directives of config/redis.conf that decide what a restart keeps. */
const PERSISTENCE = [
  'appendonly',
  'appendfsync',
  'no-appendfsync-on-rewrite',
  'aof-load-truncated',
  'aof-use-rdb-preamble',
];

export function shippedPersistence(): Record<string, string> {
  const conf = readFileSync(path.join(root, 'config', 'redis.conf'), 'utf8');
  const found: Record<string, string> = {};
  for (const line of conf.split('\n')) {
    const m = /^\s*([a-z-]+)\s+(\S+)\s*$/.exec(line);
    if (m && PERSISTENCE.includes(m[1]!)) found[m[1]!] = m[2]!;
  }
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  settings: Record<string, string>;
  /** A plain client (no retries) for checks from the test. */
  client(): Promise<Redis>;
  /** SHUTDOWN (Redis fsyncs and closes the AOF), then wait for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to flush anything. */
  kill(): Promise<void>;
  /** Starts again on the same port and directory; resolves once PING answers. */
  start(): Promise<void>;
  /** Stops if running and deletes the directory. */
  destroy(): Promise<void>;
  output(): string;
}

export async function startPrivateRedis(overrides: Record<string, string> = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-'));
  const settings = { ...shippedPersistence(), ...overrides };
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v]),
  ];
  let proc: ChildProcess | null = null;
  const out: string[] = [];

  const waitPing = async (): Promise<void> => {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        s.setTimeout(500);
        s.once('connect', () => s.write('PING\r\n'));
        s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
        s.once('error', () => resolve(false));
        s.once('timeout', () => (s.destroy(), resolve(false)));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`private redis on ${port} did not answer:\n${out.join('')}`);
  };
  const exited = (p: ChildProcess): Promise<void> =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));

  const handle: PrivateRedis = {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    settings,
    async client() {
      const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      await c.connect();
      return c;
    },
    async start() {
      if (proc && proc.exitCode === null && proc.signalCode === null) throw new Error('already running');
      proc = spawn(redisServerBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
      proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
      await waitPing();
    },
    async stop() {
      if (!proc) return;
      const p = proc;
      const c = await handle.client();
      // SHUTDOWN closes the connection instead of replying.
      await c.call('SHUTDOWN').catch(() => {});
      c.disconnect();
      await exited(p);
      proc = null;
    },
    async kill() {
      if (!proc) return;
      const p = proc;
      p.kill('SIGKILL');
      await exited(p);
      proc = null;
    },
    async destroy() {
      if (proc) await handle.kill();
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => out.join(''),
  };
  await handle.start();
  return handle;
}
