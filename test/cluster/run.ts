/**
 * The cluster stage of `npm test`: starts a private Redis Cluster (3 masters, 3 replicas, on
 * loopback; test/helpers/redis-cluster.ts), then runs the given test files with
 * TEST_REDIS_CLUSTER_NODES naming it — the store, Socket.IO contract and multi-node suites run
 * exactly as on one Redis, through REDIS_CLUSTER_NODES — and stops the cluster. Files that need a
 * cluster of their own to break (failover) start one themselves.
 *
 *   node --import tsx test/cluster/run.ts [node --test options and files...]
 */
import { spawn } from 'node:child_process';
import { startRedisCluster } from '../helpers/redis-cluster.js';

const args = process.argv.slice(2);
const cluster = await startRedisCluster();
console.log(`# Redis Cluster ready in ${cluster.readyMs} ms: ${cluster.seeds}`);
let status = 1;
try {
  status = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...args], {
      stdio: 'inherit',
      env: { ...process.env, TEST_REDIS_CLUSTER_NODES: cluster.seeds },
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
} finally {
  await cluster.stop();
}
process.exit(status);
