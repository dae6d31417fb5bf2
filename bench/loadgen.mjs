// The load generator, a process of its own so that its CPU is measured apart from the server's.
// Forked by run.mjs it obeys IPC commands (connect, step, close) and keeps its clients across
// steps; run by hand it does one step and prints the result:
//   node bench/loadgen.mjs --url http://127.0.0.1:3000 --clients 100 --rate 1000 --duration 5 [--bare]
//
// Each step is open-loop: message k of the step is due at start + k/rate whatever the server does,
// and is sent by client k mod N, so every client sends rate/N per second. The message text carries
// the step, k and the send time; every member of the room (the sender included, as the contract
// says) must get `internal_msg` for it exactly once. Latency is send → `internal_msg` at the other
// members, measured on one clock because sender and receivers live in this process.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connect, login, loginStats, pool, request } from './lib/client.mjs';
import { Samples, summarize } from './lib/stats.mjs';

const clients = []; // { socket, room, pos, url }
const roomMembers = new Map(); // room id → client indexes
let step = null; // the step being measured, or null between steps
let strayMsgs = 0; // internal_msg outside any step (e.g. late ones from a finished step)

function onMessage(c, m) {
  const s = step;
  const text = typeof m?.msg === 'string' ? m.msg : '';
  const bar1 = text.indexOf('|');
  const bar2 = text.indexOf('|', bar1 + 1);
  if (s === null || bar1 < 0 || bar2 < 0 || Number(text.slice(0, bar1)) !== s.id) {
    if (s) s.late += 1;
    else strayMsgs += 1;
    return;
  }
  const k = Number(text.slice(bar1 + 1, bar2));
  if (!(k >= 0 && k < s.sent)) {
    s.unknown += 1;
    return;
  }
  const sender = s.senderOf[k];
  const client = clients[c];
  if (client.room !== clients[sender].room || m.room_id !== client.room) {
    s.wrongRoom += 1;
    return;
  }
  const slot = k * s.roomSize + client.pos;
  if (s.got[slot]) {
    s.duplicates += 1;
    return;
  }
  s.got[slot] = 1;
  s.delivered += 1;
  if (c !== sender) s.latency.push(performance.now() - s.sentAt[k]);
  s.lastDelivery = performance.now();
}

// Cookies of clients signed in ahead of connecting (the idle scenario separates the two, so the
// memory a sign-in leaves behind is not counted as the connection's).
const preCookies = new Map();

/** A sign-in answered 503 ("try again") is tried again up to this many times, 250 ms apart. */
const LOGIN_RETRIES = 8;

async function loginAll({ urls, count, secure, concurrency = 64, namePrefix }) {
  const t0 = performance.now();
  const base = clients.length;
  const retried0 = loginStats.retried503;
  await pool(count, concurrency, async (j) => {
    const i = base + j;
    preCookies.set(i, await login(urls[i % urls.length], `${namePrefix}${i}`, { secure, retries: LOGIN_RETRIES }));
  });
  return { signedIn: count, ms: Math.round(performance.now() - t0), loginRetried503: loginStats.retried503 - retried0 };
}

async function connectAll({ urls, count, loginNames, secure, join, concurrency = 64, namePrefix }) {
  const t0 = performance.now();
  const errors = {};
  const base = clients.length;
  const retried0 = loginStats.retried503;
  const retriedNet0 = loginStats.retriedNetwork;
  let loginMs = 0;
  await pool(count, concurrency, async (j) => {
    const i = base + j;
    const url = urls[i % urls.length];
    try {
      let cookie = preCookies.get(i) ?? null;
      if (loginNames && cookie === null) {
        const l0 = performance.now();
        cookie = await login(url, `${namePrefix}${i}`, { secure, retries: LOGIN_RETRIES });
        loginMs += performance.now() - l0;
      }
      const socket = await connect(url, cookie);
      const client = { socket, room: null, pos: -1, url };
      clients[i] = client;
      socket.on('internal_msg', (m) => onMessage(i, m));
      socket.on('disconnect', (reason) => {
        client.disconnected = reason;
      });
      if (join) {
        const res = await request(socket, 'join_random', {});
        if (!res?.ok) throw new Error(`join_random refused: ${res?.error}`);
        client.room = res.room_id;
      }
    } catch (err) {
      const key = String(err?.message ?? err).slice(0, 120);
      errors[key] = (errors[key] ?? 0) + 1;
    }
  });
  roomMembers.clear();
  clients.forEach((client, i) => {
    if (!client || client.room === null) return;
    const list = roomMembers.get(client.room) ?? [];
    client.pos = list.length;
    list.push(i);
    roomMembers.set(client.room, list);
  });
  const sizes = [...roomMembers.values()].map((l) => l.length);
  return {
    connected: clients.filter((c) => c && !c.disconnected).length,
    requested: count,
    rooms: roomMembers.size,
    roomSizeMin: sizes.length ? Math.min(...sizes) : 0,
    roomSizeMax: sizes.length ? Math.max(...sizes) : 0,
    errors,
    ms: Math.round(performance.now() - t0),
    loginMsAvg: loginNames ? Math.round((loginMs / count) * 100) / 100 : null,
    // Sign-ins answered 503 and tried again: with a Redis Cluster, a node just started answered
    // some sign-ins 503 ("Connection is closed") while its cluster clients settled.
    loginRetried503: loginStats.retried503 - retried0,
    loginRetriedNetwork: loginStats.retriedNetwork - retriedNet0,
  };
}

