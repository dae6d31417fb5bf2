// What one reconnect costs the server, by phase, beside the bare relay's handshake: the reconnect
// storm's bound (scenario 6) is the survivor's CPU per reconnecting client, and this splits it.
// N signed-in clients, each already in a random room of 10 (as the storm's), connect over
// WebSocket with their session cookie (the handshake: session read, socket lease, presence, the
// user's channel), then send `joined` (the conversation list, the rooms' channels), then
// `catch_up` of their room; each phase's server CPU (from /proc) is divided by N. The bare relay
// (bench/bare-relay.mjs) is connected the same way, as the floor of a Socket.IO handshake on this
// machine. Rounds alternate chat and relay; the medians are printed.
//
//   node bench/profile/reconnect-cost.mjs [--clients 2000] [--rounds 3] [--concurrency 32]
//
// Runs the build in dist/ (npm run build), on a private Redis, like the bench.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connect, login, pool, request } from '../lib/client.mjs';
import { cpuSeconds } from '../lib/proc.mjs';
import { benchChatEnv, startBare, startChat, startRedis } from '../lib/servers.mjs';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
  },
});
const N = Number(values.clients);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const env = benchChatEnv();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const redis = await startRedis();
const chat = await startChat({ redisUrl: redis.url, prefix: `reconnect-cost:${randomBytes(3).toString('hex')}:`, env });
const bare = await startBare();
try {
  /** Server CPU µs per client of what `work` makes it do (the settle lets closing work finish). */
  const perClient = async (pid, work) => {
    const t0 = cpuSeconds(pid);
    await work();
    await sleep(300);
    return Math.round(((cpuSeconds(pid) - t0) / N) * 1e6);
  };
  const cookies = [];
  await pool(N, CONCURRENCY, async (i) => {
    cookies[i] = await login(chat.url, `rc-${i}`);
  });
  // Everyone into a random room once, then away: the rounds are reconnects, as in the storm.
  let sockets = [];
  await pool(N, CONCURRENCY, async (i) => {
    sockets[i] = await connect(chat.url, cookies[i]);
    const joined = await request(sockets[i], 'join_random', {});
    if (!joined?.ok) throw new Error(`join_random refused: ${joined?.error}`);
  });
  sockets.forEach((s) => s.close());
  await sleep(1500);

  const rows = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const row = { round };
    const phases = {
      handshake: async () => {
        sockets = [];
        await pool(N, CONCURRENCY, async (i) => {
          sockets[i] = await connect(chat.url, cookies[i]);
        });
      },
      joined: async () => {
        const rooms = [];
        await pool(N, CONCURRENCY, async (i) => {
          const answer = await request(sockets[i], 'joined', {});
          if (!answer?.ok) throw new Error(`joined refused: ${answer?.error}`);
          rooms[i] = answer.rooms[0];
        });
        sockets.rooms = rooms;
      },
      catchUp: async () => {
        await pool(N, CONCURRENCY, async (i) => {
          const room = sockets.rooms[i];
          const after = room.last_message?.id ?? '0-0';
          const answer = await request(sockets[i], 'catch_up', { rooms: [{ room_id: room.room_id, after }] });
          if (!answer?.ok) throw new Error(`catch_up refused: ${answer?.error}`);
        });
      },
    };
    const relay = async () => {
      const relaySockets = [];
      row.relayHandshake = await perClient(bare.pid, () =>
        pool(N, CONCURRENCY, async (i) => {
          relaySockets[i] = await connect(bare.url, null);
        }),
      );
      relaySockets.forEach((s) => s.close());
      await sleep(1500);
    };
    // The relay first in even rounds, so neither side always follows a quiet spell.
    if (round % 2 === 0) await relay();
    for (const [name, work] of Object.entries(phases)) row[name] = await perClient(chat.pid, work);
    sockets.forEach((s) => s.close());
    await sleep(1500);
    if (round % 2 === 1) await relay();
    row.chatTotal = row.handshake + row.joined + row.catchUp;
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  const m = (k) => median(rows.map((r) => r[k]));
  console.log(
    `\nserver CPU per client, µs (median of ${ROUNDS} rounds, ${N} clients): handshake ${m('handshake')}, ` +
      `joined ${m('joined')}, catch_up ${m('catchUp')}, all three ${m('chatTotal')}; ` +
      `bare relay handshake ${m('relayHandshake')}`,
  );
} finally {
  await chat.stop();
  await bare.stop();
  await redis.stop();
}
