// The reconnect storm (issue 17): N signed-in clients on node A of two chat processes (rooms of
// 10, all online), A SIGKILLed, every client reconnecting to B (switching URL itself, or through
// a connection-level balancer) with the page's own reconnection and catch-up (./storm-gen.mjs), while 200 other
// clients on B send 1 msg/s each into rooms that storm clients share. Measured: time from the
// kill until every client has reconnected and caught up, messages lost or duplicated, refused
// handshakes, the senders' latency during the storm, and B's CPU and RSS.
//
// Rooms: each sender has a group room (`create_chat`) with 9 storm clients; the other storm
// clients fill random rooms of 10 (`join_random`). Every storm client is in one room of 10.
//
// One set of clients serves every repeat: after a storm they are all on the survivor, so the next
// repeat starts a fresh node, moves the senders to it and kills the survivor (the roles swap).
// Used by bench/run.mjs and by bench/storm.mjs alone; see bench/README.md, scenario 6.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { cpuSeconds, sampleProcesses } from './proc.mjs';
import { root, startChat, startFlags } from './servers.mjs';
import { median, summarize } from './stats.mjs';

const GEN = path.join(root, 'bench', 'lib', 'storm-gen.mjs');
const BALANCER = path.join(root, 'bench', 'lib', 'balancer.mjs');
const BACKLOG_HOOK = path.join(root, 'bench', 'lib', 'backlog-hook.mjs');
const CPU_HOOK = path.join(root, 'bench', 'profile', 'cpu-hook.mjs');
/** Storm clients are split over this many generator processes (and as many balancers). */
const STORM_GENS = 2;
/** Members of a random room (the contract's). */
const ROOM = 10;
const epoch = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Forked processes of this module: killed with the bench, however it ends.
const forks = new Set();
process.once('exit', () => {
  for (const child of forks) child.kill('SIGKILL');
});

