// A/B at a fixed rate: server CPU µs per acknowledged message (from /proc, over the step and its
// drain), p99, and with --gc the server's GCs in the step (count, pauses, bytes allocated and
// promoted per message). `npm run bench` steps the rate up to find a ceiling and prints CPU %;
// comparing two builds needs the same load on both, interleaved (the order flips each round)
// because this shared 2-core VM drifts by tens of per cent within minutes, and medians.
//
//   sh bench/profile/snapshot.sh /tmp/ab/A && sh bench/profile/snapshot.sh /tmp/ab/B src/metrics.ts
//   node bench/profile/fixed-rate.mjs --variant A=/tmp/ab/A/tree/dist/main.js \
//     --variant 'B=/tmp/ab/B/tree/dist/main.js --max-semi-space-size=32' \
//     [--variant bare] --clients 100 --rate 1000 --secs 6 --rounds 3 [--steps 2] [--gc]
//
// A variant is `name=<entry.js> [node flags…]` (a tree made by snapshot.sh, or dist/main.js), or
// `bare [node flags…]` (bench/bare-relay.mjs). With `--signal`, a variant's flags
// `--import bench/profile/cpu-hook.mjs` (and CPU_PROF_FILE set) give a CPU profile of each step. Options: `--gc` adds --trace-gc-nvp to every server;
// `--cpu-prof DIR` makes each server write a CPU profile there (summarize-cpuprofile.mjs);
// `--signal` sends SIGUSR2 at each step's start and end (for alloc-hook.mjs, a sampled profile
// of every allocation); `--contract-limit` keeps the contract's rate limit (20 per 10 s), as the
// bench's 1 msg/s steps do.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLoadgenProcess } from '../lib/loadgen-ipc.mjs';
import { cpuSeconds } from '../lib/proc.mjs';
import { benchChatEnv, freePort, root, startFlags, startRedis, deleteKeys } from '../lib/servers.mjs';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    clients: { type: 'string', default: '100' },
    rate: { type: 'string', default: '2000' },
    secs: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '1' },
    gc: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    // SIGUSR2 to the server at each measured step's start and end (bench/profile/alloc-hook.mjs).
    signal: { type: 'boolean', default: false },
    // The contract's rate limit (20 per 10 s), as the bench's 1 msg/s steps use; else raised.
    'contract-limit': { type: 'boolean', default: false },
  },
});
const variants = values.variant.map((v) => {
  if (v === 'bare' || v.startsWith('bare ')) {
    const flags = v.split(/\s+/).slice(1);
    return { name: 'bare', entry: path.join(root, 'bench', 'bare-relay.mjs'), flags, bare: true };
  }
  const [name, rest] = [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)];
  const [entry, ...flags] = rest.split(/\s+/).filter(Boolean);
  return { name, entry: path.resolve(entry), flags, bare: false };
});
if (!variants.length) throw new Error('give at least one --variant');
const CLIENTS = Number(values.clients);
const RATE = Number(values.rate);
const STEP_MS = Number(values.secs) * 1000;
const ROUNDS = Number(values.rounds);
const STEPS = Number(values.steps);
const runId = randomBytes(3).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const chatEnv = benchChatEnv(
  values['contract-limit'] ? {} : { RATE_LIMIT_COUNT: '1000000', RATE_LIMIT_WINDOW_MS: '1000' },
);

/**
 * `--trace-gc-nvp` lines: `pause=1.1 … gc=s … allocated=919592 promoted=90120 …` (gc: s for a
 * scavenge, ms for mark-sweep-compact). `allocated` is what the heap grew by since the previous
 * GC, so its sum over a window divided by the messages is the bytes allocated per message: a
 * measure of an allocation cut that CPU contention does not blur.
 */
const NVP = /(?:^|\s)(pause|gc|allocated|promoted)=(\S+)/g;
const GC_KIND = { s: 'Scavenge', ms: 'Mark-Compact', mmc: 'Minor Mark-Compact' };

async function startServer(v, redisUrl, tag) {
  const port = await freePort();
  const flags = [...startFlags(), ...v.flags];
  if (values.gc) flags.push('--trace-gc-nvp');
  if (values['cpu-prof'])
    flags.push('--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`, `--cpu-prof-name=${v.name}-${tag}.cpuprofile`);
  const env = v.bare
    ? { PORT: String(port) }
    : { ...chatEnv, PORT: String(port), REDIS_URL: redisUrl, REDIS_PREFIX: `prof:${runId}:${tag}:` };
  const child = spawn(process.execPath, [...flags, v.entry], {
    cwd: path.dirname(path.dirname(v.entry)),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const gc = { on: false, counts: {}, pauseMs: {}, allocated: 0, promoted: 0, maxMs: 0 };
  const tail = [];
  const onLine = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      const f = Object.fromEntries([...line.matchAll(NVP)].map((m) => [m[1], m[2]]));
      if (line.startsWith('alloc-hook:')) console.log(`${v.name}: ${line}`);
      if (f.gc !== undefined && f.pause !== undefined) {
        if (gc.on) {
          const kind = GC_KIND[f.gc] ?? f.gc;
          gc.counts[kind] = (gc.counts[kind] ?? 0) + 1;
          gc.pauseMs[kind] = (gc.pauseMs[kind] ?? 0) + Number(f.pause);
          gc.maxMs = Math.max(gc.maxMs, Number(f.pause));
          gc.allocated += Number(f.allocated ?? 0);
          gc.promoted += Number(f.promoted ?? 0);
        }
      } else if (line.startsWith('WRITES ')) {
        console.log(`  ${v.name} ${line}`);
      } else if (line.trim()) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    }
  };
  child.stdout.on('data', onLine);
  child.stderr.on('data', onLine);
  const readyPath = v.bare ? '/healthz' : '/readyz';
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${v.name} exited: ${tail.join('\n')}`);
    if (i > 300) throw new Error(`${v.name} not ready: ${tail.join('\n')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    gc,
    tail,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await done;
      clearTimeout(t);
    },
  };
}

