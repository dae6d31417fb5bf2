// `npm test`: lint, typecheck, build, then the unit, integration, browser and Firebase suites
// (each also runnable alone: `npm test -- integration`). Suites that need a service this machine
// lacks (Redis, Chromium) are skipped with the reason — unless CI=true, where nothing may skip.
// A suite never runs against a build older than src/: without the build stage in this run,
// scripts/ensure-build.mjs rebuilds first when anything it is built from is newer.
//
// Stages run side by side where that pays on 2 cores (`plan` below; TEST_OVERLAP=0 runs them one
// at a time): a stage running beside another has its output held and printed whole when it ends.
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

// Streams the stage's output as it comes (CI shows progress), or with `held` keeps it and prints
// it whole when the stage ends (stages side by side must not interleave); counts its results.
function run(name, cmd, args, env = {}, held = false) {
  const header = `\n=== ${name}: ${[cmd, ...args].join(' ')}`;
  console.log(held ? `${header}\n    (beside other stages: its output when it ends)` : header);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let all = '';
    child.stdout.on('data', (d) => {
      if (held) all += d.toString();
      else process.stdout.write(d);
      out += d.toString();
    });
    child.stderr.on('data', (d) => {
      if (held) all += d.toString();
      else process.stderr.write(d);
    });
    child.on('close', (status) => {
      const ms = Date.now() - started;
      if (held) process.stdout.write(`${header}\n${all}=== ${name}: ended after ${secs(ms)}\n`);
      const count = (label) => Number(out.match(new RegExp(`^[ℹ#] ${label} (\\d+)$`, 'm'))?.[1] ?? 0);
      totals.passed += count('pass');
      totals.failed += count('fail');
      totals.skipped += count('skipped');
      if (status !== 0) failedStages.push(name);
      timings.push({ name, ms, ok: status === 0 });
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
  'browser/readable',
  'browser/a11y',
  'browser/chat',
  'browser/people',
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
  'lua.test.ts',
].map((f) => path.join('test', 'integration', f));
// Browser files two at a time (TEST_BROWSER_CONCURRENCY): each starts its own server (port 0,
// its own key prefix) and Chromium, and every user name carries the file's random tag. Measured
// here with other agents' benches on the same 2 cores (load 15-22): 1016 s one at a time, 425-490
// s two at a time (three runs, all passing). On a quiet machine (2026-12-06): two at a time 296.5
// s, four at a time 292.1 s with one test timed out — both cores are already busy (Chromium's
// processes most of it); then, with each behaviour walked once per screen instead of once per
// screen and colour scheme, 226.7 s for 424 s of the machine's CPU.
const browserConcurrency = Number(process.env.TEST_BROWSER_CONCURRENCY ?? 2);

// Steps run one after another; the lanes of a step side by side, each lane's stages in order.
// lint and typecheck are one process each (one core each), beside the build and the unit files;
// the Firebase suite (mostly the emulator's start and second-long waits) beside the cluster stage.
// The integration and browser stages run alone: the first has clock-bound budget tests and three
// files at a time already, the second keeps both cores busy. Measured (loaded machine, as above):
// the first step 78-106 s instead of 162 s one after another, cluster beside Firebase 77-133 s
// instead of 186 s.
const overlap = process.env.TEST_OVERLAP !== '0';
const plan = overlap
  ? [[['lint'], ['typecheck'], ['build', 'unit']], [['integration']], [['cluster'], ['firebase']], [['browser']]]
  : all.map((stage) => [[stage]]);
const steps = plan
  .map((lanes) => lanes.map((lane) => lane.filter((stage) => stages.includes(stage))).filter((l) => l.length > 0))
  .filter((lanes) => lanes.length > 0);
for (const stage of stages) {
  if (!all.includes(stage)) {
    console.error(`unknown stage ${stage}; stages: ${all.join(', ')}`);
    process.exit(2);
  }
}

// The suites wait for the build stage of this run, or else for ensure-build (once).
// A failed build stops the run: the suites would test the previous build.
let building;
const needBuild = (held) =>
  (building ??= run('build (if older than src/)', process.execPath, ['scripts/ensure-build.mjs'], {}, held));
let buildFailed = false;

async function runStage(stage, held) {
  if (suites.includes(stage) && !(await needBuild(held))) {
    buildFailed = true;
    return;
  }
  switch (stage) {
    case 'lint':
      if (await run('lint', 'npx', ['eslint', '.', '--max-warnings', '0'], {}, held))
        await run('format', 'npx', ['prettier', '--check', '.'], {}, held);
      break;
    case 'typecheck':
      // `npm run typecheck` covers the server, the browser code and the tests. With the build
      // stage in this run, its tsc already checks the server with the server's own settings (and
      // fails the run on an error): the server's pass is not run twice (~10 s of one core).
      if (stages.includes('build')) {
        const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
        if (
          await run(
            'typecheck (browser code)',
            process.execPath,
            [tsc, '-p', 'src/client/tsconfig.json', '--noEmit'],
            {},
            held,
          )
        )
          await run('typecheck (tests)', process.execPath, [tsc, '-p', 'tsconfig.test.json'], {}, held);
      } else await run('typecheck', 'npm', ['run', '-s', 'typecheck'], {}, held);
      break;
    case 'build':
      building = run('build', process.execPath, ['scripts/build.mjs'], {}, held);
      if (!(await building)) buildFailed = true;
      break;
    case 'unit':
    case 'integration': {
      const list = stage === 'integration' ? slowestFirst(files(stage)) : files(stage);
      if (list.length === 0) break;
      if (!hasRedis) skip(`${stage} (Redis parts)`, `no Redis at ${redisUrl}; its tests skip themselves`);
      const concurrency = stage === 'integration' ? integrationConcurrency : 1;
      await run(stage, process.execPath, nodeTest(list, concurrency), testEnv, held);
      break;
    }
    case 'cluster': {
      if (!which('redis-server')) {
        skip('cluster', 'no redis-server on PATH to start a Redis Cluster');
        break;
      }
      const nodeArgs = nodeTest(slowestFirst([...onClusterToo, ...files('cluster')]), clusterConcurrency).slice(3);
      await run('cluster', process.execPath, ['--import', 'tsx', 'test/cluster/run.ts', ...nodeArgs], testEnv, held);
      break;
    }
    case 'browser': {
      const list = slowestFirst(files('browser'));
      if (list.length === 0) break;
      if (!hasChromium) skip('browser', `no Chromium at ${chromium} (apt-get install -y chromium)`);
      else await run('browser', process.execPath, nodeTest(list, browserConcurrency), testEnv, held);
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
        held,
      );
      break;
    }
  }
}

for (const lanes of steps) {
  const held = lanes.length > 1;
  await Promise.all(
    lanes.map(async (lane) => {
      for (const stage of lane) {
        if (buildFailed) break;
        await runStage(stage, held);
      }
    }),
  );
  if (buildFailed) break;
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
