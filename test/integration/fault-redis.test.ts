/**
 * Fault: Redis goes away for some seconds and comes back, with two app processes on it. A private
 * redis-server (test/helpers/redis-server.ts) with config/redis.conf's persistence is stopped —
 * never the machine's shared Redis. While it is down, `text` answers a clear error within
 * STORE_TIMEOUT_MS plus a margin and /healthz says 503; afterwards the nodes resume by themselves
 * (acks, and cross-node delivery through the re-subscribed adapter), and every message
 * acknowledged before the outage is still in history after Redis restarted from its AOF.
 * Two outages: a clean SHUTDOWN, then a SIGKILL of Redis under traffic.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERRORS } from '../../src/shared/limits.js';
import type { Message } from '../../src/shared/types.js';
import { createChat, emitAck, login, type ChatClient } from '../helpers/client.js';
import { startPrivateRedis, redisServerSkip, type PrivateRedis } from '../helpers/redis-server.js';
import { newPrefix, startServer, type TestServer } from '../helpers/server.js';
import { figures, newLog, openPage, readAll, sendLoop, waitFor, type OpenPage, type SendLog } from './fault-kit.js';

const STORE_TIMEOUT_MS = 1000;
/** Event-loop and scheduling slack on a shared 2-core machine. */
const MARGIN_MS = 1500;
const OUTAGE_MS = 5000;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - start) };
}

async function healthz(url: string): Promise<{ status: number; ms: number }> {
  const { value, ms } = await timed(() => fetch(`${url}/healthz`));
  await value.body?.cancel();
  return { status: value.status, ms };
}

