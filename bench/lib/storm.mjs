// The reconnect storm (issue 17): N signed-in clients on node A of two chat processes (rooms of
// 10, all online), A SIGKILLed, every client reconnecting to B through a connection-level
// balancer with the page's own reconnection and catch-up (./storm-gen.mjs), while 200 other
// clients on B send 1 msg/s each into rooms that storm clients share. Measured: time from the
// kill until every client has reconnected and caught up, messages lost or duplicated, refused
// handshakes, the senders' latency during the storm, and B's CPU and RSS.
//
// One set of clients serves every repeat: after a storm they are all on the survivor, so the next
// repeat starts a fresh node, moves the senders to it and kills the survivor (the roles swap).
// Used by bench/run.mjs and by bench/storm.mjs alone; see bench/README.md, scenario 6.
import { fork } from 'node:child_process';
import path from 'node:path';
import { sampleProcesses } from './proc.mjs';
import { root, startChat, startFlags } from './servers.mjs';
import { median, summarize } from './stats.mjs';

const GEN = path.join(root, 'bench', 'lib', 'storm-gen.mjs');
const BALANCER = path.join(root, 'bench', 'lib', 'balancer.mjs');
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
 * the first size are kept, more are added). `via`: 'balancer' (clients connect through
 * ./balancer.mjs, as behind App Engine's front end) or 'direct' (clients switch to the survivor's
 * URL themselves). Resolves a plain object (JSON-able); `stormLines` prints it.
 */
export async function scenarioStorm({
  redis,
  prefix,
  env,
  sizes = [5000, 10000],
  repeats = 3,
  senders = 200,
  via = 'balancer',
  secure = true,
  warmMs = 3000,
  afterMs = 1000,
  budgetMs = 150_000,
  nodeFlags = startFlags(),
  log = console.log,
}) {
  const t0 = Date.now();
  const res = { via, senders, sizes, repeats, warmMs, runs: [], skipped: [], setup: [] };
  const servers = [];
  const helpers = [];
  let serial = 0;
  const startNode = () =>
    startChat({ name: `storm-${serial++}`, redisUrl: redis.url, prefix, env }).then((s) => (servers.push(s), s));
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
    const grow = async (n, interleaveSenders) => {
      const s0 = Date.now();
      await setBackends([victim.port]);
      const ids = Array.from({ length: n - have }, (_, j) => S0 + have + j);
      const perGen = stormGens.map((_, j) => ids.filter((i) => genOf(i) === j));
      const senderIds = interleaveSenders ? Array.from({ length: senders }, (_, j) => j) : [];
      await Promise.all([
        ...stormGens.map((g, j) => g.call('login', { ids: perGen[j], url: victim.url, namePrefix, secure })),
        senderIds.length ? g0.call('login', { ids: senderIds, url: survivor.url, namePrefix, secure }) : null,
      ]);
      const loginMs = Date.now() - s0;
      const url = (j) => (via === 'balancer' ? lbUrl(j) : victim.url);
      const errors = {};
      const joinOn = async (list) => {
        const parts = stormGens.map((_, j) => list.filter((i) => genOf(i) === j));
        const out = await Promise.all(
          stormGens.map((g, j) =>
            parts[j].length ? g.call('connect', { ids: parts[j], url: url(j), kind: 'storm' }) : null,
          ),
        );
        for (const o of out) add(errors, o?.errors);
      };
      let next = 0;
      // join_random fills the lowest-numbered room with space: a sender, then 9 storm clients,
      // room after room, gives every sender a room of its own shared with 9 storm clients.
      for (const s of senderIds) {
        const o = await g0.call('connect', { ids: [s], url: survivor.url, kind: 'sender' });
        add(errors, o.errors);
        await joinOn(ids.slice(next, next + ROOM - 1));
        next += ROOM - 1;
      }
      await joinOn(ids.slice(next));
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
      const killAt = epoch();
      process.kill(victim.pid, 'SIGKILL');
      const deadline = Date.now() + 20_000 + size * 2;
      let progress;
      for (;;) {
        await sleep(100);
        const ps = await Promise.all(stormGens.map((g) => g.call('progress')));
        progress = ps.reduce((a, p) => add(a, p), {});
        if (progress.caughtUp >= progress.total || Date.now() > deadline) break;
      }
      const procs = sampler.stop();
      const doneAt = epoch();
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
        lost: checks.reduce((a, c) => a + c.lost, 0),
        duplicates: checks.reduce((a, c) => a + c.dupLive, 0),
        byCatchUp: checks.reduce((a, c) => a + c.byCatchUp, 0),
        lostSamples: checks.flatMap((c) => c.lostSamples).slice(0, 5),
        stormWindowMs: r1(lastCaughtUp),
        senderEchoMs: { storm: summarize(echo(inWindow)), all: summarize(echo(sent.sends)) },
        senderAckMs: summarize(inWindow.filter((r) => r[1] !== null).map((r) => r[1])),
        sentInWindow: inWindow.length,
        memberLiveMs: summarize(checks.flatMap((c) => c.memberLatencyMs)),
        server: { cpuPct: srv.cpuPct, peakRssMB: srv.peakRssMB },
        redisCpuPct: redisProc.cpuPct,
        balancerCpuPct: rest.slice(0, lbs.length).map((p) => p.cpuPct),
        genCpuPct: rest.slice(lbs.length).map((p) => p.cpuPct),
        genLoopDelayMs: results.map((r) => r.genLoopDelayMs),
        machineCpuPct: procs.machineCpuPct,
        watchedMs: r1(doneAt - killAt),
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
      if (have < size) await grow(size, have === 0);
      await storm(size, rep, k + 1, k === plan.length - 1);
    }
  } finally {
    await Promise.all(helpers.map((h) => h.close().catch(() => {})));
    for (const s of servers) await s.stop().catch(() => {});
  }
  res.summary = summarizeStorm(res);
  res.elapsedSec = Math.round((Date.now() - t0) / 1000);
  return res;
}

