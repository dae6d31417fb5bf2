// The reconnect storm's load generator (./storm.mjs), forked with IPC; one or more run at once,
// each holding some of the clients. Two kinds of client:
//
// - storm clients: connected through the balancer with socket.io-client's own reconnection at the
//   page's settings (src/client/backoff.ts RECONNECT: 0.5 s doubling to 5 s, ± 100 % jitter), and
//   the page's catch-up on every reconnect (src/client/sync.ts): `joined`, then `catch_up` of the
//   rooms from their resume marks, paging on with `history {after}` where answered `more`; the
//   resume marks follow the page's rules (src/client/state/marks.ts, messages.ts): they move with
//   live messages, freeze on disconnect — going back to before the current run of live deliveries
//   when the last was under 10 s ago — and catch up from there. A handshake refused "not now" is
//   retried after the page's backoff (src/client/backoff.ts); events answered "not now" after
//   0.5, 1, 2, 4, 8 s, as sync.ts's `ask` does.
// - senders: connected straight to the surviving node, each sending `text` at a fixed rate;
//   latency is send → the sender's own `internal_msg` (one clock, and the sender's socket never
//   moves, so the figure is the server's).
//
// Messages carry `<repeat>|<k>|<epoch ms sent>`; every client records which k of the current
// repeat it got, live or by catch-up, so `verify` can count, for the acknowledged messages, every
// member that never got one (lost) or got it live twice (duplicate).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import { login, pool } from './client.mjs';

const epoch = () => performance.timeOrigin + performance.now();

// The page's constants, from src/client/*.ts (plain JS here: the generator runs without tsx).
const MIN_ID = '0-0'; // ids.ts
const LIVE_RUN_MS = 10_000; // state/messages.ts
const CATCH_UP_MAX_ROOMS = 100; // shared/limits.ts catchUpMaxRooms
const HISTORY_MAX = 100; // shared/limits.ts historyMax
const ACK_TIMEOUT_MS = 10_000; // request.ts
const ASK_RETRIES = 5; // sync.ts
const ASK_FIRST_PAUSE_MS = 500; // sync.ts
const RETRYABLE_REFUSALS = ['too many connections', 'service unavailable']; // backoff.ts
const NOT_NOW = ['rate limited', 'service unavailable'];
/** backoff.ts RECONNECT: socket.io-client's reconnection as the page sets it (full jitter). */
const RECONNECT = { reconnectionDelay: 500, randomizationFactor: 1, reconnectionDelayMax: 5000 };
/** backoff.ts backoffDelay: doubling from 1 s to 30 s, a random point in the upper half. */
const backoffDelay = (attempt) => {
  const ceiling = Math.min(30_000, 1000 * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.random());
};

function idParts(id) {
  const dash = id.indexOf('-');
  return dash < 0 ? [Number(id) || 0, 0] : [Number(id.slice(0, dash)) || 0, Number(id.slice(dash + 1)) || 0];
}
function compareIds(a, b) {
  if (a === b) return 0;
  const [am, as] = idParts(a);
  const [bm, bs] = idParts(b);
  return am !== bm ? (am < bm ? -1 : 1) : as < bs ? -1 : as > bs ? 1 : 0;
}
const maxId = (a, b) => (a === undefined ? b : b === undefined ? a : compareIds(a, b) >= 0 ? a : b);

const clients = new Map(); // global index → client
const cookies = new Map();
let rep = 0; // the repeat whose messages are counted
let storm = null; // the storm being measured: counters shared by all storm clients
/** Without a balancer: where storm clients reconnect after losing their node (`failover`). */
let failoverUrl = null;

function parse(text) {
  const a = text.indexOf('|');
  const b = text.indexOf('|', a + 1);
  if (a < 0 || b < 0) return null;
  return { rep: Number(text.slice(0, a)), k: Number(text.slice(a + 1, b)), sentAt: Number(text.slice(b + 1)) };
}

/** A message reached client `c` live or by catch-up: counted once per k; a second live copy is a duplicate. */
function got(c, m, live) {
  const p = typeof m?.msg === 'string' ? parse(m.msg) : null;
  if (!p || p.rep !== rep) return;
  const prev = c.got.get(p.k);
  if (prev === undefined) {
    c.got.set(p.k, live ? 1 : 2);
    if (live && c.kind === 'storm') c.liveLatency.push([p.sentAt, epoch() - p.sentAt]);
  } else if (live && prev & 1) c.dupLive += 1;
  else {
    c.got.set(p.k, prev | (live ? 1 : 2));
    c.overlap += 1; // had it one way, now the other: the page merges by id
  }
  if (c.kind === 'sender' && live && c.out.has(p.k)) c.out.get(p.k).echoAt = epoch();
}

