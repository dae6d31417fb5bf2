/**
 * A cluster client quit while a slot refresh is in flight lets its process end (redis-client.ts,
 * `stopRefreshingWhenEnded`): before, ioredis re-armed its refresh timer from that refresh and the
 * process stayed alive for ever — a test file that never finished, a node that would not exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redisClusterSkip, startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'quit-during-refresh.ts');
const EXIT_WITHIN_MS = 8000;

function runChild(port: number): Promise<{ code: number | null; ms: number; killed: boolean }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, String(port)], { stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), EXIT_WITHIN_MS);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, ms: Math.round(performance.now() - started), killed: signal === 'SIGKILL' });
    });
  });
}

describe('quitting a cluster client', { skip: redisClusterSkip, timeout: 60_000 }, () => {
  let cluster: RedisClusterHandle;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('during a slot refresh, the process ends by itself (3 of 3)', async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runChild(cluster.ports[0]!));
    console.log(`  exits: ${runs.map((r) => (r.killed ? 'hung' : `${r.ms} ms`)).join(', ')}`);
    assert.deepEqual(
      runs.map((r) => [r.killed, r.code]),
      [
        [false, 0],
        [false, 0],
        [false, 0],
      ],
    );
  });
});