describe('fault: Redis down for some seconds, then back', { skip: redisServerSkip, timeout: 120_000 }, () => {
  let redis: PrivateRedis;
  let a: TestServer;
  let b: TestServer;
  let room = '';
  // Pages as the browser runs them: they reconnect by themselves and then catch up.
  let pageA: OpenPage;
  let pageB: OpenPage;
  let onA: ChatClient;
  let onB: ChatClient;
  const liveOnB: Message[] = [];
  const ackedBefore: SendLog = newLog();

  before(async () => {
    redis = await startPrivateRedis();
    const prefix = newPrefix();
    const env = {
      REDIS_URL: redis.url,
      STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      RATE_LIMIT_COUNT: '1000000',
      HISTORY_KEEP: '100000',
    };
    [a, b] = await Promise.all([startServer({ prefix, env }), startServer({ prefix, env })]);
    const ua = await login(a.url, 'outage-a');
    const ub = await login(b.url, 'outage-b');
    room = (await createChat(a.url, ua.cookie, 'outage', [ub.uid])).body.room_id!;
    pageA = await openPage(a.url, ua.cookie, room);
    pageB = await openPage(b.url, ub.cookie, room);
    // A node whose adapter subscriber is back tells its sockets to catch up (`resync`) instead of
    // dropping their connections; the pages then catch up as the browser does.
    for (const p of [pageA, pageB]) {
      p.socket.on('resync', () => {
        p.page.resumeAfter ??= p.page.lastId();
        p.syncing = p.page.catchUp(p.socket).catch((err: unknown) => p.errors.push(String(err)));
      });
    }
    onA = pageA.socket;
    onB = pageB.socket;
    onB.on('internal_msg', (m) => liveOnB.push(m));
  });
  after(async () => {
    pageA?.socket.close();
    pageB?.socket.close();
    await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
    await redis?.destroy();
  });

  /** Sends from A until one is acknowledged and B hears it live; returns when and how many tries. */
  async function waitResumed(tag: string): Promise<{ ackMs: number; crossNodeMs: number; tries: number }> {
    const start = Date.now();
    let ackMs = -1;
    for (let tries = 1; tries <= 100; tries++) {
      const msg = `${tag}-probe-${tries}`;
      const res = await emitAck<{ id: string }>(onA, 'text', { room_id: room, msg }, 5000).catch(() => null);
      if (res?.ok) {
        if (ackMs < 0) ackMs = Date.now() - start;
        const heard = await waitFor(() => liveOnB.some((m) => m.id === res.id), 1000, 'B').then(
          () => true,
          () => false,
        );
        if (heard) return { ackMs, crossNodeMs: Date.now() - start, tries };
      } else {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`${tag}: service did not resume within 100 tries`);
  }

  /** While Redis is down: `text` and /healthz answer within the bound, and refuse. */
  async function probeDown(tag: string): Promise<void> {
    const textMs: number[] = [];
    const errors = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { value, ms } = await timed(() =>
        emitAck(onA, 'text', { room_id: room, msg: `${tag}-down-${i}` }, STORE_TIMEOUT_MS + MARGIN_MS + 2000),
      );
      textMs.push(ms);
      assert.equal(value.ok, false, `${tag}: text must not be acknowledged while Redis is down`);
      if (!value.ok) errors.add(value.error);
    }
    const health = await Promise.all([healthz(a.url), healthz(b.url)]);
    const historyDown = await timed(() => emitAck(onB, 'history', { room_id: room }, 10_000));
    console.log(
      `[fault-redis] ${tag} while down: ${figures({
        textAckMs: textMs,
        textErrors: [...errors],
        healthz: health.map((h) => `${h.status}/${h.ms}ms`),
        historyAck: `${JSON.stringify(historyDown.value).slice(0, 60)}/${historyDown.ms}ms`,
        bound: STORE_TIMEOUT_MS + MARGIN_MS,
      })}`,
    );
    assert.deepEqual([...errors], [ERRORS.unavailable]);
    assert.ok(Math.max(...textMs) < STORE_TIMEOUT_MS + MARGIN_MS, `text answered within the bound: ${textMs}`);
    for (const h of health) {
      assert.equal(h.status, 503);
      assert.ok(h.ms < STORE_TIMEOUT_MS + MARGIN_MS, `healthz within the bound: ${h.ms}`);
    }
    assert.equal(historyDown.value.ok, false);
  }

  /** Both pages end up showing exactly what history holds, each id once. */
  async function checkPages(tag: string, storedIds: string[]): Promise<void> {
    await waitFor(
      () => [pageA, pageB].every((p) => p.socket.connected && p.page.shown.size >= storedIds.length),
      15_000,
      `${tag}: pages to show every stored message`,
    ).catch(() => {});
    await Promise.all([pageA.syncing, pageB.syncing]);
    for (const [name, p] of [
      ['A', pageA],
      ['B', pageB],
    ] as const) {
      const missing = storedIds.filter((id) => !p.page.shown.has(id));
      console.log(
        `[fault-redis] ${tag} page on ${name}: ${figures({
          shown: p.page.shown.size,
          missing: missing.length,
          reconnects: p.reconnects,
          caughtUp: p.page.caughtUp,
          liveDuplicates: p.page.liveDuplicates,
          errors: p.errors,
        })}`,
      );
      assert.deepEqual(missing, [], `${tag}: page on ${name} misses no stored message`);
      assert.deepEqual(p.page.ids(), storedIds);
      assert.equal(p.page.liveDuplicates, 0);
      assert.deepEqual(p.errors, []);
    }
  }

  it('clean SHUTDOWN and restart: bounded refusals while down, resumes alone, nothing acked lost', async () => {
    await sendLoop(onA, room, 'before1', ackedBefore, () => false, { max: 40 });
    await sendLoop(onB, room, 'before1b', ackedBefore, () => false, { max: 40 });
    assert.equal(ackedBefore.acked.length, 80);
    await waitFor(() => liveOnB.length >= 80, 5000, 'cross-node delivery before the outage');

    await redis.stop();
    const downAt = Date.now();
    await probeDown('shutdown');
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    await redis.start();
    const resumed = await waitResumed('shutdown');
    const health = await Promise.all([healthz(a.url), healthz(b.url)]);

    const stored = await readAll(onB, room);
    const ids = new Set(stored.map((m) => m.id));
    const lost = ackedBefore.acked.filter((m) => !ids.has(m.id));
    console.log(
      `[fault-redis] shutdown: ${figures({
        sentBefore: ackedBefore.sent.length,
        ackedBefore: ackedBefore.acked.length,
        downForMs: OUTAGE_MS,
        firstAckAfterRestartMs: resumed.ackMs,
        crossNodeAfterRestartMs: resumed.crossNodeMs,
        probes: resumed.tries,
        healthzAfter: health.map((h) => h.status),
        foundInHistory: stored.length,
        lostAcked: lost.length,
        persistence: redis.settings,
      })}`,
    );
    assert.deepEqual(lost, []);
    assert.deepEqual(
      health.map((h) => h.status),
      [200, 200],
    );
    await checkPages(
      'shutdown',
      stored.map((m) => m.id),
    );
  });

  it('SIGKILL of Redis under traffic: refusals only, every ack survives the restart from the AOF', async () => {
    const log = newLog();
    let stop = false;
    const liveBefore = liveOnB.length;
    const loop = sendLoop(onA, room, 'kill', log, () => stop, { gapMs: 2, ackMs: STORE_TIMEOUT_MS + MARGIN_MS + 2000 });
    await waitFor(() => log.acked.length >= 100, 20_000, '100 acks before killing Redis');
    await redis.kill();
    const downAt = Date.now();
    const ackedAtKill = log.acked.length;
    await waitFor(() => log.refused.length >= 3, 10_000, 'refusals while Redis is dead');
    stop = true;
    await loop;
    await probeDown('sigkill');
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    await redis.start();
    const resumed = await waitResumed('sigkill');

    const stored = await readAll(onB, room);
    const ids = new Set(stored.map((m) => m.id));
    const lost = [...ackedBefore.acked, ...log.acked].filter((m) => !ids.has(m.id));
    const ackedTexts = new Set(log.acked.map((m) => m.msg));
    const storedUnacked = stored.filter((m) => m.msg.startsWith('kill-') && !ackedTexts.has(m.msg)).length;
    const heardLive = new Set(liveOnB.slice(liveBefore).map((m) => m.id));
    const missedLive = log.acked.filter((m) => !heardLive.has(m.id)).length;
    console.log(
      `[fault-redis] sigkill: ${figures({
        sent: log.sent.length,
        acked: log.acked.length,
        ackedWhenKilled: ackedAtKill,
        refused: log.refused.length,
        refusals: [...new Set(log.refused.map((r) => r.error))],
        firstAckAfterRestartMs: resumed.ackMs,
        crossNodeAfterRestartMs: resumed.crossNodeMs,
        foundInHistory: stored.length,
        lostAcked: lost.length,
        storedButNeverAcked: storedUnacked,
        ackedButNotHeardLiveOnB: missedLive,
      })}`,
    );
    assert.deepEqual(lost, [], 'every acknowledged message survives a SIGKILL of Redis');
    assert.deepEqual([...new Set(log.refused.map((r) => r.error))], [ERRORS.unavailable]);
    await checkPages(
      'sigkill',
      stored.map((m) => m.id),
    );
  });
});
