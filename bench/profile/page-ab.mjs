// A/B of `GET /chat` for a user in many rooms: two or more builds run at once on the same Redis
// and the same data (one user in `--rooms` rooms of 2 messages), and the requests alternate
// between them round by round, because this shared 2-core VM drifts by a third within minutes.
// Per build: the median time of the whole answer and of its first byte, and server CPU per
// request from /proc; with --redis-pid, Redis's CPU per request too (its process is shared, so
// only when nothing else uses it).
//
//   sh bench/profile/snapshot.sh /tmp/ab/A && sh bench/profile/snapshot.sh /tmp/ab/B src/store/redis-store.ts
//   node bench/profile/page-ab.mjs --variant A=/tmp/ab/A/tree/dist/main.js --variant B=/tmp/ab/B/tree/dist/main.js \
//     [--rooms 1000] [--gets 15] [--rounds 6] [--redis-url redis://127.0.0.1:6379/0] [--redis-pid PID] [--cpu-prof PREFIX]
//
// `--cpu-prof PREFIX`: each build runs with cpu-hook.mjs and writes a CPU profile of its timed
// requests alone (the seeding and warm-up left out), PREFIX-<name>-<pid>-1.cpuprofile.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { seedRooms } from '../lib/page.mjs';
import { cpuSeconds } from '../lib/proc.mjs';
import { benchChatEnv, deleteKeys, startChat } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    rooms: { type: 'string', default: '1000' },
    gets: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '6' },
    'redis-url': { type: 'string', default: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0' },
    'redis-pid': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const ROOMS = Number(values.rooms);
const GETS = Number(values.gets);
const ROUNDS = Number(values.rounds);
const REDIS_PID = values['redis-pid'] ? Number(values['redis-pid']) : null;
const PROF = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : null;
const variants = values.variant.map((v) => {
  const i = v.indexOf('=');
  if (i < 1) throw new Error(`--variant name=path/to/dist/main.js (got ${v})`);
  return { name: v.slice(0, i), main: v.slice(i + 1) };
});
if (variants.length < 1) throw new Error('at least one --variant');
const prefix = `pab:${randomBytes(3).toString('hex')}:`;
// The page's sign-in cookie is `secure` in production: say the request came over https.
const HTTPS = { 'x-forwarded-proto': 'https' };
const r1 = (x) => (x == null ? '-' : (Math.round(x * 10) / 10).toFixed(1));

// The fill sends 2 texts a room from one user: the rate limit is raised for it.
const startServer = ({ name, main }) =>
  startChat({
    name: main,
    redisUrl: values['redis-url'],
    prefix,
    env: {
      ...benchChatEnv({ RATE_LIMIT_COUNT: '1000000', RATE_LIMIT_WINDOW_MS: '1000' }),
      ...(PROF ? { CPU_PROF_FILE: `${PROF}-${name}` } : {}),
    },
    nodeArgs: PROF ? ['--import', fileURLToPath(new URL('./cpu-hook.mjs', import.meta.url))] : [],
    tree: path.resolve(main, '..', '..'),
  });

const redis = new Redis(values['redis-url']);
const servers = [];
try {
  for (const v of variants) servers.push({ ...(await startServer(v)), ...v });
  // The user and their rooms, made once through the first build (all share Redis and prefix).
  const { cookie } = await seedRooms({ url: servers[0].url, secure: true, tag: 'page-ab', rooms: ROOMS, perRoom: 2 });

  const get = async (base) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/chat`, { headers: { cookie, ...HTTPS } });
    const first = performance.now() - t0;
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET /chat answered ${res.status}`);
    return { ms: performance.now() - t0, first, bytes: body.length };
  };
  for (const s of servers) for (let i = 0; i < 15; i++) await get(s.url);
  for (const s of servers) Object.assign(s, { ms: [], first: [], cpu: [], redisCpu: [], bytes: 0 });
  if (PROF) for (const s of servers) process.kill(s.pid, 'SIGUSR2');
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order each round, so neither side always runs first after a quiet spell.
    for (const s of round % 2 ? [...servers].reverse() : servers) {
      const c0 = cpuSeconds(s.pid);
      const rc0 = REDIS_PID ? cpuSeconds(REDIS_PID) : null;
      const times = [];
      for (let i = 0; i < GETS; i++) {
        const g = await get(s.url);
        times.push(g);
        s.bytes = g.bytes;
      }
      s.ms.push(median(times.map((t) => t.ms)));
      s.first.push(median(times.map((t) => t.first)));
      s.cpu.push(((cpuSeconds(s.pid) - c0) * 1000) / GETS);
      if (rc0 !== null) s.redisCpu.push(((cpuSeconds(REDIS_PID) - rc0) * 1000) / GETS);
    }
  }
  if (PROF) for (const s of servers) process.kill(s.pid, 'SIGUSR2');
  console.log(`GET /chat, ${ROOMS} rooms, ${GETS} requests × ${ROUNDS} rounds (medians of the rounds' medians):`);
  for (const s of servers)
    console.log(
      `${s.name.padEnd(8)} answer ${r1(median(s.ms))} ms (${s.ms.map(r1).join(', ')})  first byte ${r1(median(s.first))} ms` +
        `  server CPU ${r1(median(s.cpu))} ms (${s.cpu.map(r1).join(', ')})` +
        `  Redis CPU ${REDIS_PID ? r1(median(s.redisCpu)) : '-'} ms  ${Math.round(s.bytes / 1024)} KB`,
    );
} finally {
  for (const s of servers) await s.stop();
  await deleteKeys(redis, prefix).catch(() => {});
  await redis.quit();
}
