/**
 * `npm run bench` keeps working: a quick run of its throughput, scale-out, idle and page scenarios
 * against the test Redis, each ladder a single step at its lowest rate (BENCH_RATES), checked for
 * what must hold whatever the machine's speed — every delivery once at that step, for one server,
 * for two servers on one Redis and for two servers on the bench's private Redis Cluster, an idle
 * figure per socket, and a `GET /chat` whose Redis round trips do not grow from 5 to 50 rooms.
 * No timing is asserted: speed is the bench's to report, not a test's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redisSkip, redisUrl } from '../helpers/redis.js';
import { redisClusterSkip } from '../helpers/redis-cluster.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Step {
  rate: number;
  sent: number;
  acked: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  wrongRoom: number;
}
interface Ladder {
  steps: Step[];
}
interface BenchResult {
  throughput: { repeats: { chat: Ladder; bare: Ladder }[] };
  scaleOut: {
    clusterError?: string;
    clusterNodes?: { masters: unknown[]; replicas: unknown[] };
    repeats: { standalone?: Ladder & { error?: string }; cluster?: Ladder & { error?: string } }[];
  };
  idle: {
    points: { sockets: number; perClientKB: number; heapPerClientKB: number }[];
    error?: string;
    growth: { error?: string; sockets: { chat: number; bare: number }; chatKB: number; bareKB: number };
  };
  page: {
    points: {
      rooms: number;
      redisCommandsPerRequest: number;
      redisRoundTripsPerRequest: number;
      commandsByName: Record<string, number>;
      check: { roomsShown: number; newestShown: number };
      paint?: { fcpMs?: number | null; skipped?: string };
    }[];
    weight?: { gzipKB: number; files: unknown[] };
  };
}

function runBench(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bench/run.mjs'], {
      cwd: root,
      env: {
        ...process.env,
        BENCH_QUICK: '1',
        BENCH_REPEAT: '1',
        BENCH_ONLY: 'throughput,scaleout,idle,page',
        // One step per ladder: what is asserted is the first step, and the cluster's ladder
        // must cost seconds, not a minute.
        BENCH_RATES: '500',
        BENCH_REDIS_URL: redisUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('npm run bench (quick smoke run)', { skip: redisSkip }, () => {
  test('runs to the end and its figures hold what must hold', { timeout: 240_000 }, async () => {
    const { code, out } = await runBench();
    assert.equal(code, 0, out.slice(-3000));
    const file = /wrote (bench\/results\/\S+\.json)/.exec(out)?.[1];
    assert.ok(file, `no results file named in:\n${out.slice(-2000)}`);
    const res = JSON.parse(readFileSync(path.join(root, file), 'utf8')) as BenchResult;

    const [rep] = res.throughput.repeats;
    assert.ok(rep, 'one throughput repeat');
    const exactlyOnce = (target: string, ladder: (Ladder & { error?: string }) | undefined): void => {
      assert.equal(ladder?.error, undefined, `${target}: ${ladder?.error}`);
      const first: Step | undefined = ladder?.steps[0];
      assert.ok(first, `${target}: a first step`);
      assert.ok(first.sent > 0 && first.acked === first.sent, `${target}: every message acknowledged`);
      assert.equal(first.delivered, first.expected, `${target}: every member got every message`);
      assert.equal(first.missing + first.duplicates + first.wrongRoom, 0, `${target}: none lost, doubled or misrouted`);
    };
    for (const target of ['chat', 'bare'] as const) exactlyOnce(target, rep[target]);

    // Two chat processes, on one Redis and on a Redis Cluster of 3 masters + 3 replicas.
    const [scale] = res.scaleOut.repeats;
    assert.ok(scale, 'one scale-out repeat');
    exactlyOnce('2 processes, standalone Redis', scale.standalone);
    if (!redisClusterSkip) {
      assert.equal(res.scaleOut.clusterError, undefined);
      assert.equal(res.scaleOut.clusterNodes?.masters.length, 3);
      assert.equal(res.scaleOut.clusterNodes?.replicas.length, 3);
      exactlyOnce('2 processes, Redis Cluster', scale.cluster);
    }

    assert.equal(res.idle.error, undefined);
    const [idle] = res.idle.points;
    assert.ok(idle && idle.sockets >= 500, 'idle sockets connected');
    assert.ok(Number.isFinite(idle.perClientKB) && Number.isFinite(idle.heapPerClientKB));
    assert.ok(idle.heapPerClientKB > 0, 'an open socket keeps some heap');
    const growth = res.idle.growth;
    assert.equal(growth?.error, undefined, growth?.error);
    assert.ok(growth.sockets.chat >= 200 && growth.sockets.bare >= 200, 'idle growth sockets connected');
    assert.ok(Number.isFinite(growth.chatKB) && Number.isFinite(growth.bareKB));

    const [few, many] = res.page.points;
    assert.ok(few && many && few.rooms < many.rooms);
    for (const p of [few, many]) assert.equal(p.check.roomsShown, p.rooms, `${p.rooms} rooms on the page`);
    // The page as a browser gets it: its scripts and styles, and (with Chromium) its first paint.
    assert.ok((res.page.weight?.gzipKB ?? 0) > 0 && (res.page.weight?.files.length ?? 0) >= 5, 'page weight measured');
    if (process.env.CHROMIUM_PATH)
      assert.ok((many.paint?.fcpMs ?? 0) > 0, `first paint: ${JSON.stringify(many.paint)}`);
    // Every room's newest entry is read, all sent together: the round trips do not grow with the
    // rooms. On one Redis (this smoke run) the entries of up to a hundred rooms go in one script
    // (NEWEST_ENTRIES), so the commands the server sends grow by one per hundred rooms.
    assert.equal(
      many.redisRoundTripsPerRequest,
      few.redisRoundTripsPerRequest,
      'page round trips do not grow with rooms',
    );
    assert.ok(
      many.redisCommandsPerRequest - few.redisCommandsPerRequest <= Math.ceil(many.rooms / 100),
      `commands sent: ${few.redisCommandsPerRequest} at ${few.rooms} rooms, ${many.redisCommandsPerRequest} at ${many.rooms}`,
    );
    for (const p of [few, many]) assert.equal(p.check.newestShown, p.rooms, `${p.rooms} rooms' newest messages shown`);
  });
});