/** Forks `file` with IPC; resolves once it says `{ready}` (its message, e.g. a port, is kept). */
function forkIpc(file, execArgv, timeoutMs = 20_000) {
  const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  forks.add(child);
  const pending = new Map();
  let seq = 0;
  child.on('exit', (code, signal) => {
    forks.delete(child);
    for (const p of pending.values()) p.reject(new Error(`${path.basename(file)} exited (${code ?? signal})`));
    pending.clear();
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(file)} not ready in ${timeoutMs} ms`)), timeoutMs);
    child.on('message', (m) => {
      if (m.ready) {
        clearTimeout(timer);
        return resolve(m);
      }
      const p = pending.get(m.seq);
      if (!p) return;
      pending.delete(m.seq);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${path.basename(file)}: ${m.error}`));
    });
  });
  const call = (type, args = {}, callTimeoutMs = 120_000) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${path.basename(file)} ${type}: no answer in ${callTimeoutMs} ms`));
      }, callTimeoutMs);
      pending.set(id, { resolve, reject, timer });
      child.send({ ...args, type, seq: id });
    });
  return ready.then((hello) => ({
    pid: child.pid,
    hello,
    call,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(killer);
    },
  }));
}

/**
 * The uid AUTH=dev gives a name (src/auth/dev.ts `uidForName`), for `create_chat`'s member list;
 * should it ever change, `create_chat` answers "unknown user" and the set-up says so.
 */
const uidForName = (name) =>
  'u' + createHash('sha256').update(name.normalize('NFC'), 'utf8').digest('hex').slice(0, 24);

/** How long a set-up step of `n` clients may take: generous (a shared machine), but bounded. */
const setupTimeout = (n) => 60_000 + n * 40;

const rel = (times, t0) => times.map((t) => (t === null ? null : t - t0));
const r1 = (x) => (x === null || x === undefined ? null : Math.round(x));
/** Median, p99 and max of ms figures, and how many are missing (never reached). */
function spread(values) {
  const have = values.filter((v) => v !== null);
  const s = summarize(have);
  return { median: r1(s.p50), p99: r1(s.p99), max: r1(s.max), missing: values.length - have.length };
}
const add = (into, from) => {
  for (const [k, v] of Object.entries(from ?? {})) into[k] = (into[k] ?? 0) + v;
  return into;
};

/**
 * Runs the scenario. `redis`: bench/lib/servers.mjs `startRedis()`'s answer (its url and pid);
 * `prefix`: the Redis key prefix of this scenario (e.g. `bench:<run id>:storm:`), under which the
 * caller deletes the keys afterwards; `env`: the chat servers' environment (run.mjs's
 * `chatEnv()`). `sizes[0]` is measured `repeats` times, every later size once (the clients of
 * the first size are kept, more are added). `via`: 'direct' (clients switch to the
 * survivor's URL themselves; the default) or 'balancer' (clients connect through ./balancer.mjs,
 * as behind App Engine's front end — which on these 2 shared cores took about half as much CPU as
 * B itself during a storm, so B got less: README, scenario 6). `backlog`: the nodes' listen
 * backlog (./backlog-hook.mjs), null for Node's default (511) as deployed. Resolves a plain
 * object (JSON-able); `stormLines` prints it, `stormTargets` lists the figures with goals.
 */
export async function scenarioStorm({
  redis,
  prefix,
  env,
  sizes = [5000, 10000],
  repeats = 3,
  senders = 200,
  via = 'direct',
  secure = true,
  warmMs = 3000,
  afterMs = 1000,
  budgetMs = 150_000,
  cpuProfDir = null,
  cpuHookFile = null,
  backlog = null,
  nodeFlags = startFlags(),
  log = console.log,
}) {
  const t0 = Date.now();
  const res = { via, senders, sizes, repeats, warmMs, backlog, runs: [], skipped: [], setup: [] };
  const servers = [];
  const helpers = [];
  let serial = 0;
  // cpuProfDir: the first survivor (B of the first storm) runs with --cpu-prof; its profile is
  // written there when it is stopped after that storm (the last) — meant for a one-storm run.
  const startNode = () => {
    const nodeArgs = cpuProfDir && serial === 1 ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
    // backlog: every node's listen backlog (./backlog-hook.mjs) instead of Node's 511.
    if (backlog) nodeArgs.push('--import', BACKLOG_HOOK);
    // cpuHookFile: every node preloads ../profile/cpu-hook.mjs and each storm's survivor writes a
    // CPU profile of the storm alone, from the kill to the last client caught up.
    if (cpuHookFile) nodeArgs.push('--import', CPU_HOOK);
    let nodeEnv = backlog ? { ...env, BENCH_LISTEN_BACKLOG: String(backlog) } : env;
    if (cpuHookFile) nodeEnv = { ...nodeEnv, CPU_PROF_FILE: cpuHookFile };
    return startChat({ name: `storm-${serial++}`, redisUrl: redis.url, prefix, env: nodeEnv, nodeArgs }).then(
      (s) => (servers.push(s), s),
    );
  };
  try {
    let victim = await startNode();
    let survivor = await startNode();
    const gens = await Promise.all(Array.from({ length: STORM_GENS + 1 }, () => forkIpc(GEN, nodeFlags)));
    helpers.push(...gens);
    const [g0, ...stormGens] = gens;
    const lbs = via === 'balancer' ? await Promise.all(stormGens.map(() => forkIpc(BALANCER, nodeFlags))) : [];
    helpers.push(...lbs);
    const lbUrl = (j) => `http://127.0.0.1:${lbs[j].hello.port}`;
    const setBackends = (ports) => Promise.all(lbs.map((lb) => lb.call('backends', { ports })));

    // Sender ids count from 0, storm client ids from 1,000,000: names never collide.
    const S0 = 1_000_000;
    const genOf = (i) => (i - S0) % STORM_GENS;
    const namePrefix = `storm-${prefix.replace(/[^A-Za-z0-9]/g, '').slice(-12)}-`;
    let have = 0; // storm clients signed in and joined so far

    /** Signs in and joins storm clients [have, n) on `victim` (through the balancers). */
    const grow = async (n, withSenders) => {
      const s0 = Date.now();
      await setBackends([victim.port]);
      const ids = Array.from({ length: n - have }, (_, j) => S0 + have + j);
      const perGen = stormGens.map((_, j) => ids.filter((i) => genOf(i) === j));
      const senderIds = withSenders ? Array.from({ length: senders }, (_, j) => j) : [];
      await Promise.all([
        // Sessions live in Redis: signing in on both nodes spreads the sign-ins' CPU over both.
        ...stormGens.map((g, j) =>
          g.call(
            'login',
            { ids: perGen[j], url: j % 2 ? survivor.url : victim.url, namePrefix, secure },
            setupTimeout(perGen[j].length),
          ),
        ),
        senderIds.length ? g0.call('login', { ids: senderIds, url: survivor.url, namePrefix, secure }) : null,
      ]);
      const loginMs = Date.now() - s0;
      const url = (j) => (via === 'balancer' ? lbUrl(j) : victim.url);
      const errors = {};
      // Each sender makes a room of 10 with 9 storm clients (`create_chat`); the other storm
      // clients fill random rooms of 10 with `join_random`.
      const grouped = ids.slice(0, senderIds.length * (ROOM - 1));
      if (senderIds.length) {
        const groups = senderIds.map((s, j) => ({
          sender: s,
          uids: grouped.slice(j * (ROOM - 1), (j + 1) * (ROOM - 1)).map((i) => uidForName(`${namePrefix}${i}`)),
        }));
        const made = await g0.call('createRooms', { url: survivor.url, groups, secure });
        add(errors, made.errors);
      }
      const joinOn = async (list, join) => {
        const parts = stormGens.map((_, j) => list.filter((i) => genOf(i) === j));
        const out = await Promise.all(
          stormGens.map((g, j) =>
            parts[j].length
              ? g.call('connect', { ids: parts[j], url: url(j), kind: 'storm', join }, setupTimeout(parts[j].length))
              : null,
          ),
        );
        for (const o of out) add(errors, o?.errors);
      };
      await Promise.all([
        senderIds.length
          ? g0.call('connect', { ids: senderIds, url: survivor.url, kind: 'sender', join: 'joined' })
          : null,
        joinOn(grouped, 'joined'),
        joinOn(ids.slice(grouped.length), 'random'),
      ]).then(([o]) => add(errors, o?.errors));
      have = n;
      const setup = { clients: n, loginMs, joinMs: Date.now() - s0 - loginMs, errors };
      res.setup.push(setup);
      log(`storm: ${n} clients signed in (${loginMs} ms) and joined (${setup.joinMs} ms)`);
      if (Object.keys(errors).length) throw new Error(`storm set-up failed: ${JSON.stringify(errors)}`);
    };

    /** One storm: kill `victim`, every storm client reconnects to `survivor` and catches up. */
    const storm = async (size, rep, id, last) => {
      await setBackends([victim.port, survivor.port]);
      if (via === 'direct') await Promise.all(stormGens.map((g) => g.call('failover', { url: survivor.url })));
      await Promise.all(gens.map((g) => g.call('arm', { rep: id })));
      await g0.call('send', { rep: id, perClientRate: 1 });
      await sleep(warmMs);
      const sampler = sampleProcesses([survivor.pid, redis.pid, ...lbs.map((l) => l.pid), ...gens.map((g) => g.pid)]);
      const cpuAtKill = cpuSeconds(survivor.pid);
      if (cpuHookFile) process.kill(survivor.pid, 'SIGUSR2');
      const killAt = epoch();
      process.kill(victim.pid, 'SIGKILL');
      const deadline = Date.now() + 20_000 + size * 2;
      let progress;
      const timeline = []; // [ms since the kill, dropped, connected, caught up], every ~500 ms
      for (let polls = 0; ; polls++) {
        await sleep(100);
        const ps = await Promise.all(stormGens.map((g) => g.call('progress')));
        progress = ps.reduce((a, p) => add(a, p), {});
        if (polls % 5 === 0)
          timeline.push([r1(epoch() - killAt), progress.disconnected, progress.reconnected, progress.caughtUp]);
        if (progress.caughtUp >= progress.total || Date.now() > deadline) break;
      }
      const procs = sampler.stop();
      if (cpuHookFile) process.kill(survivor.pid, 'SIGUSR2');
      const doneAt = epoch();
      const cpuUsed = cpuSeconds(survivor.pid) - cpuAtKill;
      await sleep(afterMs);
      const sent = await g0.call('stopSend', { drainMs: 2000 });
      const results = await Promise.all(stormGens.map((g) => g.call('stormResult')));
      const caughtUp = results.flatMap((r) => rel(r.caughtUpAt, killAt));
      const reconnected = results.flatMap((r) => rel(r.reconnectedAt, killAt));
      const lastCaughtUp = Math.max(0, ...caughtUp.filter((x) => x !== null));
      const window = [killAt, killAt + lastCaughtUp];
      const checks = await Promise.all(gens.map((g) => g.call('verify', { acked: sent.acked, window })));
      const inWindow = sent.sends.filter(([at]) => at >= window[0] && at <= window[1]);
      const echo = (rows) => rows.filter((r) => r[2] !== null).map((r) => r[2]);
      const [srv, redisProc, ...rest] = procs;
      const run = {
        size,
        repeat: rep,
        clients: progress.total,
        disconnected: progress.disconnected,
        disconnectedMs: spread(results.flatMap((r) => rel(r.disconnectedAt, killAt))),
        firstAttemptMs: spread(results.flatMap((r) => rel(r.attemptAt, killAt))),
        attempts: results.reduce((a, r) => a + r.attempts, 0),
        reconnectedMs: spread(reconnected),
        joinedMs: spread(results.flatMap((r) => rel(r.joinedAt, killAt))),
        caughtUpMs: spread(caughtUp),
        lastCaughtUpMs: r1(lastCaughtUp),
        notCaughtUp: progress.total - progress.caughtUp,
        refusedHandshakes: results.reduce((a, r) => add(a, r.refused), {}),
        transportErrors: results.reduce((a, r) => add(a, r.transportErrors), {}),
        syncFailed: results.reduce((a, r) => add(a, r.syncFailed), {}),
        askRetried: results.reduce((a, r) => add(a, r.askRetried), {}),
        catchUps: results.reduce((a, r) => a + r.catchUps, 0),
        historyPages: results.reduce((a, r) => a + r.historyPages, 0),
        caughtUpMessages: results.reduce((a, r) => a + r.caughtUpMessages, 0),
        sent: sent.sent,
        acked: sent.acked.length,
        sendRefused: sent.refused,
        unanswered: sent.unanswered,
        expectedDeliveries: checks.reduce((a, c) => a + c.expected, 0),
        // Lost: owed to a client that had caught up (or never left); a client still catching up
        // when the wait ended is counted in notCaughtUp, its missing messages apart.
        lost: checks.reduce((a, c) => a + c.lost - c.notCaughtUpLost, 0),
        missingAtNotCaughtUp: checks.reduce((a, c) => a + c.notCaughtUpLost, 0),
        duplicates: checks.reduce((a, c) => a + c.dupLive, 0),
        byCatchUp: checks.reduce((a, c) => a + c.byCatchUp, 0),
        lostSamples: checks.flatMap((c) => c.lostSamples).slice(0, 5),
        stormWindowMs: r1(lastCaughtUp),
        senderEchoMs: { storm: summarize(echo(inWindow)), all: summarize(echo(sent.sends)) },
        senderAckMs: summarize(inWindow.filter((r) => r[1] !== null).map((r) => r[1])),
        sentInWindow: inWindow.length,
        memberLiveMs: summarize(checks.flatMap((c) => c.memberLatencyMs)),
        // CPU the survivor spent from the kill until all caught up (or the wait ended), per client
        // that reconnected meanwhile: what a storm costs whatever share of the shared cores the
        // survivor got (the senders' traffic included).
        server: {
          cpuPct: srv.cpuPct,
          peakRssMB: srv.peakRssMB,
          cpuMsPerClient: Math.round((cpuUsed / Math.max(1, progress.reconnected)) * 1e5) / 100,
        },
        redisCpuPct: redisProc.cpuPct,
        balancerCpuPct: rest.slice(0, lbs.length).map((p) => p.cpuPct),
        genCpuPct: rest.slice(lbs.length).map((p) => p.cpuPct),
        genLoopDelayMs: results.map((r) => r.genLoopDelayMs),
        machineCpuPct: procs.machineCpuPct,
        watchedMs: r1(doneAt - killAt),
        timeline,
        balancer: lbs.length ? await Promise.all(lbs.map((l) => l.call('stats'))) : null,
      };
      res.runs.push(run);
      log(
        `storm ${size} #${rep}: last caught up ${run.lastCaughtUpMs} ms (median ${run.caughtUpMs.median}), ` +
          `lost ${run.lost}, dup ${run.duplicates}, refused ${JSON.stringify(run.refusedHandshakes)}, ` +
          `sender p99 ${run.senderEchoMs.storm.p99} ms, server CPU ${run.server.cpuPct}% RSS ${run.server.peakRssMB} MB`,
      );
      // The roles swap: a fresh node comes up, the senders move to it, the survivor is next.
      await victim.stop();
      servers.splice(servers.indexOf(victim), 1);
      if (last) return;
      victim = survivor;
      survivor = await startNode();
      await g0.call('move', { url: survivor.url });
    };

    const plan = sizes.flatMap((size, n) => Array.from({ length: n === 0 ? repeats : 1 }, (_, r) => [size, r + 1]));
    for (const [k, [size, rep]] of plan.entries()) {
      if (Date.now() - t0 > budgetMs) {
        res.skipped.push(`storm ${size} #${rep}`);
        continue;
      }
      try {
        if (have < size) await grow(size, have === 0);
        await storm(size, rep, k + 1, k === plan.length - 1);
      } catch (err) {
        // What was measured so far is kept; the rest of the plan is given up.
        res.error = `storm ${size} #${rep}: ${String(err?.message ?? err).split('\n')[0]}`;
        log(res.error);
        break;
      }
    }
  } finally {
    await Promise.all(helpers.map((h) => h.close().catch(() => {})));
    for (const s of servers) await s.stop().catch(() => {});
  }
  res.summary = summarizeStorm(res);
  res.elapsedSec = Math.round((Date.now() - t0) / 1000);
  return res;
}

