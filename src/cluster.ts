/**
 * `node dist/cluster.js`: one chat on PORT served by WEB_CONCURRENCY worker processes (default:
 * the CPUs available). The primary owns the listening socket and hands each connection to a
 * worker with @socket.io/sticky, which routes by Engine.IO session id so the long-polling
 * requests of one session all reach the worker that holds it; workers never listen themselves.
 * The workers share one Redis: the store, sessions, and the Socket.IO adapter that relays
 * broadcasts between them (the in-process store would split the chat, hence REDIS_URL is
 * required with more than one worker).
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:http';
import os from 'node:os';
import { setupMaster, setupWorker } from '@socket.io/sticky';
import type { Server as IoServer } from 'socket.io';
import { ConfigError } from './config.js';
import { exitAfterShutdown, fail, listenError, loadConfigOrExit } from './lifecycle.js';
import { createLogger, loggerOptions } from './logger.js';
import { createChatServer, LISTEN_BACKLOG } from './server.js';

/** Longer than a worker's own drain (server.ts), so a clean shutdown is never cut short. */
const WORKER_STOP_MS = 20_000;
/** A worker that dies is replaced, but not in a hot loop when it dies at once again. */
const RESPAWN_DELAY_MS = 1_000;
const READY = 'chat:worker-ready';

/** WEB_CONCURRENCY as a worker count; problems are named like the configuration's. */
function workerCount(env: Record<string, string | undefined>, cpus: number): number {
  const raw = env.WEB_CONCURRENCY?.trim();
  if (raw === undefined || raw === '') return Math.max(1, cpus);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new ConfigError([`WEB_CONCURRENCY must be a whole number from 1 to 1024 (got "${raw}")`]);
  }
  return n;
}

async function runPrimary(): Promise<void> {
  const config = loadConfigOrExit();
  let workers: number;
  try {
    workers = workerCount(process.env, os.availableParallelism());
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (workers > 1 && !config.redis) {
    fail(
      `Invalid configuration:\n  - REDIS_URL is required with ${workers} workers (WEB_CONCURRENCY): ` +
        'the in-process store would give each worker a chat of its own',
    );
  }
  const logger = createLogger(config.logLevel, { role: 'primary' }, loggerOptions(config));

  // Workers send the chunks of a request over IPC as Buffers; "advanced" keeps them Buffers.
  cluster.setupPrimary({ serialization: 'advanced' });
  const httpServer = createServer();
  setupMaster(httpServer, { loadBalancingMethod: 'least-connection' });

  let stopping = false;
  let started = false;
  const ready = new Set<number>();
  let allReady: () => void = () => {};
  const whenReady = new Promise<void>((resolve) => (allReady = resolve));

  cluster.on('message', (worker: Worker, message: unknown) => {
    if ((message as { type?: string } | null)?.type !== READY) return;
    ready.add(worker.id);
    if (ready.size >= workers) allReady();
  });
  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (stopping) return;
    if (!started) fail(`worker ${worker.process.pid} exited (${code ?? signal}) during start-up`);
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(() => {
      if (!stopping) cluster.fork();
    }, RESPAWN_DELAY_MS).unref();
  });

  for (let i = 0; i < workers; i++) cluster.fork();
  await whenReady;
  started = true;
  const port = await new Promise<number>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port: config.port, backlog: LISTEN_BACKLOG }, () => {
      const addr = httpServer.address();
      resolve(typeof addr === 'object' && addr ? addr.port : config.port);
    });
  }).catch((err: unknown) => fail(listenError(err, config.port) ?? String(err)));
  logger.info({ port, workers, store: config.redis ? 'redis' : 'memory' }, 'listening');

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down workers');
    // No new connections; the workers then drain their own (see ChatServer.shutdown).
    httpServer.close();
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const codes = live.map(
      (w) =>
        new Promise<number | null>((resolve) => {
          if (w.isDead()) return resolve(w.process.exitCode);
          w.process.once('exit', (code) => resolve(code));
          w.process.kill('SIGTERM');
        }),
    );
    const timer = setTimeout(() => {
      logger.error('workers did not stop in time; killing them');
      for (const w of live) if (!w.isDead()) w.process.kill('SIGKILL');
    }, WORKER_STOP_MS);
    void Promise.all(codes).then((all) => {
      clearTimeout(timer);
      const ok = all.every((c) => c === 0);
      logger.info({ exitCodes: all }, 'workers stopped');
      process.exit(ok ? 0 : 1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function runWorker(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { worker: cluster.worker?.id }, loggerOptions(config));
  const server = await createChatServer(config, logger);
  // A worker reports ready (and the primary listens) once its Redis clients are connected.
  await server.ready;
  // The worker serves connections the primary passes it; it never listens on a port itself.
  setupWorker(server.io as unknown as IoServer);

  const stop = (reason: string): void => exitAfterShutdown(server, logger, reason);
  process.once('SIGTERM', () => stop('SIGTERM'));
  // Ctrl-C reaches the whole process group; the primary's SIGTERM then finds us already stopping.
  process.once('SIGINT', () => stop('SIGINT'));
  // The primary is gone: nobody will pass us connections any more.
  process.once('disconnect', () => stop('primary gone'));
  // With a callback a failed send (the primary already gone) is not an unhandled 'error' event.
  process.send?.({ type: READY }, undefined, undefined, (err: Error | null) => {
    if (err) stop('primary gone');
  });
}

const run = cluster.isPrimary ? runPrimary : runWorker;
run().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
