// A private Redis Cluster for the scale-out scenario: 3 masters and 3 replicas on loopback, each
// node in its own temporary directory, started by the tests' own harness
// (test/helpers/redis-cluster.ts, TypeScript, loaded through tsx — a devDependency, there after
// `npm ci`). Stopped by the bench; should the bench die first, the harness's exit hook and its
// watchdog kill the nodes. The bench only reads from it: the role, pid and INFO of every node.
import { Redis } from 'ioredis';
import { totalCommands } from './servers.mjs';

const HARNESS = '../../test/helpers/redis-cluster.ts';

/**
 * Starts a cluster, or resolves `{ error }` saying why this machine cannot (tsx not installed,
 * no redis-server): the scenario then reports the cluster as not measured.
 */
export async function startCluster() {
  let harness;
  try {
    const { tsImport } = await import('tsx/esm/api');
    harness = await tsImport(HARNESS, import.meta.url);
  } catch (err) {
    return { error: `cannot load ${HARNESS} through tsx: ${err.message ?? err}` };
  }
  if (!harness.redisClusterBin) return { error: 'no redis-server on PATH (or REDIS_SERVER_BIN)' };
  const cluster = await harness.startRedisCluster();
  try {
    const nodes = await cluster.nodes();
    const masters = nodes.filter((n) => n.role === 'master');
    const replicas = nodes.filter((n) => n.role === 'replica');
    // One plain connection per master, for INFO only (never a command on a key).
    const clients = masters.map((n) => {
      const c = new Redis({ host: '127.0.0.1', port: n.port, lazyConnect: true, maxRetriesPerRequest: 2 });
      c.on('error', () => {}); // reported by the failing INFO instead
      return c;
    });
    await Promise.all(clients.map((c) => c.connect()));
    const version = /redis_version:(\S+)/.exec(await clients[0].info('server'))?.[1];
    return {
      seeds: cluster.seeds,
      readyMs: cluster.readyMs,
      version,
      masters: masters.map((n) => ({ port: n.port, pid: n.pid })),
      replicas: replicas.map((n) => ({ port: n.port, pid: n.pid })),
      /** Commands each master has run so far (INFO stats total_commands_processed, Lua's calls included), in master order. */
      commands: () => Promise.all(clients.map(totalCommands)),
      async stop() {
        for (const c of clients) c.disconnect();
        await cluster.stop();
      },
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