// --- the page's resume marks (src/client/state/messages.ts `insertMessages`, marks.ts) ---------
function receiveLive(c, m) {
  const r = c.rooms.get(m.room_id);
  if (!r) return;
  const now = Date.now();
  if (r.live) {
    r.run = { before: r.run && now - r.run.last <= LIVE_RUN_MS ? r.run.before : r.resume, last: now };
    r.resume = maxId(r.resume, m.id);
  } else r.liveMax = maxId(r.liveMax, m.id);
}
function receivePage(c, roomId, messages) {
  const r = c.rooms.get(roomId);
  if (!r) return;
  for (const m of messages) {
    r.resume = maxId(r.resume, m.id);
    got(c, m, false);
  }
}
function freezeMarks(c) {
  const now = Date.now();
  for (const r of c.rooms.values()) {
    const recent = r.live && r.run && now - r.run.last <= LIVE_RUN_MS;
    if (recent) r.resume = r.run.before;
    r.live = false;
    r.liveMax = undefined;
    r.run = undefined;
  }
}
function caughtUpRoom(r) {
  if (r.live) return;
  r.resume = maxId(r.resume, r.liveMax);
  r.live = true;
  r.liveMax = undefined;
}

class Stale extends Error {}

function request(socket, event, payload) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
}

/** sync.ts `ask`: "not now" answers are asked again after a growing pause. */
async function ask(c, gen, event, payload) {
  for (let attempt = 0, pause = ASK_FIRST_PAUSE_MS; ; attempt++, pause *= 2) {
    if (event === 'history' && storm) storm.historyPages += 1;
    const res = await request(c.socket, event, payload);
    if (gen !== c.gen) throw new Stale();
    if (res?.ok || attempt >= ASK_RETRIES || !NOT_NOW.includes(res?.error)) return res;
    if (storm) storm.askRetried[res.error] = (storm.askRetried[res.error] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, pause));
    if (gen !== c.gen) throw new Stale();
  }
}

/** sync.ts `start` after a reconnect: `joined`, then every room not live caught up. */
async function sync(c, gen) {
  const joined = await ask(c, gen, 'joined', {});
  if (!joined?.ok) throw new Error(`joined: ${joined?.error}`);
  if (c.t && c.t.joinedAt === null) c.t.joinedAt = epoch();
  const listed = new Set(joined.rooms.map((r) => r.room_id));
  for (const id of c.rooms.keys()) if (!listed.has(id)) c.rooms.delete(id);
  const waiting = [...c.rooms.entries()].filter(([, r]) => !r.live);
  for (let i = 0; i < waiting.length; i += CATCH_UP_MAX_ROOMS) {
    const batch = waiting.slice(i, i + CATCH_UP_MAX_ROOMS);
    const res = await ask(c, gen, 'catch_up', { rooms: batch.map(([id, r]) => ({ room_id: id, after: r.resume })) });
    if (!res?.ok) throw new Error(`catch_up: ${res?.error}`);
    if (storm) storm.catchUps += 1;
    for (const r of res.rooms) {
      receivePage(c, r.room_id, r.messages);
      if (storm) storm.caughtUpMessages += r.messages.length;
      if (!r.more) caughtUpRoom(c.rooms.get(r.room_id));
    }
    for (const r of res.rooms) {
      if (!r.more) continue;
      for (let page = 0; page < 50; page++) {
        const room = c.rooms.get(r.room_id);
        const h = await ask(c, gen, 'history', { room_id: r.room_id, after: room.resume, limit: HISTORY_MAX });
        if (!h?.ok) throw new Error(`history: ${h?.error}`);
        receivePage(c, r.room_id, h.messages);
        if (storm) storm.caughtUpMessages += h.messages.length;
        if (h.messages.length < HISTORY_MAX) break;
      }
      caughtUpRoom(c.rooms.get(r.room_id));
    }
  }
}

function countError(table, message) {
  const key = String(message).slice(0, 80);
  table[key] = (table[key] ?? 0) + 1;
}