/** Per size: the medians over its repeats (one repeat: its own figures); loss and duplicates: the worst. */
function summarizeStorm(res) {
  return res.sizes
    .map((size) => {
      const runs = res.runs.filter((r) => r.size === size);
      if (!runs.length) return null;
      const med = (pick) => {
        const m = median(runs.map(pick).filter((x) => x !== null && x !== undefined));
        return m === null ? null : Math.round(m * 10) / 10;
      };
      const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);
      return {
        size,
        repeats: runs.length,
        lastCaughtUpMs: med((r) => r.lastCaughtUpMs),
        caughtUpMedianMs: med((r) => r.caughtUpMs.median),
        caughtUpP99Ms: med((r) => r.caughtUpMs.p99),
        lastReconnectedMs: med((r) => r.reconnectedMs.max),
        reconnectedMedianMs: med((r) => r.reconnectedMs.median),
        notCaughtUp: Math.max(...runs.map((r) => r.notCaughtUp)),
        lost: Math.max(...runs.map((r) => r.lost)),
        duplicates: Math.max(...runs.map((r) => r.duplicates)),
        refusedHandshakes: Math.max(...runs.map((r) => total(r.refusedHandshakes))),
        senderP99Ms: med((r) => r.senderEchoMs.storm.p99),
        memberP99Ms: med((r) => r.memberLiveMs.p99),
        serverCpuPct: med((r) => r.server.cpuPct),
        serverCpuMsPerClient: med((r) => r.server.cpuMsPerClient),
        serverPeakRssMB: med((r) => r.server.peakRssMB),
        balancerCpuPct: res.via === 'balancer' ? med((r) => r.balancerCpuPct.reduce((a, b) => a + (b ?? 0), 0)) : null,
        each: runs.map((r) => r.lastCaughtUpMs),
      };
    })
    .filter(Boolean);
}

