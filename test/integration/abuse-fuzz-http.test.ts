/**
 * Property-based fuzzing (fast-check) of the sign-in and people routes against real nodes, in
 * both form-sign-in modes: POST /login (dev and password), POST /signup, GET /chat/get_users?q=
 * &limit=. Whatever the body or query — wrong types, objects with `toString`, nested arrays,
 * unicode edge cases, huge strings — the answer is one the contract allows (never 500), a
 * refused sign-in sets no cookie, and the node stays up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { login } from '../helpers/client.js';
import { startInProcess, type InProcessServer } from '../helpers/server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

const NASTY = ['\u200B', '\u202Eabc', '\u2800', 'Ｚｏｅ', '\u0000', 'a'.repeat(5000), '👨‍👩‍👧', '<b>x</b>', '   ', ''];

const value = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom(...NASTY),
  fc.anything({ maxDepth: 2 }),
  fc.constant({ toString: 1, valueOf: 2 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
);
const body = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ name: value, password: value, course: value, role: value }, { requiredKeys: [] }),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);

async function post(url: string, route: string, payload: unknown): Promise<{ status: number; cookie: boolean }> {
  const res = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify(payload) ?? 'null',
    redirect: 'manual',
  });
  await res.text();
  return { status: res.status, cookie: res.headers.getSetCookie().length > 0 };
}

describe('abuse: fuzzed sign-in and people routes', { timeout: 180_000 }, () => {
  let dev: InProcessServer;
  let password: InProcessServer;
  let cookie = '';

  before(async () => {
    [dev, password] = await Promise.all([startInProcess(), startInProcess({ env: { AUTH: 'password' } })]);
    cookie = (await login(dev.url, 'fuzz-people')).cookie;
  });
  after(async () => {
    await Promise.all([dev?.stop(), password?.stop()]);
  });

  console.log(`[abuse-fuzz-http] seed=${SEED} (FUZZ_SEED to replay)`);
  it(`answers ${RUNS} fuzzed bodies per route with a status the contract allows, never 500`, async () => {
    const allowed: Record<string, number[]> = {
      'dev POST /login': [303, 400],
      'password POST /login': [303, 400, 401, 429],
      'password POST /signup': [303, 400],
    };
    const tally: Record<string, Record<number, number>> = {};
    for (const [label, url, route] of [
      ['dev POST /login', dev.url, '/login'],
      ['password POST /login', password.url, '/login'],
      ['password POST /signup', password.url, '/signup'],
    ] as const) {
      tally[label] = {};
      await fc.assert(
        fc.asyncProperty(body, async (payload) => {
          const r = await post(url, route, payload);
          tally[label]![r.status] = (tally[label]![r.status] ?? 0) + 1;
          assert.ok(
            allowed[label]!.includes(r.status),
            `${label} ${JSON.stringify(payload)?.slice(0, 200)}: ${r.status}`,
          );
          if (r.status !== 303) assert.equal(r.cookie, false, `${label}: a refused sign-in set a cookie`);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    }
    const query = fc.record(
      {
        q: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom(...NASTY)),
        limit: fc.oneof(fc.integer(), fc.string()),
      },
      { requiredKeys: [] },
    );
    tally['GET /chat/get_users'] = {};
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const params = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]));
        const res = await fetch(`${dev.url}/chat/get_users?${params}`, { headers: { cookie } });
        const text = await res.text();
        tally['GET /chat/get_users']![res.status] = (tally['GET /chat/get_users']![res.status] ?? 0) + 1;
        assert.ok([200, 400].includes(res.status), `get_users ${params}: ${res.status} ${text.slice(0, 100)}`);
        assert.doesNotThrow(() => JSON.parse(text));
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    for (const s of [dev, password]) assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    console.log(`[abuse-fuzz-http] seed=${SEED} statuses per route: ${JSON.stringify(tally)}`);
  });
});
