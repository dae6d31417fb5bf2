// The page scenario: GET /chat for a user in many rooms of many messages. Rooms are made the way
// a user makes them (POST /chat/create_chat with a peer found through GET /chat/get_users) and
// filled through `text`; then the page is fetched repeatedly while the Redis traffic the server
// sends is counted twice: by a counting proxy in front of Redis (the server's own commands and
// round trips) and by INFO commandstats deltas (everything Redis ran in that time).
import { connect, login, pool, request } from './client.mjs';
import { median } from './stats.mjs';

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
 * Prepares `owner` in `rooms` rooms of `perRoom` messages each, then times `requests` GETs of
 * /chat. `proxy` counts the server's Redis traffic; `redis` is a direct client for INFO.
 */
export async function measurePage({ url, secure, proxy, redis, tag, rooms, perRoom, requests, joinedRequests = 5 }) {
  const cookie = await login(url, `${tag}-owner-${rooms}`, { secure });
  const peerCookie = await login(url, `${tag}-peer-${rooms}`, { secure });
  const headers = { cookie, 'content-type': 'application/json' };
  if (secure) headers['x-forwarded-proto'] = 'https';
  const usersRes = await fetch(`${url}/chat/get_users`, { headers });
  const users = await json(usersRes);
  const peerUid = Object.keys(users).find((uid) => users[uid].name === `${tag}-peer-${rooms}`);
  if (!peerUid) throw new Error('GET /chat/get_users did not list the peer');
  void peerCookie;

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

  const get = async () => {
    const t0 = performance.now();
    const res = await fetch(`${url}/chat`, { headers: { cookie }, redirect: 'manual' });
    const body = await res.text();
    return { ms: performance.now() - t0, status: res.status, body };
  };
  for (let i = 0; i < 3; i++) await get(); // warm caches and JIT

  const times = [];
  const commands = [];
  const roundTrips = [];
  let last = null;
  const stats0 = await commandStats(redis);
  for (let i = 0; i < requests; i++) {
    const p0 = proxy.snapshot();
    const r = await get();
    // Let anything the request scheduled after its answer (session touch) reach the proxy.
    await new Promise((res) => setTimeout(res, 20));
    const p1 = proxy.snapshot();
    if (r.status !== 200) throw new Error(`GET /chat answered ${r.status}`);
    times.push(r.ms);
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
    medianMs: Math.round(median(times) * 100) / 100,
    minMs: Math.round(Math.min(...times) * 100) / 100,
    pageKB: Math.round(last.body.length / 102.4) / 10,
    redisCommandsPerRequest: median(commands),
    redisRoundTripsPerRequest: median(roundTrips),
    commandsByName: diff(last.p1.byName, last.p0.byName).byName,
    commandstatsPerRequest: Math.round((info.total / requests) * 10) / 10,
    commandstatsByName: Object.fromEntries(
      Object.entries(info.byName).map(([k, v]) => [k, Math.round((v / requests) * 10) / 10]),
    ),
    check: { roomsShown, newestShown, oldestShown },
    joined: {
      requests: joinedRequests,
      medianMs: Math.round(median(joinedTimes) * 100) / 100,
      redisCommandsPerRequest: median(joinedCommands),
      redisRoundTripsPerRequest: median(joinedRoundTrips),
      commandsByName: joinedLast,
    },
    fillMsgsPerSec: Math.round((rooms * perRoom) / (fillMs / 1000)),
  };
}
