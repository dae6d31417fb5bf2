// `npm test`: lint, typecheck, build, then the unit, integration, browser and Firebase suites
// (each also runnable alone: `npm test -- integration`). Suites that need a service this machine
// lacks (Redis, Chromium) are skipped with the reason — unless CI=true, where nothing may skip.
// A suite never runs against a build older than src/: without the build stage in this run,
// scripts/ensure-build.mjs rebuilds first when anything it is built from is newer.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ci = process.env.CI === 'true' || process.env.CI === '1';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const wanted = process.argv.slice(2);
const all = ['lint', 'typecheck', 'build', 'unit', 'integration', 'cluster', 'browser', 'firebase'];
const stages = wanted.length > 0 ? wanted : all;

const totals = { passed: 0, failed: 0, skipped: 0 };
const skippedSuites = [];
let failedStages = [];
// Wall time of each stage, printed in the summary (where a run's minutes go).
const timings = [];
const runStart = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

// Streams the stage's output as it comes (CI shows progress) and keeps it to count results.
function run(name, cmd, args, env = {}) {
  console.log(`\n=== ${name}: ${[cmd, ...args].join(' ')}`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out += d.toString();
    });
    child.on('close', (status) => {
      const count = (label) => Number(out.match(new RegExp(`^[ℹ#] ${label} (\\d+)$`, 'm'))?.[1] ?? 0);
      totals.passed += count('pass');
      totals.failed += count('fail');
      totals.skipped += count('skipped');
      if (status !== 0) failedStages.push(name);
      timings.push({ name, ms: Date.now() - started, ok: status === 0 });
      resolve(status === 0);
    });
  });
}

function reachable(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    s.setTimeout(1000);
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
    s.on('timeout', () => (s.destroy(), resolve(false)));
  });
}

function files(dir) {
  const d = path.join(root, 'test', dir);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test', dir, f));
}

function which(bin) {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, bin)));
}

function skip(suite, why) {
  if (ci) {
    console.error(`\n=== ${suite}: cannot run (${why}) and CI=true forbids skipping`);
    failedStages.push(suite);
  } else {
    console.log(`\n=== ${suite}: SKIPPED — ${why}`);
    skippedSuites.push(`${suite} (${why})`);
  }
}

