/**
 * Graceful shutdown: SIGTERM to one of two chat processes on one Redis while clients on both keep
 * sending. The stopped process must finish what it acknowledged (every acknowledged message is in
 * `history` afterwards), close its clients' transports so they reconnect (here: to the other
 * process, the client knowing both addresses), and exit 0 within a bound. Run for an `npm start`
 * process and for the cluster entry (its primary stops its workers).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, createChat, emitAck, login, type ChatClient, type SignedIn } from '../helpers/client.js';
import { cleanRedis, newPrefix, redisSkip, root, startServer, testRedisUrl } from '../helpers/server.js';
import { figures, newLog, readAll, sendLoop, waitFor, type SendLog } from './fault-kit.js';

// HISTORY_KEEP high: the rooms take over 1,000 messages, and trimming is not loss.
const env = { RATE_LIMIT_COUNT: '1000000', HISTORY_KEEP: '100000' };
/** server.ts drains for at most 10 s; the whole exit must fit in this. */
const EXIT_BOUND_MS = 15_000;

interface Node {
  url: string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  output(): string;
}

/** `node dist/cluster.js` with two workers, as a Node. */
function startCluster(prefix: string): Promise<Node> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(process.execPath, [path.join(root, 'dist', 'cluster.js')], {
      cwd: root,
      env: {
        ...process.env,
        ...env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        PORT: '0',
        WEB_CONCURRENCY: '2',
        REDIS_URL: testRedisUrl,
        REDIS_PREFIX: prefix,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`cluster did not start in 45 s:\n${out.join('')}`));
    }, 45_000);
    proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out.push(d.toString());
      const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out.join(''));
      if (m) {
        clearTimeout(timer);
        resolve({
          url: `http://127.0.0.1:${m[1]}`,
          stop: () => (proc.exitCode === null && proc.signalCode === null && proc.kill('SIGTERM'), exited),
          output: () => out.join(''),
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`cluster exited (${code}) before listening:\n${out.join('')}`));
    });
  });
}