/** A client with the page's reconnection; resolves once first connected (rejects on a refusal). */
function open(i, url, kind) {
  const cookie = cookies.get(i);
  const socket = io(`${url}/chat`, {
    transports: ['websocket'],
    extraHeaders: cookie ? { cookie } : {},
    forceNew: true,
    reconnection: kind === 'storm',
    ...RECONNECT,
  });
  const c = {
    i,
    kind,
    socket,
    rooms: new Map(), // room id → the page's mark: { resume, live, run, liveMax }
    gen: 0,
    got: new Map(), // k → 1 live, 2 caught up, 3 both
    dupLive: 0,
    overlap: 0,
    liveLatency: [],
    out: new Map(), // senders: k → { sentAt, ackAt, echoAt, room }
    refusals: 0,
    connected: false,
    t: null, // this storm's times
  };
  clients.set(i, c);
  socket.on('internal_msg', (m) => {
    receiveLive(c, m);
    got(c, m, true);
  });
  socket.io.on('reconnect_attempt', () => {
    if (!c.t) return;
    c.t.attempts += 1;
    if (c.t.attemptAt === null) c.t.attemptAt = epoch();
  });
  socket.on('resync', () => {
    freezeMarks(c);
    startSync(c, c.gen);
  });
  socket.on('disconnect', (why) => {
    c.connected = false;
    c.gen += 1;
    freezeMarks(c);
    if (c.t && c.t.disconnectedAt === null) c.t.disconnectedAt = epoch();
    // No balancer: the client itself switches to the node it was told survives.
    if (kind === 'storm' && failoverUrl) socket.io.uri = failoverUrl;
    if (why === 'io server disconnect' && kind === 'storm') socket.connect();
  });
  return new Promise((resolve, reject) => {
    let first = true;
    socket.on('connect', () => {
      c.connected = true;
      c.refusals = 0;
      if (first) {
        first = false;
        return resolve(c);
      }
      c.gen += 1;
      if (c.t && c.t.reconnectedAt === null) c.t.reconnectedAt = epoch();
      startSync(c, c.gen);
    });
    socket.on('connect_error', (err) => {
      if (first && !socket.active) {
        first = false;
        socket.close();
        return reject(new Error(`connect_error: ${err.message}`));
      }
      if (storm) countError(socket.active ? storm.transportErrors : storm.refused, err.message);
      // chat.ts: a refusal "not now" is retried after the page's backoff; any other is shown.
      if (!socket.active && RETRYABLE_REFUSALS.includes(err.message))
        setTimeout(() => socket.connect(), backoffDelay(c.refusals++));
    });
  });
}

function startSync(c, gen) {
  sync(c, gen)
    .then(() => {
      if (gen === c.gen && c.t && c.t.caughtUpAt === null && c.t.reconnectedAt !== null) c.t.caughtUpAt = epoch();
    })
    .catch((err) => {
      if (err instanceof Stale || gen !== c.gen) return;
      if (storm) countError(storm.syncFailed, err?.message ?? err);
    });
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

async function cmdLogin({ ids, url, namePrefix, secure, concurrency = 32 }) {
  const t0 = performance.now();
  await pool(ids.length, concurrency, async (j) => {
    cookies.set(ids[j], await login(url, `${namePrefix}${ids[j]}`, { secure, retries: 8 }));
  });
  return { ms: Math.round(performance.now() - t0) };
}

/**
 * Connects `ids` to `url`; `join` 'random': each joins its random room (`join_random`); 'joined':
 * each is already a member of its rooms (a group made by `createRooms`) and, as the page does on
 * connect, asks `joined`, which puts the socket in them.
 */
async function cmdConnect({ ids, url, kind, join = 'random', concurrency = 32 }) {
  const t0 = performance.now();
  const errors = {};
  const rooms = [];
  await pool(ids.length, concurrency, async (j) => {
    const i = ids[j];
    try {
      const c = await withTimeout(open(i, url, kind), 30_000, 'connect');
      if (join === 'random') {
        const res = await request(c.socket, 'join_random', {});
        if (!res?.ok) throw new Error(`join_random refused: ${res?.error}`);
        c.rooms.set(res.room_id, { resume: MIN_ID, live: true, run: undefined });
        rooms.push([i, res.room_id]);
      } else {
        const res = await request(c.socket, 'joined', {});
        if (!res?.ok) throw new Error(`joined refused: ${res?.error}`);
        for (const r of res.rooms) {
          c.rooms.set(r.room_id, { resume: r.last_message?.id ?? MIN_ID, live: true, run: undefined });
          rooms.push([i, r.room_id]);
        }
      }
      c.connected = true;
    } catch (err) {
      countError(errors, err?.message ?? err);
    }
  });
  return { rooms, errors, ms: Math.round(performance.now() - t0) };
}

/**
 * Each of `groups` ({sender, uids}): the sender makes a group room of itself and `uids` with
 * `POST /chat/create_chat` (all at once: no room waits for another). Resolves the room ids.
 */
async function cmdCreateRooms({ url, groups, secure, concurrency = 32 }) {
  const made = [];
  const errors = {};
  await pool(groups.length, concurrency, async (j) => {
    const { sender, uids } = groups[j];
    const headers = { 'content-type': 'application/json', cookie: cookies.get(sender) };
    if (secure) headers['x-forwarded-proto'] = 'https';
    try {
      const res = await fetch(`${url}/chat/create_chat`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ room_name: `storm ${sender}`, users: uids }),
      });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`create_chat answered ${res.status} ${body?.error ?? ''}`);
      made.push([sender, body.room_id]);
    } catch (err) {
      countError(errors, err?.message ?? err);
    }
  });
  return { made, errors };
}