const hasRedis = await reachable(redisUrl);
const hasChromium = existsSync(chromium);
const testEnv = {
  TEST_REDIS_URL: hasRedis ? redisUrl : '',
  CHROMIUM_PATH: hasChromium ? chromium : '',
  NODE_ENV: 'test',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
};
const nodeTest = (list, concurrency = 1) => [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${concurrency}`,
  ...list,
];
// Integration files run three at a time (TEST_CONCURRENCY to change it): each works under its
// own key prefix (and private Redis servers for the outage tests), most nodes are in-process
// (test/helpers/server.ts), and the slowest files wait on time (outages, presence grace, the
// bench's run) rather than on the CPU. Measured on 2 cores: 5 min 3 s one at a time, 2 min 37 s -
// 3 min two, 1 min 50 s three (twice each, all passing); four failed a clock-bound budget test once.
const integrationConcurrency = Number(process.env.TEST_CONCURRENCY ?? 3);
// The cluster stage's files two at a time (TEST_CLUSTER_CONCURRENCY): 1 min 23 s one at a time,
// 47 s two (twice, all passing), read-presence's presence waits beside the failover test.
const clusterConcurrency = Number(process.env.TEST_CLUSTER_CONCURRENCY ?? 2);
// The files that mostly wait (30-45 s each here) start first, so the short ones fill the gaps
// beside them instead of one of them running alone at the end.
const slowFiles = [
  'integration/bench-smoke',
  'integration/exactly-once-redis',
  'integration/read-presence',
  'cluster/failover',
  'integration/fault-away',
  'integration/redis-cluster-harness',
  'integration/crash-lockout',
].map((name) => path.join('test', `${name}.test.ts`));
const slowestFirst = (list) => [
  ...slowFiles.filter((f) => list.includes(f)),
  ...list.filter((f) => !slowFiles.includes(f)),
];

const suites = ['unit', 'integration', 'cluster', 'browser', 'firebase'];

// Suites run a second time on a Redis Cluster (test/cluster/run.ts starts one), beside the
// cluster's own (failover).
const onClusterToo = [
  'store.test.ts',
  'store-redis.test.ts',
  'socket-contract.test.ts',
  'socket-exactly-once.test.ts',
  'socket-limit.test.ts',
  'read-presence.test.ts',
  'multi-node.test.ts',
].map((f) => path.join('test', 'integration', f));
let built = false;

// A failed build stops the run: the suites would test the previous build.
stages: for (const stage of stages) {
  if (suites.includes(stage) && !built) {
    built = await run('build (if older than src/)', process.execPath, ['scripts/ensure-build.mjs']);
    if (!built) break;
  }
  switch (stage) {
    case 'lint':
      if (await run('lint', 'npx', ['eslint', '.', '--max-warnings', '0']))
        await run('format', 'npx', ['prettier', '--check', '.']);
      break;
    case 'typecheck':
      // `npm run typecheck` covers the server, the browser code and the tests.
      await run('typecheck', 'npm', ['run', '-s', 'typecheck']);
      break;
    case 'build':
      built = await run('build', process.execPath, ['scripts/build.mjs']);
      if (!built) break stages;
      break;
    case 'unit':
    case 'integration': {
      const list = stage === 'integration' ? slowestFirst(files(stage)) : files(stage);
      if (list.length === 0) break;
      if (!hasRedis) skip(`${stage} (Redis parts)`, `no Redis at ${redisUrl}; its tests skip themselves`);
      await run(stage, process.execPath, nodeTest(list, stage === 'integration' ? integrationConcurrency : 1), testEnv);
      break;
    }
    case 'cluster': {
      if (!which('redis-server')) {
        skip('cluster', 'no redis-server on PATH to start a Redis Cluster');
        break;
      }
      const nodeArgs = nodeTest(slowestFirst([...onClusterToo, ...files('cluster')]), clusterConcurrency).slice(3);
      await run('cluster', process.execPath, ['--import', 'tsx', 'test/cluster/run.ts', ...nodeArgs], testEnv);
      break;
    }
    case 'browser': {
      const list = files('browser');
      if (list.length === 0) break;
      if (!hasChromium) skip('browser', `no Chromium at ${chromium} (apt-get install -y chromium)`);
      else await run('browser', process.execPath, nodeTest(list), testEnv);
      break;
    }
    case 'firebase': {
      const list = files('firebase');
      if (list.length === 0) break;
      if (!hasChromium) skip('firebase (browser parts)', `no Chromium at ${chromium}`);
      // The Auth emulator from firebase-tools (pure Node, offline, UI disabled in firebase.json).
      await run(
        'firebase',
        'npx',
        [
          'firebase',
          'emulators:exec',
          '--only',
          'auth',
          '--project',
          'demo-chat',
          `${process.execPath} ${nodeTest(list).join(' ')}`,
        ],
        // CI set for the CLI keeps it from fetching its message of the day (no network here).
        { ...testEnv, CI: '1' },
      );
      break;
    }
    default:
      console.error(`unknown stage ${stage}; stages: ${all.join(', ')}`);
      process.exit(2);
  }
}

if (timings.length > 0) {
  const width = Math.max(...timings.map((t) => t.name.length));
  console.log('\nWall time per stage:');
  for (const t of timings)
    console.log(`  ${t.name.padEnd(width)}  ${secs(t.ms).padStart(8)}${t.ok ? '' : '  (failed)'}`);
  console.log(`  ${'total'.padEnd(width)}  ${secs(Date.now() - runStart).padStart(8)}`);
}
if (skippedSuites.length > 0) console.log(`\nSkipped suites:\n${skippedSuites.map((s) => `  - ${s}`).join('\n')}`);
if (failedStages.length > 0) console.log(`\nFailed stages: ${failedStages.join(', ')}`);
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedStages.length > 0 ? 1 : 0);