/** Clients on both nodes send without pause; `stopped` gets SIGTERM once 100 are acknowledged. */
async function sigtermMidTraffic(label: string, prefix: string, stopped: Node, survivor: Node, sockets: ChatClient[]) {
  const names = ['A1', 'A2', 'B1', 'B2'].map((n) => `${label}${n}`);
  const users: SignedIn[] = [];
  for (const n of names) users.push(await login(stopped.url, `${n}-${prefix}`));
  const { status, body } = await createChat(
    stopped.url,
    users[0]!.cookie,
    'sigterm',
    users.slice(1).map((u) => u.uid),
  );
  assert.equal(status, 200, JSON.stringify(body));
  const room = body.room_id!;
  // Users 0 and 1 on the process that is stopped, 2 and 3 on the one that stays.
  const home = (i: number): Node => (i < 2 ? stopped : survivor);
  const other = (i: number): Node => (i < 2 ? survivor : stopped);
  const logs: SendLog[] = users.map(() => newLog());
  const first: ChatClient[] = [];
  const closed: { reason: string; at: number }[] = [];
  for (const [i, u] of users.entries()) {
    const s = await connect(home(i).url, u.cookie);
    sockets.push(s);
    s.once('disconnect', (reason) => (closed[i] = { reason, at: Date.now() }));
    assert.equal((await emitAck(s, 'joined', {})).ok, true);
    first.push(s);
  }

  let done = false;
  const loops = users.map((_, i) => sendLoop(first[i]!, room, `${names[i]}:1`, logs[i]!, () => done, { gapMs: 2 }));
  const ackedNow = (): number => logs.reduce((n, l) => n + l.acked.length, 0);
  await waitFor(() => ackedNow() >= 100, 20_000, '100 acks before SIGTERM');
  const ackedBeforeTerm = ackedNow();
  const ackedByStoppedBeforeTerm = logs[0]!.acked.length + logs[1]!.acked.length;

  const termAt = Date.now();
  const exit = stopped.stop().then((code) => ({ code, ms: Date.now() - termAt }));

  // The stopped process's clients see their transport close and reconnect to the other one.
  const moved: ChatClient[] = [];
  for (const i of [0, 1]) {
    await waitFor(() => closed[i] !== undefined, EXIT_BOUND_MS, `client ${names[i]} to be disconnected`);
    const s = await connect(other(i).url, users[i]!.cookie);
    sockets.push(s);
    assert.equal((await emitAck(s, 'joined', {})).ok, true, 'joined on the other process');
    moved.push(s);
  }
  const movedWithinMs = Date.now() - termAt;
  const second = moved.map((s, k) => sendLoop(s, room, `${names[k]}:2`, logs[k]!, () => done, { gapMs: 2 }));
  const { code, ms: exitMs } = await exit;
  await new Promise((r) => setTimeout(r, 1000));
  done = true;
  await Promise.all([...loops, ...second]);

  const stored = await readAll(moved[0]!, room);
  const storedIds = new Set(stored.map((m) => m.id));
  const textOf = new Map(stored.map((m) => [m.id, m.msg]));
  const acked = logs.flatMap((l) => l.acked);
  const lost = acked.filter((m) => !storedIds.has(m.id));
  const wrongText = acked.filter((m) => storedIds.has(m.id) && textOf.get(m.id) !== m.msg);
  const ackedTexts = new Set(acked.map((m) => m.msg));
  const out = stopped.output();

  console.log(
    `[shutdown ${label}] ${figures({
      sent: logs.reduce((n, l) => n + l.sent.length, 0),
      acked: acked.length,
      ackedBeforeSigterm: ackedBeforeTerm,
      ackedForMovedUsersAfterSigterm: logs[0]!.acked.length + logs[1]!.acked.length - ackedByStoppedBeforeTerm,
      refusedOrNoAck: logs.reduce((n, l) => n + l.refused.length, 0),
      refusals: [...new Set(logs.flatMap((l) => l.refused.map((r) => r.error)))],
      foundInHistory: stored.length,
      lostAcked: lost.length,
      storedButNeverAcked: stored.filter((m) => m.type === 'user' && !ackedTexts.has(m.msg)).length,
      disconnectReasons: [closed[0]?.reason, closed[1]?.reason],
      disconnectedAfterMs: [0, 1].map((i) => (closed[i] ? closed[i].at - termAt : null)),
      movedWithinMs,
      exitCode: code,
      exitMs,
    })}`,
  );

  assert.deepEqual(lost, [], 'every acknowledged message is in history');
  assert.deepEqual(wrongText, [], 'with the text that was acknowledged');
  assert.equal(storedIds.size, stored.length, 'no id twice in history');
  assert.equal(code, 0, `exit code 0 on SIGTERM; output:\n${out.slice(-2000)}`);
  assert.ok(exitMs < EXIT_BOUND_MS, `exited within ${EXIT_BOUND_MS} ms (took ${exitMs})`);
  assert.match(out, /"msg":"shutting down"/);
  assert.match(out, /"msg":"shut down"/);
  // The engine closed the transport: a stock client would reconnect by itself (a server-side
  // disconnect, "io server disconnect", would stop it from reconnecting).
  for (const i of [0, 1]) assert.equal(closed[i]?.reason, 'transport close', `${names[i]}: disconnect reason`);
  for (const i of [2, 3]) {
    assert.equal(closed[i], undefined, `${names[i]} on the other process stays connected`);
    assert.deepEqual(logs[i]!.refused, [], `${names[i]} on the other process: every send acknowledged`);
  }
  assert.ok(
    logs[0]!.acked.some((m) => m.msg.includes(':2-')) && logs[1]!.acked.some((m) => m.msg.includes(':2-')),
    'the moved clients sent through the other process',
  );
}

describe('graceful shutdown: SIGTERM mid-traffic', { skip: redisSkip, timeout: 180_000 }, () => {
  const prefixes: string[] = [];
  const nodes: Node[] = [];
  const sockets: ChatClient[] = [];
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all(nodes.map((n) => n.stop()));
    for (const p of prefixes) await cleanRedis(p);
  });

  it('npm start: loses no acknowledged message, moves its clients to the other process, exits 0', async () => {
    const prefix = newPrefix();
    prefixes.push(prefix);
    const stopped = await startServer({ redis: true, prefix, env });
    nodes.push(stopped);
    const survivor = await startServer({ redis: true, prefix, env });
    nodes.push(survivor);
    await sigtermMidTraffic('start', prefix, stopped, survivor, sockets);
  });

  it('cluster: the primary stops its workers gracefully; same guarantees', async () => {
    const prefix = newPrefix();
    prefixes.push(prefix);
    const stopped = await startCluster(prefix);
    nodes.push(stopped);
    const survivor = await startServer({ redis: true, prefix, env });
    nodes.push(survivor);
    await sigtermMidTraffic('cluster', prefix, stopped, survivor, sockets);
    assert.match(stopped.output(), /"exitCodes":\[0,0\]/, 'both workers exited 0');
  });
});
