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
/** From the child's quit to its exit; the hang this guards against never ended. */
const EXIT_WITHIN_MS = 8000;
/** Starting the child (tsx compiles it) and reaching its quit, on a machine as busy as CI's. */
const START_WITHIN_MS = 45_000;

function runChild(port: number): Promise<{ code: number | null; ms: number | null; killed: boolean }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, String(port)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let quitAt: number | null = null;
    let timer = setTimeout(() => p.kill('SIGKILL'), START_WITHIN_MS);
    p.stdout.on('data', (chunk: Buffer) => {
      if (quitAt !== null || !chunk.toString().includes('quit')) return;
      quitAt = performance.now();
      clearTimeout(timer);
      timer = setTimeout(() => p.kill('SIGKILL'), EXIT_WITHIN_MS);
    });
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        ms: quitAt === null ? null : Math.round(performance.now() - quitAt),
        killed: signal === 'SIGKILL',
      });
    });
  });
}

describe('quitting a cluster client', { skip: redisClusterSkip, timeout: 180_000 }, () => {
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
    console.log(`  exits after the quit: ${runs.map((r) => (r.killed ? 'hung' : `${r.ms} ms`)).join(', ')}`);
    assert.deepEqual(
      runs.map((r) => [r.killed, r.code, r.ms !== null]),
      [
        [false, 0, true],
        [false, 0, true],
        [false, 0, true],
      ],
    );
  });
});
