// The page scenario: GET /chat for a user in many rooms of many messages. Rooms are made the way
// a user makes them (POST /chat/create_chat with a peer found through GET /chat/get_users) and
// filled through `text`; then the page is fetched repeatedly while the Redis traffic the server
// sends is counted twice: by a counting proxy in front of Redis (the server's own commands and
// round trips) and by INFO commandstats deltas (everything Redis ran in that time). The times are
// taken on a second server on the same Redis and prefix without the proxy (`timeUrl`): the proxy
// parses every reply in JavaScript and would add its own cost to each of a big user's commands.
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { connect, login, pool, request } from './client.mjs';
import { cpuSeconds, waitForQuiet } from './proc.mjs';
import { median } from './stats.mjs';

/** GETs of /chat before the timed ones, and for at least this long. */
const WARM_UP_GETS = 10;
const WARM_UP_MS = 2000;

async function json(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON, got ${res.status}: ${text.slice(0, 200)}`);
  }
}

async function commandStats(redis) {
  const info = await redis.info('commandstats');
  const out = {};
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

function diff(after, before, skip = []) {
  const out = {};
  let total = 0;
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0 && !skip.includes(k)) {
      out[k] = d;
      total += d;
    }
  }
  return { total, byName: out };
}

/**
 * A user (`<tag>-owner-<rooms>`) in `rooms` rooms of `perRoom` messages each, made the way a user
 * makes them: POST /chat/create_chat with a peer found through GET /chat/get_users, then `text`.
 * The server must allow the burst (the bench's raised limits). Resolves the owner's cookie, the
 * room ids in creation order and how long the messages took.
 */
export async function seedRooms({ url, secure, tag, rooms, perRoom }) {
  const cookie = await login(url, `${tag}-owner-${rooms}`, { secure });
  await login(url, `${tag}-peer-${rooms}`, { secure });
  const headers = { cookie, 'content-type': 'application/json' };
  if (secure) headers['x-forwarded-proto'] = 'https';
  const usersRes = await fetch(`${url}/chat/get_users`, { headers });
  const users = await json(usersRes);
  const peerUid = Object.keys(users).find((uid) => users[uid].name === `${tag}-peer-${rooms}`);
  if (!peerUid) throw new Error('GET /chat/get_users did not list the peer');

  const roomIds = [];
  for (let r = 0; r < rooms; r++) {
    const res = await fetch(`${url}/chat/create_chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ room_name: `${tag}-room-${rooms}-${r}`, users: [peerUid] }),
    });
    const body = await json(res);
    if (res.status !== 200 || body.status !== 'OK')
      throw new Error(`create_chat: ${res.status} ${JSON.stringify(body)}`);
    roomIds.push(body.room_id);
  }

  const socket = await connect(url, cookie);
  const joined = await request(socket, 'joined', {});
  if (!joined?.ok) throw new Error(`joined refused: ${joined?.error}`);
  const fill0 = performance.now();
  await pool(rooms, 8, async (r) => {
    for (let j = 0; j < perRoom; j++) {
      const res = await request(socket, 'text', { room_id: roomIds[r], msg: `${tag}-msg-${r}-${j}` });
      if (!res?.ok) throw new Error(`text refused: ${res?.error}`);
    }
  });
  const fillMs = performance.now() - fill0;
  socket.close();
  return { cookie, roomIds, fillMs };
}

/**
 * Prepares `owner` in `rooms` rooms of `perRoom` messages each (seedRooms), then times `requests`
 * GETs of /chat. `proxy` counts the server's Redis traffic; `redis` is a direct client for INFO.
 */