/** The goals of issue 17 (lastCaughtUpMs and senderP99Ms at the first size; every size reported). */
export const STORM_GOALS = { lastCaughtUpMs: 3000, lost: 0, refusedHandshakes: 0, senderP99Ms: 100 };

/**
 * The figures the issue sets goals for, per size: [{size, what, figure, goal, met}], for a
 * summary that prints figures next to their targets. `met` is null where the figure is missing.
 */
export function stormTargets(res) {
  const met = (v, ok) => (v === null || v === undefined ? null : ok(v));
  // The time goals are the first size's (the issue's 5,000); a larger storm is reported beside
  // them ("the same at 10,000 clients, reported"). Nothing lost nor refused holds at every size.
  const first = res.summary?.[0]?.size;
  const timed = (s, goal, ok) =>
    s.size === first ? { goal, met: ok } : { goal: `reported (${goal} at ${first})`, met: null };
  return (res.summary ?? []).flatMap((s) => [
    {
      size: s.size,
      what: `storm ${s.size}: last client caught up, ms (median of ${s.repeats})`,
      figure: s.lastCaughtUpMs,
      ...timed(
        s,
        `<= ${STORM_GOALS.lastCaughtUpMs}`,
        met(s.lastCaughtUpMs, (v) => v <= STORM_GOALS.lastCaughtUpMs && s.notCaughtUp === 0),
      ),
    },
    {
      size: s.size,
      what: `storm ${s.size}: messages lost (worst run)`,
      figure: s.lost,
      goal: '0',
      met: met(s.lost, (v) => v === 0 && s.duplicates === 0),
    },
    {
      size: s.size,
      what: `storm ${s.size}: refused handshakes (worst run)`,
      figure: s.refusedHandshakes,
      goal: '0',
      met: met(s.refusedHandshakes, (v) => v === 0),
    },
    {
      size: s.size,
      what: `storm ${s.size}: senders' p99 during the storm, ms (median of ${s.repeats})`,
      figure: s.senderP99Ms,
      ...timed(
        s,
        `< ${STORM_GOALS.senderP99Ms}`,
        met(s.senderP99Ms, (v) => v < STORM_GOALS.senderP99Ms),
      ),
    },
  ]);
}