const startLoadgen = () => startLoadgenProcess(startFlags());

const median = (xs) => {
  const s = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x) => (x == null ? null : Math.round(x * 10) / 10);

const redis = await startRedis();
const results = Object.fromEntries(variants.map((v) => [v.name, []]));
try {
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order each round, so neither side always runs first after a quiet spell.
    const order = round % 2 ? variants : [...variants].reverse();
    for (const v of order) {
      const tag = `${v.name}-${round}`;
      const server = await startServer(v, redis.url, tag);
      const lg = await startLoadgen();
      try {
        const conn = await lg.call('connect', {
          urls: [server.url],
          count: CLIENTS,
          loginNames: !v.bare,
          secure: !v.bare,
          join: true,
          namePrefix: `${tag}-${runId}-`,
        });
        if (conn.connected < CLIENTS)
          throw new Error(`only ${conn.connected} connected: ${JSON.stringify(conn.errors)}`);
        await lg.call('step', { id: 0, rate: Math.min(RATE, 1000), durationMs: 2000, drainMs: 1000 });
        for (let s = 1; s <= STEPS; s++) {
          const load0 = (await import('node:os')).loadavg()[0];
          const c0 = cpuSeconds(server.pid);
          const rc0 = cpuSeconds(redis.pid);
          if (process.env.FR_CMDSTATS) await redis.client.config('RESETSTAT');
          if (values.signal) process.kill(server.pid, 'SIGUSR2');
          server.gc.on = true;
          server.gc.counts = {};
          server.gc.pauseMs = {};
          server.gc.maxMs = 0;
          server.gc.allocated = 0;
          server.gc.promoted = 0;
          const r = await lg.call('step', { id: s, rate: RATE, durationMs: STEP_MS, drainMs: 2000 });
          server.gc.on = false;
          if (values.signal) process.kill(server.pid, 'SIGUSR2');
          const cpu = cpuSeconds(server.pid) - c0;
          const redisCpu = cpuSeconds(redis.pid) - rc0;
          if (process.env.FR_CMDSTATS) {
            const info = await redis.client.info('commandstats');
            for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g))
              console.log(
                `  ${m[1]}: ${(Number(m[2]) / r.acked).toFixed(2)} calls/msg, ${(Number(m[3]) / r.acked).toFixed(1)} µs/msg`,
              );
          }
          const row = {
            round,
            step: s,
            acked: r.acked,
            unacked: r.unacked,
            refused: r.refusedReasons,
            missing: r.missing,
            dup: r.duplicates,
            usPerMsg: r1((cpu * 1e6) / r.acked),
            // Redis's CPU per acknowledged message in the same window (the bare relay uses none).
            redisUsPerMsg: r1((redisCpu * 1e6) / r.acked),
            p50: r.latencyMs.p50,
            p99: r.latencyMs.p99,
            genCpu: r.genCpuPct,
            load: r1(load0),
            gc: values.gc
              ? {
                  counts: server.gc.counts,
                  pauseMs: Object.fromEntries(Object.entries(server.gc.pauseMs).map(([k, x]) => [k, r1(x)])),
                  maxMs: r1(server.gc.maxMs),
                  // Bytes per acknowledged message, over the GCs inside the step.
                  allocatedPerMsg: Math.round(server.gc.allocated / r.acked),
                  promotedPerMsg: Math.round(server.gc.promoted / r.acked),
                }
              : undefined,
          };
          results[v.name].push(row);
          console.log(`${v.name.padEnd(8)} #${round}.${s} ${JSON.stringify(row)}`);
        }
      } finally {
        await lg.close();
        await server.stop();
      }
    }
  }
} finally {
  await deleteKeys(redis.client, `prof:${runId}:`).catch(() => {});
  await redis.stop();
}
console.log('\nmedians:');
for (const v of variants) {
  const rows = results[v.name];
  const gcPause = values.gc ? median(rows.map((x) => Object.values(x.gc.pauseMs).reduce((a, b) => a + b, 0))) : null;
  const gcCount = values.gc ? median(rows.map((x) => Object.values(x.gc.counts).reduce((a, b) => a + b, 0))) : null;
  console.log(
    `${v.name.padEnd(8)} µs/msg ${median(rows.map((x) => x.usPerMsg))} (${rows.map((x) => x.usPerMsg).join(', ')})` +
      `  redis µs/msg ${median(rows.map((x) => x.redisUsPerMsg))}` +
      `  p99 ${median(rows.map((x) => x.p99))} ms (${rows.map((x) => x.p99).join(', ')})` +
      `  loss ${rows.reduce((a, x) => a + x.missing, 0)}` +
      (values.gc
        ? `  gc ${gcCount} collections, ${r1(gcPause)} ms paused per step (max ${median(rows.map((x) => x.gc.maxMs))})` +
          `, allocated ${median(rows.map((x) => x.gc.allocatedPerMsg))} B/msg (${rows.map((x) => x.gc.allocatedPerMsg).join(', ')})` +
          `, promoted ${median(rows.map((x) => x.gc.promotedPerMsg))} B/msg`
        : ''),
  );
}