/** Per size: the medians over its repeats (one repeat: its own figures). */
function summarizeStorm(res) {
  return res.sizes
    .map((size) => {
      const runs = res.runs.filter((r) => r.size === size);
      if (!runs.length) return null;
      const med = (pick) => median(runs.map(pick).filter((x) => x !== null && x !== undefined));
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
        lost: med((r) => r.lost),
        lostMax: Math.max(...runs.map((r) => r.lost)),
        duplicates: Math.max(...runs.map((r) => r.duplicates)),
        refusedHandshakes: med((r) => total(r.refusedHandshakes)),
        senderP99Ms: med((r) => r.senderEchoMs.storm.p99),
        memberP99Ms: med((r) => r.memberLiveMs.p99),
        serverCpuPct: med((r) => r.server.cpuPct),
        serverPeakRssMB: med((r) => r.server.peakRssMB),
        balancerCpuPct: med((r) => r.balancerCpuPct.reduce((a, b) => a + (b ?? 0), 0)),
        each: runs.map((r) => r.lastCaughtUpMs),
      };
    })
    .filter(Boolean);
}

/** The goals of issue 17, per summary figure. */
export const STORM_GOALS = { lastCaughtUpMs: 3000, lost: 0, refusedHandshakes: 0, senderP99Ms: 100 };