const cell = (v, width) => String(v ?? '-').padStart(width);

/** Table lines for a result of `scenarioStorm` (each without a newline): a summary per size, then each run. */
export function stormLines(res) {
  const lines = [
    `  reconnect storm: ${res.via === 'balancer' ? 'through a TCP balancer' : 'clients switch URL themselves'}, ` +
      `${res.senders} senders at 1 msg/s on the survivor; medians of the runs (lost, dup, refused: the worst run)`,
    '  clients runs  lastCaughtUp  caughtUp med  p99  lastReconn  lost  dup  refused  sendP99  membP99' +
      '  srvCPU%  ms/client  srvRSS MB  lbCPU%',
    '                  goal<=3000                                  0    0        0     <100',
  ];
  for (const s of res.summary ?? []) {
    lines.push(
      `  ${cell(s.size, 7)} ${cell(s.repeats, 4)}  ${cell(s.lastCaughtUpMs, 12)}  ${cell(s.caughtUpMedianMs, 12)}` +
        ` ${cell(s.caughtUpP99Ms, 5)}  ${cell(s.lastReconnectedMs, 10)}  ${cell(s.lost, 4)}  ${cell(s.duplicates, 3)}` +
        `  ${cell(s.refusedHandshakes, 7)}  ${cell(s.senderP99Ms, 7)}  ${cell(s.memberP99Ms, 7)}` +
        `  ${cell(s.serverCpuPct, 7)}  ${cell(s.serverCpuMsPerClient, 9)}  ${cell(s.serverPeakRssMB, 9)}` +
        `  ${cell(s.balancerCpuPct, 6)}`,
    );
    if (s.repeats > 1) lines.push(`    runs' last caught up: ${s.each.join(', ')} ms`);
    if (s.notCaughtUp) lines.push(`    ${s.notCaughtUp} clients had not caught up when the wait ended`);
  }
  for (const r of res.runs) {
    const extra = [
      Object.keys(r.refusedHandshakes).length ? `refused ${JSON.stringify(r.refusedHandshakes)}` : '',
      Object.keys(r.transportErrors).length ? `transport errors ${JSON.stringify(r.transportErrors)}` : '',
      Object.keys(r.syncFailed).length ? `sync failed ${JSON.stringify(r.syncFailed)}` : '',
      Object.keys(r.askRetried).length ? `asked again ${JSON.stringify(r.askRetried)}` : '',
      r.lostSamples.length ? `lost e.g. ${JSON.stringify(r.lostSamples.slice(0, 2))}` : '',
    ].filter(Boolean);
    lines.push(
      `    ${r.size} #${r.repeat}: from the kill (ms, median / max): dropped ${r.disconnectedMs.median} / ${r.disconnectedMs.max}, ` +
        `first attempt ${r.firstAttemptMs.median} / ${r.firstAttemptMs.max} (${r.attempts} attempts), ` +
        `connected ${r.reconnectedMs.median} / ${r.reconnectedMs.max}, joined ${r.joinedMs.median} / ${r.joinedMs.max}, ` +
        `caught up ${r.caughtUpMs.median} / ${r.caughtUpMs.max} (p99 ${r.caughtUpMs.p99})`,
      `      ${r.catchUps} catch_up + ${r.historyPages} history → ${r.caughtUpMessages} messages; ${r.acked}/${r.sent} sent ` +
        `acked, ${r.expectedDeliveries} deliveries due (${r.byCatchUp} by catch-up only), lost ${r.lost}, dup ${r.duplicates}` +
        `${r.missingAtNotCaughtUp ? ` (+${r.missingAtNotCaughtUp} not yet at clients still catching up)` : ''}; ` +
        `sender echo p99 ${r.senderEchoMs.storm.p99} ms over ${r.sentInWindow} msgs in the storm ` +
        `(${r.senderEchoMs.all.p99} over all), ack p99 ${r.senderAckMs.p99}`,
      `      CPU % server ${r.server.cpuPct} (${r.server.cpuMsPerClient} ms per client), redis ${r.redisCpuPct}, ` +
        `balancers ${r.balancerCpuPct.join('+') || '-'}, generators ${r.genCpuPct.join('+')}, whole machine ${r.machineCpuPct}; ` +
        `generator lag p99 ${r.genLoopDelayMs.map((g) => g.p99).join('/')} ms`,
    );
    if (extra.length) lines.push(`      ${extra.join('; ')}`);
  }
  if (res.error) lines.push(`    ERROR ${res.error}`);
  if (res.skipped.length) lines.push(`    skipped (time budget): ${res.skipped.join(', ')}`);
  lines.push(
    `    set-up: ${res.setup.map((s) => `${s.clients} clients signed in ${s.loginMs} ms, joined ${s.joinMs} ms`).join('; ')}; ` +
      `elapsed ${res.elapsedSec} s`,
  );
  return lines;
}
