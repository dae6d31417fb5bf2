/**
 * Property-based fuzzing (fast-check) of every client event's payload against a real node:
 * wrong types, huge strings, deep nesting, `__proto__` / `constructor` / `prototype` own keys,
 * unicode edge cases, binary attachments, arrays, null, numbers. Every answer must be the one a
 * model of the contract predicts (`{ok: true, ...}` or the contract's refusal in its order); the
 * node stays up; refused events change nothing in the store (every Redis key under the run's
 * prefix is compared before and after) and reach nobody; Object.prototype stays clean.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ERRORS, LIMITS } from '../../src/shared/limits.js';
import { connect, createChat, emitAck, login, marker, record, type ChatClient } from '../helpers/client.js';
import { cleanRedis, redisSkip, startInProcess, testRedisUrl, type InProcessServer } from '../helpers/server.js';
import { readAll } from './fault-kit.js';

const EVENTS = [
  'joined',
  'text',
  'join_random',
  'exit_room',
  'history',
  'typing',
  'catch_up',
  'read',
  'members',
] as const;
type EventName = (typeof EVENTS)[number];
const RUNS = Number(process.env.FUZZ_RUNS ?? 600);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

/** Strings that have broken chat servers: lone surrogates, bidi overrides, zero-width, emoji, NUL. */
const NASTY = [
  '\uD800',
  'a\uDC00b',
  '\u202Eevil\u202C',
  '\u200B',
  '\u200B\u200C\u200D\uFEFF',
  '👍🏽👨‍👩‍👧‍👦',
  'e\u0301\u0301\u0301',
  '\u0000',
  'مرحبا',
  '<script>alert(1)</script>',
  '{{ 7*7 }}',
  '%s%n',
  '../../etc/passwd',
  '\r\n\t',
  '   ',
  '',
];

const POLLUTING = [
  '{"__proto__": {"room_id": "%R", "msg": "polluted", "polluted": true}}',
  '{"constructor": {"prototype": {"room_id": "%R", "polluted": true}}}',
  '{"room_id": "%R", "__proto__": {"msg": "polluted"}}',
  '{"room_id": "%R", "msg": "x", "__proto__": {"ok": false, "uid": "someone"}}',
  '{"prototype": {"room_id": "%R"}, "__proto__": null}',
  '{"__proto__": {"limit": 5, "after": "0-0"}, "room_id": "%R"}',
];

function deep(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

/** Contract order: invalid payload, not a member, invalid message; anything else is accepted. */
function expected(event: EventName, p: unknown, memberRooms: Set<string>): string | 'ok' {
  const isPlain = typeof p === 'object' && p !== null && !Array.isArray(p) && !Buffer.isBuffer(p);
  if (!isPlain) return ERRORS.invalidPayload;
  if (event === 'joined' || event === 'join_random') return 'ok';
  const o = p as Record<string, unknown>;
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
  const isId = (v: unknown): boolean => typeof v === 'string' && /^\d{1,20}-\d{1,20}$/.test(v);
  const isRoomId = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 200;
  if (event === 'catch_up') {
    const rooms = has('rooms') ? o.rooms : undefined;
    if (!Array.isArray(rooms) || rooms.length < 1 || rooms.length > LIMITS.catchUpMaxRooms)
      return ERRORS.invalidPayload;
    const ok = rooms.every((r: unknown) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r) || Buffer.isBuffer(r)) return false;
      const e = r as Record<string, unknown>;
      const own = (k: string): unknown => (Object.prototype.hasOwnProperty.call(e, k) ? e[k] : undefined);
      return isRoomId(own('room_id')) && isId(own('after'));
    });
    return ok ? 'ok' : ERRORS.invalidPayload;
  }
  const roomId = has('room_id') ? o.room_id : undefined;
  if (!isRoomId(roomId)) return ERRORS.invalidPayload;
  if (event === 'text' && has('client_id') && o.client_id !== undefined) {
    if (typeof o.client_id !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(o.client_id)) return ERRORS.invalidPayload;
  }
  if (event === 'read' && !(has('id') && isId(o.id))) return ERRORS.invalidPayload;
  if (event === 'history') {
    if (has('before') && o.before !== undefined && !isId(o.before)) return ERRORS.invalidPayload;
    if (has('after') && o.after !== undefined && !isId(o.after)) return ERRORS.invalidPayload;
    if (has('limit') && o.limit !== undefined) {
      const l = o.limit;
      if (typeof l !== 'number' || !Number.isInteger(l) || l <= 0) return ERRORS.invalidPayload;
    }
    if (o.before !== undefined && o.after !== undefined) return ERRORS.invalidPayload;
  }
  if (!memberRooms.has(roomId as string)) return ERRORS.notMember;
  if (event === 'text') {
    const msg = has('msg') ? o.msg : undefined;
    if (typeof msg !== 'string') return ERRORS.invalidMessage;
    const t = msg.trim();
    if (t.length === 0 || t.length > LIMITS.msgMaxChars) return ERRORS.invalidMessage;
  }
  return 'ok';
}

