/**
 * Fault: one of two app processes on one Redis is SIGKILLed while clients on both are sending.
 * Every acknowledged message must be in `history` afterwards; the killed node's clients connect
 * to the surviving node with the same cookie (sessions live in Redis), catch up with
 * `history {after}`, and no page shows an id twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, createChat, emitAck, login, type ChatClient, type SignedIn } from '../helpers/client.js';
import { cleanRedis, newPrefix, redisSkip, startServer, type TestServer } from '../helpers/server.js';
import { figures, newLog, PageView, readAll, sendLoop, waitFor, type SendLog } from './fault-kit.js';

// History kept well above what the test sends, so trimming (HISTORY_KEEP) cannot pass for loss.
const env = { RATE_LIMIT_COUNT: '1000000', HISTORY_KEEP: '100000' };

describe('fault: SIGKILL of one app process mid-traffic', { skip: redisSkip, timeout: 90_000 }, () => {
  const prefix = newPrefix();
  let a: TestServer;
  let b: TestServer;
  const sockets: ChatClient[] = [];

  before(async () => {
    [a, b] = await Promise.all([startServer({ redis: true, prefix, env }), startServer({ redis: true, prefix, env })]);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a?.kill('SIGKILL'), b?.stop()]);
    await cleanRedis(prefix);
  });

  it('loses no acknowledged message; clients move to the survivor and catch up without duplicates', async () => {
    const names = ['kA1', 'kA2', 'kB1', 'kB2'];
    const users: SignedIn[] = [];
    for (const n of names) users.push(await login(a.url, `${n}-${prefix}`));
    const { body } = await createChat(
      a.url,
      users[0]!.cookie,
      'kill',
      users.slice(1).map((u) => u.uid),
    );
    const room = body.room_id!;
    // Users 0 and 1 on the node that dies, 2 and 3 on the survivor.
    const home = (i: number): TestServer => (i < 2 ? a : b);
    const pages = users.map(() => new PageView(room));
    const logs: SendLog[] = users.map(() => newLog());
    const first: ChatClient[] = [];
    for (const [i, u] of users.entries()) {
      const s = await connect(home(i).url, u.cookie);
      sockets.push(s);
      pages[i]!.attach(s);
      const j = await emitAck(s, 'joined', {});
      assert.equal(j.ok, true);
      // The page opens with what the server rendered: here, the history so far.
      await pages[i]!.catchUp(s);
      first.push(s);
    }

    let phase: 'before' | 'after' | 'done' = 'before';
    const loops = users.map((_, i) =>
      sendLoop(first[i]!, room, `${names[i]}:1`, logs[i]!, () => phase === 'done', { gapMs: 5 }),
    );
    await waitFor(() => logs.reduce((n, l) => n + l.acked.length, 0) >= 150, 20_000, '150 acks before the kill');
    const ackedBeforeKill = logs.reduce((n, l) => n + l.acked.length, 0);
    await a.kill('SIGKILL');
    const killedAt = Date.now();

    // The killed node's clients come back on the survivor with the same cookie and catch up.
    const moved: ChatClient[] = [];
    const caught: number[] = [];
    for (const i of [0, 1]) {
      await waitFor(() => !first[i]!.connected, 10_000, `client ${i} to notice the kill`);
      const s = await connect(b.url, users[i]!.cookie);
      sockets.push(s);
      pages[i]!.attach(s);
      const j = await emitAck(s, 'joined', {});
      assert.equal(j.ok, true, 'joined on the survivor');
      caught.push(await pages[i]!.catchUp(s));
      moved.push(s);
    }
    const movedAfterMs = Date.now() - killedAt;
    phase = 'after';
    const second = moved.map((s, k) =>
      sendLoop(s, room, `${names[k]}:2`, logs[k]!, () => phase === 'done', { gapMs: 5 }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    phase = 'done';
    await Promise.all([...loops, ...second]);

    const stored = await readAll(moved[0]!, room);
    const storedIds = stored.map((m) => m.id);
    const storedSet = new Set(storedIds);
    const acked = logs.flatMap((l) => l.acked);
    const lost = acked.filter((m) => !storedSet.has(m.id));
    const textOf = new Map(stored.map((m) => [m.id, m.msg]));
    const wrongText = acked.filter((m) => storedSet.has(m.id) && textOf.get(m.id) !== m.msg);
    const ackedTexts = new Set(acked.map((m) => m.msg));
    const storedUnacked = stored.filter((m) => m.type === 'user' && !ackedTexts.has(m.msg)).length;
    const storedDuplicates = storedIds.length - storedSet.size;

    // Every page ends up showing the room exactly as history has it (live messages after the
    // catch-up arrive by internal_msg).
    await waitFor(
      () => pages.every((p) => p.shown.size >= storedSet.size),
      10_000,
      'pages to show every message',
    ).catch(() => {});
    for (const [i, p] of pages.entries()) {
      console.log(
        `[fault-kill] page ${names[i]}: ${figures({
          shown: p.shown.size,
          liveDuplicates: p.liveDuplicates,
          liveOutOfOrder: p.liveOutOfOrder,
          caughtUp: p.caughtUp,
          catchUpOverlapMerged: p.catchUpOverlap,
          historyPages: p.pages,
        })}`,
      );
    }
    console.log(
      `[fault-kill] ${figures({
        sent: logs.reduce((n, l) => n + l.sent.length, 0),
        acked: acked.length,
        ackedBeforeKill,
        refusedOrNoAck: logs.reduce((n, l) => n + l.refused.length, 0),
        refusals: [...new Set(logs.flatMap((l) => l.refused.map((r) => r.error)))],
        foundInHistory: stored.length,
        lostAcked: lost.length,
        wrongText: wrongText.length,
        storedButNeverAcked: storedUnacked,
        historyDuplicateIds: storedDuplicates,
        caughtUpOnSurvivor: caught,
        movedWithinMs: movedAfterMs,
      })}`,
    );

    assert.ok(acked.length > ackedBeforeKill, 'traffic continued on the survivor');
    assert.deepEqual(lost, [], 'every acknowledged message is in history');
    assert.deepEqual(wrongText, []);
    assert.equal(storedDuplicates, 0);
    for (const [i, p] of pages.entries()) {
      assert.equal(p.liveDuplicates, 0, `${names[i]}: no id delivered twice on one socket`);
      assert.equal(p.liveOutOfOrder, 0, `${names[i]}: live delivery in id order`);
      assert.deepEqual(p.ids(), storedIds, `${names[i]}: the page shows history exactly, each id once`);
    }
    // Only the killed node's sockets may have lost acks; the survivor's clients lost none.
    for (const i of [2, 3]) assert.deepEqual(logs[i]!.refused, [], `${names[i]} on the survivor: every send acked`);
  });
});