/** Senders: closes their sockets and opens them on `url` (the next survivor); `joined` puts them back in their rooms. */
async function cmdMove({ url }) {
  const senders = [...clients.values()].filter((c) => c.kind === 'sender');
  const errors = {};
  await pool(senders.length, 32, async (j) => {
    const old = senders[j];
    old.socket.close();
    try {
      const c = await withTimeout(open(old.i, url, 'sender'), 30_000, 'connect');
      c.rooms = old.rooms;
      const res = await request(c.socket, 'joined', {});
      if (!res?.ok) throw new Error(`joined: ${res?.error}`);
    } catch (err) {
      countError(errors, err?.message ?? err);
    }
  });
  return { moved: senders.length, errors };
}

let loopDelay = null;
let cpu0 = null;
function cmdArm({ rep: r }) {
  rep = r;
  storm = {
    refused: {},
    transportErrors: {},
    syncFailed: {},
    askRetried: {},
    catchUps: 0,
    historyPages: 0,
    caughtUpMessages: 0,
  };
  for (const c of clients.values()) {
    c.got = new Map();
    c.dupLive = 0;
    c.overlap = 0;
    c.liveLatency = [];
    c.out = new Map();
    c.t =
      c.kind === 'storm'
        ? { disconnectedAt: null, attemptAt: null, attempts: 0, reconnectedAt: null, joinedAt: null, caughtUpAt: null }
        : null;
  }
  loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  cpu0 = { cpu: process.cpuUsage(), t: performance.now() };
  return { armed: clients.size };
}

function cmdProgress() {
  let disconnected = 0;
  let reconnected = 0;
  let caughtUp = 0;
  let total = 0;
  for (const c of clients.values()) {
    if (!c.t) continue;
    total += 1;
    if (c.t.disconnectedAt !== null) disconnected += 1;
    if (c.t.reconnectedAt !== null) reconnected += 1;
    if (c.t.caughtUpAt !== null) caughtUp += 1;
  }
  return { total, disconnected, reconnected, caughtUp };
}

/** The storm's per-client times (epoch ms, null where not reached) and what went wrong. */
function cmdStormResult() {
  const st = [...clients.values()].filter((c) => c.t);
  const cpu = process.cpuUsage(cpu0.cpu);
  const wall = performance.now() - cpu0.t;
  loopDelay?.disable();
  return {
    disconnectedAt: st.map((c) => c.t.disconnectedAt),
    attemptAt: st.map((c) => c.t.attemptAt),
    attempts: st.reduce((a, c) => a + c.t.attempts, 0),
    joinedAt: st.map((c) => c.t.joinedAt),
    reconnectedAt: st.map((c) => c.t.reconnectedAt),
    caughtUpAt: st.map((c) => c.t.caughtUpAt),
    ...storm,
    genCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 1000) / 10,
    genLoopDelayMs: {
      p99: Math.max(0, Math.round((loopDelay.percentile(99) / 1e6 - 10) * 10) / 10),
      max: Math.max(0, Math.round((loopDelay.max / 1e6 - 10) * 10) / 10),
    },
  };
}