export async function measurePage({
  url,
  timeUrl = url,
  secure,
  proxy,
  redis,
  tag,
  rooms,
  perRoom,
  requests,
  joinedRequests = 5,
  timePid = null,
  redisPid = null,
}) {
  const { cookie, roomIds, fillMs } = await seedRooms({ url, secure, tag, rooms, perRoom });

  const get = async (base = url) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/chat`, { headers: { cookie }, redirect: 'manual' });
    const body = await res.text();
    return { ms: performance.now() - t0, status: res.status, body };
  };
  // Warm caches, JIT and the heap's sizing (V8 grows its young generation only after some
  // allocation-heavy requests): the timed server is fresh, and with 3 warm-up GETs, then 10, the
  // 1,000-room page's three rounds still fell as it warmed (34.4, 29.0, 23.4 ms; 33.5, 28.0,
  // 25.3). At least WARM_UP_GETS and WARM_UP_MS, so a big page gets as long as a small one.
  const warm0 = performance.now();
  for (let i = 0; i < WARM_UP_GETS || performance.now() - warm0 < WARM_UP_MS; i++) await get(timeUrl);
  // The fill above (thousands of messages) and whatever ran before leave work behind (GC, Redis,
  // sockets closing): the times are taken once the machine is quiet, and how quiet is kept.
  const quiet = await waitForQuiet();
  // Three rounds (the VM's speed drifts): the figure is the median of the rounds' medians.
  // The CPU the timed server and Redis spent on them as well (from /proc): steadier than the
  // times on this machine, and it tells the node's share from Redis's.
  const rounds = [[], [], []];
  const cpu0 = [timePid, redisPid].map((pid) => (pid ? cpuSeconds(pid) : null));
  for (let i = 0; i < requests; i++) {
    const r = await get(timeUrl);
    if (r.status !== 200) throw new Error(`GET /chat answered ${r.status}`);
    rounds[Math.floor((i * 3) / requests)].push(r.ms);
  }
  const [serverCpuMs, redisCpuMs] = [timePid, redisPid].map((pid, k) =>
    pid && cpu0[k] !== null ? Math.round(((cpuSeconds(pid) - cpu0[k]) * 1e4) / requests) / 10 : null,
  );
  const times = rounds.flat();
  const roundMedians = rounds.filter((x) => x.length).map((x) => Math.round(median(x) * 100) / 100);

  for (let i = 0; i < 2; i++) await get();
  const commands = [];
  const roundTrips = [];
  let last = null;
  const stats0 = await commandStats(redis);
  const counted = Math.min(requests, 7);
  for (let i = 0; i < counted; i++) {
    const p0 = proxy.snapshot();
    const r = await get();
    // Let anything the request scheduled after its answer (session touch) reach the proxy.
    await new Promise((res) => setTimeout(res, 20));
    const p1 = proxy.snapshot();
    if (r.status !== 200) throw new Error(`GET /chat answered ${r.status}`);
    commands.push(p1.commands - p0.commands);
    roundTrips.push(p1.roundTrips - p0.roundTrips);
    last = { p0, p1, body: r.body };
  }
  const stats1 = await commandStats(redis);
  const info = diff(stats1, stats0, ['info']);

  // `joined` as a page load sends it: a fresh socket's first one (the socket joins its rooms, and
  // its user comes online in them), counted from the emit to a little after the answer; the
  // connection's own sign-in reads are outside the count.
  const joinedRoundTrips = [];
  const joinedCommands = [];
  const joinedTimes = [];
  let joinedLast = null;
  for (let i = 0; i < joinedRequests + 1; i++) {
    const s = await connect(url, cookie);
    await new Promise((res) => setTimeout(res, 20));
    const p0 = proxy.snapshot();
    const t0 = performance.now();
    const answer = await request(s, 'joined', {});
    const ms = performance.now() - t0;
    await new Promise((res) => setTimeout(res, 20));
    const p1 = proxy.snapshot();
    s.close();
    // Let the server see the disconnect (leases, adapter unsubscribes) before the next one.
    await new Promise((res) => setTimeout(res, 50));
    if (!answer?.ok) throw new Error(`joined refused: ${answer?.error}`);
    if (answer.rooms?.length !== rooms) throw new Error(`joined listed ${answer.rooms?.length} of ${rooms} rooms`);
    if (i === 0) continue; // the first warms caches and JIT
    joinedTimes.push(ms);
    joinedCommands.push(p1.commands - p0.commands);
    joinedRoundTrips.push(p1.roundTrips - p0.roundTrips);
    joinedLast = diff(p1.byName, p0.byName).byName;
  }

  // The page must really hold every room and each room's newest message.
  const shown = (text) => new RegExp(`${text}(?!\\d)`).test(last.body);
  const roomsShown = roomIds.filter((_, r) => shown(`${tag}-room-${rooms}-${r}`)).length;
  const newestShown = roomIds.filter((_, r) => shown(`${tag}-msg-${r}-${perRoom - 1}`)).length;
  const oldestShown = roomIds.filter((_, r) => shown(`${tag}-msg-${r}-0`)).length;

  return {
    rooms,
    messagesPerRoom: perRoom,
    requests,
    medianMs: median(roundMedians),
    roundMedians,
    requestMedianMs: Math.round(median(times) * 100) / 100,
    serverCpuMsPerRequest: serverCpuMs,
    redisCpuMsPerRequest: redisCpuMs,
    minMs: Math.round(Math.min(...times) * 100) / 100,
    pageKB: Math.round(last.body.length / 102.4) / 10,
    redisCommandsPerRequest: median(commands),
    redisRoundTripsPerRequest: median(roundTrips),
    commandsByName: diff(last.p1.byName, last.p0.byName).byName,
    commandstatsPerRequest: Math.round((info.total / counted) * 10) / 10,
    commandstatsByName: Object.fromEntries(
      Object.entries(info.byName).map(([k, v]) => [k, Math.round((v / counted) * 10) / 10]),
    ),
    cookie,
    check: { roomsShown, newestShown, oldestShown },
    joined: {
      requests: joinedRequests,
      medianMs: Math.round(median(joinedTimes) * 100) / 100,
      redisCommandsPerRequest: median(joinedCommands),
      redisRoundTripsPerRequest: median(joinedRoundTrips),
      commandsByName: joinedLast,
    },
    quiet,
    fillMsgsPerSec: Math.round((rooms * perRoom) / (fillMs / 1000)),
  };
}

/**
 * The chat page's scripts and styles as this server links them (views/layout.njk, chat.njk),
 * fetched and gzipped here (App Engine compresses what it serves): what a first visit downloads
 * besides the HTML, whose own size is `pageKB` above.
 */
export async function pageWeight({ url, cookie }) {
  const html = await (await fetch(`${url}/chat`, { headers: { cookie } })).text();
  const refs = [
    ...[...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]),
    ...[...html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]),
  ];
  const files = [];
  for (const ref of refs) {
    const res = await fetch(new URL(ref, url));
    if (res.status !== 200) throw new Error(`${ref} answered ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    files.push({ file: ref.replace(/^.*\//, ''), bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length });
  }
  const sum = (pick) => files.reduce((a, f) => a + pick(f), 0);
  const htmlGzip = gzipSync(Buffer.from(html), { level: 9 }).length;
  return {
    files,
    gzipKB: Math.round(sum((f) => f.gzipBytes) / 102.4) / 10,
    htmlGzipKB: Math.round(htmlGzip / 102.4) / 10,
  };
}

/**
 * First contentful paint of GET /chat in headless Chromium (the Performance API's paint entry),
 * signed in with `cookie`, from a fresh browser context each time (nothing cached), `loads` times
 * after one warm-up; the median. Null where no Chromium is installed (CHROMIUM_PATH or
 * /usr/bin/chromium) or playwright-core is missing.
 */
export async function firstPaint({ url, cookie, loads = 3, secure }) {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) return { skipped: `no Chromium at ${executablePath}` };
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { skipped: 'playwright-core is not installed' };
  }
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const [name, value] = cookie.split(/=(.*)/s);
    const host = new URL(url).hostname;
    const times = [];
    const loaded = [];
    for (let i = 0; i <= loads; i++) {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        // In production the server trusts one proxy hop (App Engine's): say the page came over https.
        extraHTTPHeaders: secure ? { 'x-forwarded-proto': 'https' } : {},
      });
      await context.addCookies([{ name, value, domain: host, path: '/' }]);
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${url}/chat`, { waitUntil: 'load' });
      const loadMs = performance.now() - t0;
      const fcp = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const entry = performance.getEntriesByName('first-contentful-paint')[0];
            if (entry) return resolve(entry.startTime);
            new PerformanceObserver((list) => {
              const e = list.getEntriesByName('first-contentful-paint')[0];
              if (e) resolve(e.startTime);
            }).observe({ type: 'paint', buffered: true });
            setTimeout(() => resolve(null), 5000);
          }),
      );
      const title = await page.title();
      await context.close();
      if (!/Chat/.test(title)) throw new Error(`GET /chat in Chromium showed "${title}"`);
      if (i === 0) continue; // the first warms the server's and the browser's caches
      if (fcp !== null) times.push(fcp);
      loaded.push(loadMs);
    }
    const med = (a) => (a.length ? Math.round(median(a) * 10) / 10 : null);
    return { loads, fcpMs: med(times), loadMs: med(loaded) };
  } finally {
    await browser.close();
  }
}
