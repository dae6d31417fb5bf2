// What one reconnect costs the server, by phase, beside the bare relay's handshake: the reconnect
// storm's bound (scenario 6) is the survivor's CPU per reconnecting client, and this splits it.
// N signed-in clients, each already in a random room of 10 (as the storm's), connect over
// WebSocket with their session cookie (the handshake: session read, socket lease, presence, the
// user's channel), then send `joined` (the conversation list, the rooms' channels), then
// `catch_up` of their room; each phase's server CPU (from /proc) is divided by N. The bare relay
// (bench/bare-relay.mjs) is connected the same way, as the floor of a Socket.IO handshake on this
// machine. Each round runs the relay and every build in turn (the order rotating), on one private
// Redis; the medians are printed.
//
//   node bench/profile/reconnect-cost.mjs [--clients 2000] [--rounds 3] [--concurrency 32]
//     [--variant A=/tmp/ab/A/tree/dist/main.js --variant B=...]
//     [--prof handshake|joined|catchUp [--prof-file PREFIX]]
//
// Without `--variant`, the build in dist/ (npm run build); builds side by side come from
// bench/profile/snapshot.sh. `--prof PHASE`: the builds run with cpu-hook.mjs and each writes a
// CPU profile of that phase in every round after the first (PREFIX-<pid>-<n>.cpuprofile;
// summarize-cpuprofile.mjs reads it).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, login, pool, request } from '../lib/client.mjs';
import { cpuSeconds } from '../lib/proc.mjs';
import { benchChatEnv, startBare, startChat, startRedis } from '../lib/servers.mjs';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    variant: { type: 'string', multiple: true, default: [] },
    prof: { type: 'string' },
    'prof-file': { type: 'string', default: 'reconnect' },
  },
});
const N = Number(values.clients);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const PROF = values.prof;
const PHASES = ['handshake', 'joined', 'catchUp'];
const root = fileURLToPath(new URL('../..', import.meta.url));
const variants = (values.variant.length ? values.variant : [`chat=${path.join(root, 'dist', 'main.js')}`]).map((v) => {
  const i = v.indexOf('=');
  if (i < 1) throw new Error(`--variant name=path/to/dist/main.js (got ${v})`);
  return { name: v.slice(0, i), tree: path.resolve(v.slice(i + 1), '..', '..') };
});
const env = benchChatEnv();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Server CPU µs per client of what `work` makes it do (the settle lets closing work finish). */
const perClient = async (pid, work) => {
  const t0 = cpuSeconds(pid);
  await work();
  await sleep(300);
  return Math.round(((cpuSeconds(pid) - t0) / N) * 1e6);
};

/** A build with N signed-in users, each already in a random room and then gone. */
async function prepare(variant, redisUrl) {
  const server = await startChat({
    name: variant.name,
    redisUrl,
    prefix: `reconnect-cost:${randomBytes(3).toString('hex')}:`,
    env: PROF ? { ...env, CPU_PROF_FILE: `${values['prof-file']}-${variant.name}` } : env,
    nodeArgs: PROF ? ['--import', fileURLToPath(new URL('./cpu-hook.mjs', import.meta.url))] : [],
    tree: variant.tree,
  });
  const cookies = [];
  await pool(N, CONCURRENCY, async (i) => {
    cookies[i] = await login(server.url, `rc-${i}`);
  });
  const sockets = [];
  await pool(N, CONCURRENCY, async (i) => {
    sockets[i] = await connect(server.url, cookies[i]);
    const joined = await request(sockets[i], 'join_random', {});
    if (!joined?.ok) throw new Error(`join_random refused: ${joined?.error}`);
  });
  return { ...variant, server, cookies, sockets };
}

/**
 * One reconnect of every user: each phase's server CPU per client. The last round's sockets are
 * closed 1.5 s before, so every user is still online (within the return grace) when they come
 * back, as in the storm (where the dead node's leases still stand): no presence announcements.
 */
async function reconnectAll(build, profiled) {
  const { server, cookies } = build;
  for (const s of build.sockets ?? []) s.close();
  await sleep(1500);
  const sockets = [];
  build.sockets = sockets;
  const rooms = [];
  const work = {
    handshake: () =>
      pool(N, CONCURRENCY, async (i) => {
        sockets[i] = await connect(server.url, cookies[i]);
      }),
    joined: () =>
      pool(N, CONCURRENCY, async (i) => {
        const answer = await request(sockets[i], 'joined', {});
        if (!answer?.ok) throw new Error(`joined refused: ${answer?.error}`);
        rooms[i] = answer.rooms[0];
      }),
    catchUp: () =>
      pool(N, CONCURRENCY, async (i) => {
        const after = rooms[i].last_message?.id ?? '0-0';
        const answer = await request(sockets[i], 'catch_up', { rooms: [{ room_id: rooms[i].room_id, after }] });
        if (!answer?.ok) throw new Error(`catch_up refused: ${answer?.error}`);
      }),
  };
  const cost = {};
  for (const phase of PHASES) {
    if (phase === profiled) process.kill(server.pid, 'SIGUSR2');
    cost[phase] = await perClient(server.pid, work[phase]);
    if (phase === profiled) process.kill(server.pid, 'SIGUSR2');
  }
  cost.total = cost.handshake + cost.joined + cost.catchUp;
  return cost;
}

async function relayHandshake(bare) {
  const sockets = [];
  const cost = await perClient(bare.pid, () =>
    pool(N, CONCURRENCY, async (i) => {
      sockets[i] = await connect(bare.url, null);
    }),
  );
  sockets.forEach((s) => s.close());
  await sleep(1500);
  return cost;
}

const redis = await startRedis();
const bare = await startBare();
const builds = [];
try {
  for (const v of variants) builds.push(await prepare(v, redis.url));
  await sleep(1500);
  const rows = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const row = { round };
    // The order rotates each round, so no one always follows a quiet spell.
    const turns = [
      ...builds.map((b) => async () => (row[b.name] = await reconnectAll(b, round > 1 ? PROF : null))),
      async () => (row.relayHandshake = await relayHandshake(bare)),
    ];
    for (let k = 0; k < turns.length; k++) await turns[(k + round) % turns.length]();
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.log(`\nserver CPU per client, µs (median of ${ROUNDS} rounds, ${N} clients):`);
  for (const b of builds) {
    const m = (k) => median(rows.map((r) => r[b.name][k]));
    console.log(
      `  ${b.name.padEnd(8)} handshake ${m('handshake')}, joined ${m('joined')}, catch_up ${m('catchUp')}, all three ${m('total')}`,
    );
  }
  console.log(`  bare relay handshake ${median(rows.map((r) => r.relayHandshake))}`);
} finally {
  for (const b of builds) await b.server.stop();
  await bare.stop();
  await redis.stop();
}