/** Every key under the prefix with its full content (TTLs left out: sessions get touched). */
async function dumpStore(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let v: unknown;
      if (type === 'string') v = await redis.get(key);
      else if (type === 'hash') v = Object.entries(await redis.hgetall(key)).sort();
      else if (type === 'set') v = (await redis.smembers(key)).sort();
      else if (type === 'zset') v = await redis.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'stream') v = await redis.xrange(key, '-', '+');
      else if (type === 'list') v = await redis.lrange(key, 0, -1);
      out.set(key, `${type}:${JSON.stringify(v)}`);
    }
  } while (cursor !== '0');
  return out;
}

describe('abuse: fuzzed payloads on every event', { timeout: 180_000 }, () => {
  let server: InProcessServer;
  let fuzzer: ChatClient;
  let watcher: ChatClient;
  let redis: Redis | null = null;
  let room = '';
  let otherRoom = '';
  let randomRoom = '';
  const memberRooms = new Set<string>();

  before(async () => {
    server = await startInProcess({ redis: !redisSkip, env: { RATE_LIMIT_COUNT: '1000000' } });
    const me = await login(server.url, 'fuzz-me');
    const friend = await login(server.url, 'fuzz-friend');
    const stranger = await login(server.url, 'fuzz-stranger');
    room = (await createChat(server.url, friend.cookie, 'fuzz', [me.uid])).body.room_id!;
    otherRoom = (await createChat(server.url, stranger.cookie, 'not yours', [friend.uid])).body.room_id!;
    fuzzer = await connect(server.url, me.cookie);
    watcher = await connect(server.url, friend.cookie);
    await emitAck(watcher, 'joined', {});
    await emitAck(fuzzer, 'joined', {});
    // Joined once up front, so a fuzzed join_random gets the same room back and changes nothing.
    const random = (await emitAck(fuzzer, 'join_random', {})) as { room_id?: string };
    randomRoom = String(random.room_id ?? '');
    for (const r of [room, randomRoom]) memberRooms.add(r);
    if (!redisSkip) redis = new Redis(testRedisUrl);
  });
  after(async () => {
    fuzzer?.close();
    watcher?.close();
    await redis?.quit();
    await server?.stop();
    if (server) await cleanRedis(server.prefix);
  });

  console.log(`[abuse-fuzz] seed=${SEED} (FUZZ_SEED to replay)`);
  it(`answers only the contract's answers to ${RUNS} payloads per event and changes nothing when refusing`, async () => {
    const roomIds = fc.oneof(
      fc.constantFrom(room, otherRoom, randomRoom, 'Random_999999', `${room}x`, 'nope_0'),
      fc.string({ maxLength: 30 }),
      fc.constantFrom(...NASTY),
      fc.integer().map((n) => String(n)),
      fc.string({ minLength: 190, maxLength: 260 }),
      fc.anything({ maxDepth: 2 }),
    );
    const messages = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.constantFrom(...NASTY),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.integer({ min: 1990, max: 2010 }).map((n) => 'y'.repeat(n)),
      fc.integer({ min: 1, max: 8000 }).map((n) => '😀'.repeat(n)),
      fc.integer({ min: 2001, max: 50_000 }).map((n) => ' '.repeat(3) + 'z'.repeat(n)),
      fc.anything({ maxDepth: 2 }),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    );
    const ids = fc.oneof(
      fc.constantFrom('0-0', '1-0', '99999999999999999999-99999999999999999999', '18446744073709551616-0'),
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`),
      fc.string({ maxLength: 25 }),
      fc.anything({ maxDepth: 1 }),
    );
    const limits = fc.oneof(
      fc.integer({ min: -5, max: 1000 }),
      fc.constantFrom(0, 1e308, -0, Number.MAX_SAFE_INTEGER, 1.5, Number.NaN),
      fc.anything({ maxDepth: 1 }),
    );
    const clientIds = fc.oneof(
      // A few valid ids, so that resends of an accepted one happen too.
      fc.constantFrom('fuzz-cid-1', 'fuzz_cid_2', 'FUZZCID3', 'x'.repeat(64)),
      fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
      fc.string({ maxLength: 70 }),
      fc.constantFrom(...NASTY),
      fc.anything({ maxDepth: 1 }),
    );
    const catchUpRooms = fc.oneof(
      fc.array(fc.record({ room_id: roomIds, after: ids }), { minLength: 0, maxLength: 5 }),
      fc.array(fc.constant({ room_id: room, after: '0-0' }), { minLength: 99, maxLength: 102 }),
      fc.anything({ maxDepth: 2 }),
    );
    const fields = {
      room_id: roomIds,
      client_id: clientIds,
      id: ids,
      rooms: catchUpRooms,
      msg: messages,
      before: ids,
      after: ids,
      limit: limits,
    };
    const objectPayload = fc
      .record(fields, { requiredKeys: [] })
      .chain((o) =>
        fc
          .dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }), { maxKeys: 3 })
          .map((extra) => ({ ...extra, ...o })),
      );
    const payloads = fc.oneof(
      { weight: 6, arbitrary: objectPayload },
      { weight: 1, arbitrary: fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: false }) },
      { weight: 1, arbitrary: fc.constantFrom(null, 0, -1, 1.5, true, false, '', 'text', [], [{}], Number.NaN) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 50, max: 1000 }), fc.boolean())
          .map(([d, arr]) => ({ room_id: room, msg: 'deep', nest: deep(d, { room_id: room }, arr) })),
      },
      { weight: 1, arbitrary: fc.constantFrom(...POLLUTING).map((j) => JSON.parse(j.replace('%R', room)) as unknown) },
      {
        weight: 1,
        arbitrary: fc.record({ room_id: fc.constant(room), msg: fc.uint8Array().map((a) => Buffer.from(a)) }),
      },
    );

    const storeBefore = redis ? await dumpStore(redis, server.prefix) : null;
    const historyBefore = new Map<string, string[]>();
    for (const r of memberRooms)
      historyBefore.set(
        r,
        (await readAll(fuzzer, r)).map((m) => m.id),
      );
    const seen = record(watcher, 'internal_msg', 'typing', 'status', 'room_added', 'room_removed');
    const tally: Record<string, Record<string, number>> = {};
    const acceptedTexts: string[] = [];
    /** Accepted text ids per room the fuzzer is in. */
    const acceptedIn = new Map<string, string[]>();
    /** `room client_id` → the id its first acceptance got: a resend must answer the same. */
    const acceptedCid = new Map<string, string>();
    let cases = 0;
    const started = Date.now();

    for (const event of EVENTS) {
      tally[event] = {};
      await fc.assert(
        fc.asyncProperty(payloads, async (payload) => {
          cases += 1;
          // exit_room is never fuzzed on a room the fuzzer is in: its success would change the
          // very membership the other events are checked against.
          if (event === 'exit_room' && typeof payload === 'object' && payload !== null) {
            const id = (payload as { room_id?: unknown }).room_id;
            if (typeof id === 'string' && memberRooms.has(id)) return;
          }
          const want = expected(event, payload, memberRooms);
          const res = await emitAck<Record<string, unknown>>(fuzzer, event, payload, 5000);
          const got = res.ok ? 'ok' : res.error;
          tally[event]![got] = (tally[event]![got] ?? 0) + 1;
          if (!res.ok) assert.deepEqual(Object.keys(res).sort(), ['error', 'ok']);
          assert.equal(got, want, `${event} ${JSON.stringify(payload)?.slice(0, 300)}`);
          if (event === 'text' && res.ok) {
            const { room_id: target, client_id: cid } = payload as { room_id: string; client_id?: string };
            const earlier = cid === undefined ? undefined : acceptedCid.get(`${target} ${cid}`);
            if (earlier !== undefined) {
              assert.equal(res.id, earlier, 'a resend answers the stored message');
              return;
            }
            if (cid !== undefined) acceptedCid.set(`${target} ${cid}`, String(res.id));
            acceptedTexts.push(String(res.id));
            acceptedIn.set(target, [...(acceptedIn.get(target) ?? []), String(res.id)]);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    }
    // Events without an acknowledgement are ignored, not half-processed.
    const bare = fuzzer as unknown as { emit(event: string, payload: unknown): void };
    for (const event of EVENTS) bare.emit(event, { room_id: room, msg: 'no ack' });
    // One socket's events are handled in order: once the marker is answered, so were these.
    await marker(fuzzer);

    // Object.prototype on the server is clean: an empty payload still lacks room_id and msg.
    assert.deepEqual(await emitAck(fuzzer, 'history', {}), { ok: false, error: ERRORS.invalidPayload });
    assert.deepEqual(await emitAck(fuzzer, 'text', { room_id: room }), { ok: false, error: ERRORS.invalidMessage });
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200, 'the node still answers (in this process: a crash would have failed the run)');
    const signedOut = await fetch(`${server.url}/chat/get_users`);
    assert.equal(signedOut.status, 401, 'a later request behaves normally');

    // What changed: only the accepted texts (and the fuzzer's rate-limit log that counts them).
    for (const r of memberRooms) {
      const historyAfter = (await readAll(fuzzer, r)).map((m) => m.id);
      assert.deepEqual(
        historyAfter,
        [...historyBefore.get(r)!, ...(acceptedIn.get(r) ?? [])],
        `history of ${r} grew by the accepted texts only`,
      );
    }
    let changedKeys: string[] = [];
    if (redis && storeBefore) {
      const storeAfter = await dumpStore(redis, server.prefix);
      const keys = new Set([...storeBefore.keys(), ...storeAfter.keys()]);
      changedKeys = [...keys].filter((k) => storeBefore.get(k) !== storeAfter.get(k));
      // Bookkeeping that every event or the heartbeat touches (the event budget, socket leases
      // and the node registry, presence, typing throttles, read marks) is not state a refusal
      // changed; stored messages and their client ids are, and only the accepted texts may account for those.
      const bookkeeping =
        /:(budget|conns|reads|read-n|rate)$|^[^{]*node:\{[^}]*\}:users$|:\{nodes\}:|:presence$|:typing:/;
      const allowed = (k: string): boolean =>
        bookkeeping.test(k) ||
        (acceptedTexts.length > 0 &&
          [...acceptedIn.keys()].some((r) => k.endsWith(`room:{${r}}:messages`) || k.includes(`room:{${r}}:cid:`)));
      assert.deepEqual(
        changedKeys.filter((k) => !allowed(k)),
        [],
        'refused events changed nothing in Redis',
      );
    }
    // Everything the fuzzer's events sent the friend has arrived once the friend's marker is answered.
    await marker(watcher);
    const fromFuzzer = seen.all.filter((e) => (e.data as { uid?: string }).uid !== undefined);
    // The friend shares `room` only (not the fuzzer's random room).
    const liveTexts = seen.of('internal_msg').map((m) => (m as { id: string }).id);
    assert.deepEqual(liveTexts, acceptedIn.get(room) ?? [], 'only accepted texts reached the room, each once');
    assert.equal(seen.of('room_added').length + seen.of('room_removed').length, 0);

    console.log(
      `[abuse-fuzz] seed=${SEED} cases=${cases} in ${Date.now() - started} ms; answers per event: ${JSON.stringify(tally)}`,
    );
    console.log(
      `[abuse-fuzz] acceptedTexts=${acceptedTexts.length} deliveredLive=${liveTexts.length} eventsSeenByFriend=${fromFuzzer.length} changedRedisKeys=${JSON.stringify(changedKeys.map((k) => k.slice(server.prefix.length)))}`,
    );
  });
});