/** Table lines for a result of `scenarioStorm` (no trailing newline), goals beside the figures. */
export function stormLines(res) {
  const lines = [];
  const ok = (v, goal, below = false) => (v === null ? '' : (below ? v < goal : v <= goal) ? ' ok' : ' MISSED');
  lines.push(
    `  reconnect storm (${res.via === 'balancer' ? 'through a TCP balancer' : 'clients switch URL'}; ` +
      `${res.senders} senders at 1 msg/s on the survivor; medians of the repeats):`,
  );
  lines.push(
    '  clients runs  lastCaughtUp ms (goal<=3000)  caughtUp med/p99  lastReconn  lost (0)  dup  refused (0)  ' +
      'sender p99 ms (<100)  member p99  srvCPU%  srvRSS MB  lbCPU%',
  );
  for (const s of res.summary) {
    lines.push(
      `  ${String(s.size).padStart(7)} ${String(s.repeats).padStart(4)}  ` +
        `${`${s.lastCaughtUpMs}${ok(s.lastCaughtUpMs, STORM_GOALS.lastCaughtUpMs)} [${s.each.join(', ')}]`.padEnd(28)}` +
        `  ${`${s.caughtUpMedianMs}/${s.caughtUpP99Ms}`.padEnd(16)}  ${String(s.lastReconnectedMs).padEnd(10)}` +
        `  ${`${s.lost}${ok(s.lostMax, 0)}`.padEnd(8)}  ${String(s.duplicates).padEnd(3)}` +
        `  ${`${s.refusedHandshakes}${ok(s.refusedHandshakes, 0)}`.padEnd(11)}` +
        `  ${`${s.senderP99Ms}${ok(s.senderP99Ms, STORM_GOALS.senderP99Ms, true)}`.padEnd(20)}` +
        `  ${String(s.memberP99Ms).padEnd(10)}  ${String(s.serverCpuPct).padEnd(7)}  ${String(s.serverPeakRssMB).padEnd(9)}` +
        `  ${s.balancerCpuPct}`,
    );
    if (s.notCaughtUp) lines.push(`    ${s.notCaughtUp} clients had not caught up when the wait ended`);
  }
  for (const r of res.runs) {
    const extra = [
      Object.keys(r.refusedHandshakes).length ? `refused ${JSON.stringify(r.refusedHandshakes)}` : '',
      Object.keys(r.transportErrors).length ? `transport errors ${JSON.stringify(r.transportErrors)}` : '',
      Object.keys(r.syncFailed).length ? `sync failed ${JSON.stringify(r.syncFailed)}` : '',
      Object.keys(r.askRetried).length ? `asked again ${JSON.stringify(r.askRetried)}` : '',
      r.lostSamples.length ? `lost e.g. ${JSON.stringify(r.lostSamples)}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    lines.push(
      `    ${r.size} #${r.repeat}: dropped med ${r.disconnectedMs.median} / max ${r.disconnectedMs.max}, ` +
        `1st attempt med ${r.firstAttemptMs.median} / max ${r.firstAttemptMs.max} (${r.attempts} attempts), ` +
        `reconnected med ${r.reconnectedMs.median} / max ${r.reconnectedMs.max} ms, ` +
        `joined med ${r.joinedMs.median} / max ${r.joinedMs.max}, caught up med ${r.caughtUpMs.median} / p99 ${r.caughtUpMs.p99} / max ${r.caughtUpMs.max} ms; ` +
        `${r.catchUps} catch_up + ${r.historyPages} history → ${r.caughtUpMessages} msgs; ` +
        `${r.acked}/${r.sent} sent acked, ${r.expectedDeliveries} deliveries due (${r.byCatchUp} by catch-up), ` +
        `lost ${r.lost}, dup ${r.duplicates}; sender echo p99 ${r.senderEchoMs.storm.p99} ms over ${r.sentInWindow} msgs ` +
        `(all ${r.senderEchoMs.all.p99}), ack p99 ${r.senderAckMs.p99}; CPU server ${r.server.cpuPct}% ` +
        `redis ${r.redisCpuPct}% lb ${r.balancerCpuPct.join('+') || '-'}% gens ${r.genCpuPct.join('+')}% ` +
        `machine ${r.machineCpuPct}%; gen lag p99 ${r.genLoopDelayMs.map((g) => g.p99).join('/')} ms` +
        (extra ? `; ${extra}` : ''),
    );
  }
  if (res.skipped.length) lines.push(`    skipped (time budget): ${res.skipped.join(', ')}`);
  lines.push(
    `    set-up: ${res.setup.map((s) => `${s.clients} clients in ${s.loginMs}+${s.joinMs} ms`).join(', ')}; elapsed ${res.elapsedSec} s`,
  );
  return lines;
}
