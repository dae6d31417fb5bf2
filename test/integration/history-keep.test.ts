/**
 * The contract's "each room keeps at least its last 1,000 messages", through Socket.IO with the
 * server's default settings (only the rate limit raised, so one user can post that many): after
 * 1,250 messages, `history` pages back over at least the newest 1,000, in order, none missing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAscending, closeAll, fullHistory, group, openTab, send, signIn, uname } from '../helpers/contract.js';
import { cleanRedis, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

const SENT = 1250;
const KEPT = 1000;

for (const mode of ['memory', 'redis'] as const) {
  describe(
    `history keeps the last ${KEPT} messages (${mode} store)`,
    { skip: mode === 'redis' ? redisSkip : false },
    () => {
      let server: InProcessServer;

      before(async () => {
        server = await startInProcess({ redis: mode === 'redis', env: { RATE_LIMIT_COUNT: '100000' } });
      });
      after(async () => {
        closeAll();
        await server?.stop();
        if (mode === 'redis' && server) await cleanRedis(server.prefix);
      });

      test(`after ${SENT} messages the newest ${KEPT} are all there, oldest first`, { timeout: 60_000 }, async () => {
        const user = await signIn(server.url, uname('keeper'));
        const roomId = await group(user, 'Keep', []);
        const tab = await openTab(user);
        const ids: string[] = [];
        // In batches: one socket's events are handled in order, so ids rise with n.
        for (let n = 0; n < SENT; n += 50) {
          const batch = await Promise.all(
            Array.from({ length: Math.min(50, SENT - n) }, (_, i) => send(tab.socket, roomId, `m${n + i}`)),
          );
          ids.push(...batch.map((b) => b.id));
        }
        const stored = await fullHistory(tab.socket, roomId);
        const storedIds = stored.map((m) => m.id);
        assertAscending(storedIds, 'history');
        assert.ok(stored.length >= KEPT, `only ${stored.length} messages kept`);
        // The newest KEPT sent are the tail of what is stored, text and all.
        const tail = stored.slice(-KEPT);
        assert.deepEqual(
          tail.map((m) => m.id),
          ids.slice(-KEPT),
        );
        assert.deepEqual(
          tail.map((m) => m.msg),
          ids.slice(-KEPT).map((_, i) => `m${SENT - KEPT + i}`),
        );
      });
    },
  );
}