let sending = null;
/** Senders: each sends `text` every 1000/perClientRate ms, the senders' phases spread evenly. */
function cmdSend({ rep: r, perClientRate = 1 }) {
  const senders = [...clients.values()].filter((c) => c.kind === 'sender');
  const period = 1000 / perClientRate;
  let k = 0;
  const state = { timers: [], sent: 0, acked: [], refused: {}, unanswered: 0 };
  senders.forEach((c, j) => {
    const room = [...c.rooms.keys()][0];
    const fire = () => {
      const n = k++;
      const sentAt = epoch();
      const o = { sentAt, ackAt: null, echoAt: null, room };
      c.out.set(n, o);
      state.sent += 1;
      state.unanswered += 1;
      c.socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('text', { room_id: room, msg: `${r}|${n}|${sentAt.toFixed(2)}` })
        .then((res) => {
          state.unanswered -= 1;
          o.ackAt = epoch();
          if (res?.ok) state.acked.push([n, room]);
          else countError(state.refused, res?.error ?? 'no answer');
        })
        .catch((err) => {
          state.unanswered -= 1;
          countError(state.refused, err?.message ?? err);
        });
    };
    const start = setTimeout(
      () => {
        fire();
        state.timers.push(setInterval(fire, period));
      },
      (j * period) / senders.length,
    );
    state.timers.push(start);
  });
  sending = { state, senders };
  return { senders: senders.length };
}

/** Stops sending, waits up to `drainMs` for the answers and echoes, and returns what was sent. */
async function cmdStopSend({ drainMs = 2000 }) {
  const { state, senders } = sending;
  for (const t of state.timers) clearTimeout(t);
  const t0 = performance.now();
  const echoed = () => senders.every((c) => [...c.out.values()].every((o) => o.echoAt !== null));
  while (performance.now() - t0 < drainMs && (state.unanswered > 0 || !echoed()))
    await new Promise((r) => setTimeout(r, 20));
  const sends = [];
  for (const c of senders)
    for (const o of c.out.values())
      sends.push([
        Math.round(o.sentAt * 10) / 10,
        o.ackAt === null ? null : Math.round((o.ackAt - o.sentAt) * 100) / 100,
        o.echoAt === null ? null : Math.round((o.echoAt - o.sentAt) * 100) / 100,
      ]);
  sending = null;
  return { sent: state.sent, acked: state.acked, refused: state.refused, unanswered: state.unanswered, sends };
}

/**
 * For the acknowledged messages `acked` ([k, room]): every member here that never got one (lost),
 * or got it live twice (duplicate). Also the storm clients' live latencies sent within `window`.
 */
function cmdVerify({ acked, window }) {
  const byRoom = new Map();
  for (const [k, room] of acked) {
    const list = byRoom.get(room) ?? [];
    list.push(k);
    byRoom.set(room, list);
  }
  let expected = 0;
  let lost = 0;
  let dupLive = 0;
  let overlap = 0;
  let byCatchUp = 0;
  let notCaughtUpLost = 0;
  const lostSamples = [];
  const latency = [];
  for (const c of clients.values()) {
    dupLive += c.dupLive;
    overlap += c.overlap;
    for (const room of c.rooms.keys()) {
      for (const k of byRoom.get(room) ?? []) {
        expected += 1;
        const how = c.got.get(k);
        if (how === undefined) {
          lost += 1;
          // A client still catching up when the wait ended is not yet owed its messages.
          if (c.t && c.t.caughtUpAt === null) notCaughtUpLost += 1;
          else if (lostSamples.length < 5) lostSamples.push({ client: c.i, kind: c.kind, room, k });
        } else if (how === 2) byCatchUp += 1;
      }
    }
    if (window)
      for (const [sentAt, ms] of c.liveLatency) if (sentAt >= window[0] && sentAt <= window[1]) latency.push(ms);
  }
  return { expected, lost, notCaughtUpLost, dupLive, overlap, byCatchUp, lostSamples, memberLatencyMs: latency };
}

async function cmdClose() {
  for (const c of clients.values()) c.socket.close();
  clients.clear();
  return {};
}

function cmdFailover({ url }) {
  failoverUrl = url;
  return { url };
}

const commands = {
  failover: cmdFailover,
  login: cmdLogin,
  connect: cmdConnect,
  createRooms: cmdCreateRooms,
  move: cmdMove,
  arm: cmdArm,
  progress: cmdProgress,
  stormResult: cmdStormResult,
  send: cmdSend,
  stopSend: cmdStopSend,
  verify: cmdVerify,
  close: cmdClose,
};

process.on('message', async (cmd) => {
  try {
    const fn = commands[cmd.type];
    if (!fn) throw new Error(`unknown command ${cmd.type}`);
    const result = await fn(cmd);
    process.send({ seq: cmd.seq, ok: true, result });
    if (cmd.type === 'close') process.disconnect();
  } catch (err) {
    process.send({ seq: cmd.seq, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
