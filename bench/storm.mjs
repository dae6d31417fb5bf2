// The reconnect-storm scenario alone (bench/README.md, scenario 6): `node bench/storm.mjs`.
// Settings: BENCH_STORM_SIZES (default 5000,10000: the first size is repeated, later ones run
// once), BENCH_STORM_REPEAT (3), BENCH_STORM_VIA (direct | balancer), BENCH_STORM_SENDERS (200),
// BENCH_STORM_BUDGET_S (150), BENCH_STORM_BACKLOG (the chat nodes' listen backlog, through
// lib/backlog-hook.mjs; unset: Node's default 511, as deployed), BENCH_STORM_CPU_PROF (a
// directory: the first survivor runs with --cpu-prof and leaves its profile there; use with one
// storm, e.g. BENCH_STORM_SIZES=5000 BENCH_STORM_REPEAT=1), BENCH_STORM_CPU_HOOK (a file prefix:
// each storm's survivor writes a CPU profile of the storm alone, <prefix>-<pid>-<n>.cpuprofile,
// through profile/cpu-hook.mjs), and the bench's BENCH_REDIS_URL,
// BENCH_NODE_ENV, BENCH_LOG_LEVEL. Writes bench/results/<run id>-storm.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openFilesLimit } from './lib/proc.mjs';
import { benchChatEnv, deleteKeys, killAll, root, startRedis } from './lib/servers.mjs';
import { scenarioStorm, stormLines } from './lib/storm.mjs';

const t0 = Date.now();
const log = (...a) => console.log(`[storm +${Math.round((Date.now() - t0) / 1000)}s]`, ...a);
const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
const NODE_ENV = process.env.BENCH_NODE_ENV || 'production';
const list = (v, dflt) => (v ? v.split(',').map(Number) : dflt);
const sizes = list(process.env.BENCH_STORM_SIZES, [5000, 10000]);
if (!sizes.length || sizes.some((x) => !Number.isInteger(x) || x < 10))
  throw new Error(`BENCH_STORM_SIZES: whole numbers of at least 10 (got ${process.env.BENCH_STORM_SIZES})`);
const fdLimit = openFilesLimit();
const fdNeed = Math.max(...sizes) + 1000;
if (fdLimit !== null && fdLimit < fdNeed) throw new Error(`ulimit -n ${fdLimit}: the survivor needs about ${fdNeed}`);

// The chat's environment as every scenario's (lib/servers.mjs benchChatEnv). The `text` rate
// limit stays the contract's: a sender's 1 msg/s is under it; a storm client sends 2-3 events per
// reconnect, far under the contract's 50/s anyway.
const env = benchChatEnv();

async function main() {
  const redis = await startRedis();
  // Short, as production's `chat:` (bench/run.mjs says why).
  const prefix = `b:${runId.slice(-6)}:storm:`;
  log(`run ${runId}; redis ${redis.url} (${redis.private ? 'private' : 'shared'}); sizes ${sizes.join(', ')}`);
  let res;
  try {
    res = await scenarioStorm({
      redis,
      prefix,
      env,
      sizes,
      repeats: Math.max(1, Number(process.env.BENCH_STORM_REPEAT || 3)),
      senders: Number(process.env.BENCH_STORM_SENDERS || 200),
      via: process.env.BENCH_STORM_VIA || 'direct',
      secure: NODE_ENV === 'production',
      budgetMs: Number(process.env.BENCH_STORM_BUDGET_S || 150) * 1000,
      backlog: Number(process.env.BENCH_STORM_BACKLOG) || null,
      cpuProfDir: process.env.BENCH_STORM_CPU_PROF ? path.resolve(process.env.BENCH_STORM_CPU_PROF) : null,
      cpuHookFile: process.env.BENCH_STORM_CPU_HOOK ? path.resolve(process.env.BENCH_STORM_CPU_HOOK) : null,
      log,
    });
  } finally {
    const deleted = await deleteKeys(redis.client, prefix).catch(() => 0);
    log(`deleted ${deleted} keys under ${prefix}`);
    await redis.stop();
    if (!redis.private) await redis.client.quit();
  }
  console.log(
    `\nreconnect storm, ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const line of stormLines(res)) console.log(line);
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${runId}-storm.json`);
  writeFileSync(file, `${JSON.stringify({ runId, date: new Date().toISOString(), fdLimit, ...res }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(root, file)}; elapsed ${Math.round((Date.now() - t0) / 1000)} s`);
}

for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    killAll(); // the chat nodes and Redis; the generators and balancers go with this process's exit
    process.exit(130);
  });
main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