async function runStep({ id, rate, durationMs, drainMs = 2000 }) {
  const senders = clients.map((c, i) => (c && c.room !== null && !c.disconnected ? i : -1)).filter((i) => i >= 0);
  if (senders.length === 0) throw new Error('no joined clients to send with');
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const roomSize = Math.max(...[...roomMembers.values()].map((l) => l.length));
  const s = {
    id,
    roomSize,
    sent: 0,
    senderOf: new Int32Array(total),
    sentAt: new Float64Array(total),
    got: new Uint8Array(total * roomSize),
    expected: 0,
    delivered: 0,
    duplicates: 0,
    late: 0,
    unknown: 0,
    wrongRoom: 0,
    acked: 0,
    refused: 0,
    refusedReasons: {},
    latency: new Samples(total * (roomSize - 1) + 1),
    ackLatency: new Samples(total + 1),
    sendLag: new Samples(total + 1),
    lastDelivery: 0,
  };
  step = s;
  // The generator's own stalls (its GC, its CPU) delay when a delivery is read and so are counted
  // as latency; reported per step so a reader can tell them from the server's.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const send = (k, due) => {
    const c = senders[k % senders.length];
    const client = clients[c];
    const now = performance.now();
    s.senderOf[k] = c;
    s.sentAt[k] = now;
    s.sendLag.push(now - due);
    s.sent = k + 1;
    s.expected += roomMembers.get(client.room).length;
    client.socket.emit('text', { room_id: client.room, msg: `${id}|${k}|${now.toFixed(3)}` }, (res) => {
      if (res?.ok) {
        s.acked += 1;
        s.ackLatency.push(performance.now() - s.sentAt[k]);
      } else {
        s.refused += 1;
        s.expected -= roomMembers.get(client.room).length;
        const why = String(res?.error ?? 'no answer');
        s.refusedReasons[why] = (s.refusedReasons[why] ?? 0) + 1;
      }
    });
  };
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
      for (let k = s.sent; k < due; k++) send(k, t0 + (k * 1000) / rate);
      if (s.sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendEnd = performance.now();
  // Drain: wait for every answer and delivery, or give up after drainMs (what is still out is lost).
  while (performance.now() - sendEnd < drainMs && (s.acked + s.refused < s.sent || s.delivered < s.expected)) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  loopDelay.disable();
  step = null;
  const sendSecs = (sendEnd - t0) / 1000;
  const windowSecs = Math.max(sendSecs, durationMs / 1000);
  const perSec = (n) => Math.round(n / windowSecs);
  return {
    id,
    clients: senders.length,
    rate,
    durationMs,
    sent: s.sent,
    offeredPerSec: Math.round(s.sent / sendSecs),
    acked: s.acked,
    ackedPerSec: perSec(s.acked),
    refused: s.refused,
    refusedReasons: s.refusedReasons,
    unacked: s.sent - s.acked - s.refused,
    expected: s.expected,
    delivered: s.delivered,
    deliveredPerSec: perSec(s.delivered),
    missing: Math.max(0, s.expected - s.delivered),
    duplicates: s.duplicates,
    late: s.late,
    wrongRoom: s.wrongRoom + s.unknown,
    latencyMs: summarize(s.latency.values()),
    ackLatencyMs: summarize(s.ackLatency.values()),
    sendLagMs: summarize(s.sendLag.values()),
    drainMs: Math.round(end - sendEnd),
    genCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / (end - t0)) * 1000) / 10,
    // Beyond the 10 ms sampling interval: how late the generator's event loop ran.
    genLoopDelayMs: {
      p99: Math.max(0, Math.round((loopDelay.percentile(99) / 1e6 - 10) * 100) / 100),
      max: Math.max(0, Math.round((loopDelay.max / 1e6 - 10) * 100) / 100),
    },
    genRssMB: Math.round(process.memoryUsage.rss() / 1e5) / 10,
  };
}

async function closeAll() {
  for (const c of clients) c?.socket.close();
  clients.length = 0;
  roomMembers.clear();
}

if (process.send) {
  process.on('message', async (cmd) => {
    try {
      let result;
      if (cmd.type === 'login') result = await loginAll(cmd);
      else if (cmd.type === 'connect') result = await connectAll(cmd);
      else if (cmd.type === 'step') result = await runStep(cmd);
      else if (cmd.type === 'close') {
        await closeAll();
        result = { strayMsgs };
      } else throw new Error(`unknown command ${cmd.type}`);
      process.send({ seq: cmd.seq, ok: true, result });
      if (cmd.type === 'close') process.disconnect();
    } catch (err) {
      process.send({ seq: cmd.seq, ok: false, error: String(err?.stack ?? err) });
    }
  });
  process.send({ ready: true });
} else {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:3000' },
      clients: { type: 'string', default: '100' },
      rate: { type: 'string', default: '1000' },
      duration: { type: 'string', default: '5' },
      bare: { type: 'boolean', default: false },
      secure: { type: 'boolean', default: false },
    },
  });
  const conn = await connectAll({
    urls: values.url.split(','),
    count: Number(values.clients),
    loginNames: !values.bare,
    secure: values.secure,
    join: true,
    namePrefix: `loadgen-${process.pid}-`,
  });
  if (conn.rooms === 0) {
    console.error(JSON.stringify({ connect: conn }, null, 2));
    process.exit(1);
  }
  const result = await runStep({ id: 1, rate: Number(values.rate), durationMs: Number(values.duration) * 1000 });
  console.log(JSON.stringify({ connect: conn, step: result }, null, 2));
  await closeAll();
}
