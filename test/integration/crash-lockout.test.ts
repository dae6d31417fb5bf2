/**
 * A node dies without closing its sockets (SIGKILL): its users' socket leases must not lock them
 * out of the surviving node for long. A user with 15 tabs on the killed node reconnects all 15
 * to the other (MAX_SOCKETS_PER_USER 20, the default): the tabs retry `too many connections`
 * the way the page does, and every one is back within one lease (LEASE_MS) and a margin — it
 * was 60 s before leases were shortened.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LEASE_MS } from '../../src/chat/socket-limit.js';
import { connect, login, sleep, type ChatClient } from '../helpers/client.js';
import { cleanRedis, newPrefix, redisSkip, startServer, type TestServer } from '../helpers/server.js';

const TABS = 15;

describe('socket cap after a node crash', { skip: redisSkip, timeout: 90_000 }, () => {
  const prefix = newPrefix();
  let a: TestServer;
  let b: TestServer;
  const sockets: ChatClient[] = [];

  before(async () => {
    [a, b] = await Promise.all([startServer({ redis: true, prefix }), startServer({ redis: true, prefix })]);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a?.kill(), b?.stop()]);
    await cleanRedis(prefix);
  });

  it(`${TABS} tabs of a SIGKILLed node are all back on the survivor within one lease`, async () => {
    const me = await login(a.url, `crash-tabs-${prefix}`);
    for (let i = 0; i < TABS; i++) sockets.push(await connect(a.url, me.cookie));
    await a.kill('SIGKILL');
    const killedAt = Date.now();
    // Each tab retries on `too many connections`, every 500 ms, as the page does (with backoff).
    const refusals: number[] = Array<number>(TABS).fill(0);
    const backAfter = await Promise.all(
      Array.from({ length: TABS }, async (_, i) => {
        for (;;) {
          try {
            sockets.push(await connect(b.url, me.cookie));
            return Date.now() - killedAt;
          } catch (err) {
            assert.equal((err as Error).message, 'too many connections');
            refusals[i] = (refusals[i] ?? 0) + 1;
            if (Date.now() - killedAt > LEASE_MS + 15_000) throw new Error(`tab ${i} still refused`);
            await sleep(500);
          }
        }
      }),
    );
    const last = Math.max(...backAfter);
    console.log(
      `[crash-lockout] tabs=${TABS} lease=${LEASE_MS}ms lastBackAfter=${last}ms refusedTabs=${refusals.filter((n) => n > 0).length} refusals=${refusals.reduce((x, y) => x + y, 0)}`,
    );
    assert.ok(last <= LEASE_MS + 3000, `every tab back within a lease: ${last} ms`);
  });
});
