/**
 * The "nothing else arrives" marker (test/helpers/client.ts `marker`) that replaced fixed waits:
 * whatever the server sent a socket before the marker has been recorded when it resolves — with no
 * other wait at all. Messages go through the posting script and (in Redis mode) the node's
 * subscriber, the longest path an event takes to a socket; across two nodes with the message form.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { marker } from '../helpers/client.js';
import { closeAll, group, openTab, send, signIn, uname, type Tab } from '../helpers/contract.js';
import { cleanRedis, newPrefix, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';

const ROUNDS = 10;
const PER_ROUND = 10;

/** Sends PER_ROUND messages from `from` (each acknowledged), then the marker at once; counts what `to` got before it. */
async function rounds(from: Tab, to: Tab, roomId: string, mark: () => Promise<string | undefined>): Promise<void> {
  for (let r = 0; r < ROUNDS; r++) {
    const sent: string[] = [];
    for (let i = 0; i < PER_ROUND; i++) sent.push((await send(from.socket, roomId, `r${r} m${i}`)).id);
    const markId = await mark();
    const got = (to.rec.of('internal_msg') as Message[]).map((m) => m.id).filter((id) => id !== markId);
    assert.deepEqual(got.slice(-PER_ROUND), sent, `round ${r}: every message before the marker`);
    to.rec.all.length = 0;
  }
}

for (const mode of ['memory', 'redis'] as const) {
  describe(`marker (${mode} store)`, { skip: mode === 'redis' ? redisSkip : false }, () => {
    let server: InProcessServer;
    before(async () => {
      server = await startInProcess({ redis: mode === 'redis', env: { RATE_LIMIT_COUNT: '1000' } });
    });
    after(async () => {
      closeAll();
      await server?.stop();
      if (mode === 'redis' && server) await cleanRedis(server.prefix);
    });

    test('a round trip on the receiving socket comes after every message sent to it before', async () => {
      const a = await signIn(server.url, uname('mark sender'));
      const b = await signIn(server.url, uname('mark receiver'));
      const roomId = await group(a, 'Marker', [b]);
      const [at, bt] = [await openTab(a), await openTab(b)];
      await rounds(at, bt, roomId, () => marker(bt.socket));
    });
  });
}

describe('marker message across two nodes', { skip: redisSkip }, () => {
  const prefix = newPrefix();
  let one: InProcessServer;
  let two: InProcessServer;
  before(async () => {
    const env = { RATE_LIMIT_COUNT: '1000' };
    [one, two] = await Promise.all([
      startInProcess({ redis: true, prefix, env }),
      startInProcess({ redis: true, prefix, env }),
    ]);
  });
  after(async () => {
    closeAll();
    await Promise.all([one?.stop(), two?.stop()]);
    await cleanRedis(prefix);
  });

  test('a message the receiver posts arrives after every message sent on the other node before it', async () => {
    const a = await signIn(one.url, uname('far sender'));
    const b = await signIn(two.url, uname('far receiver'));
    const roomId = await group(a, 'Far marker', [b]);
    const [at, bt] = [await openTab(a, one.url), await openTab(b, two.url)];
    await rounds(at, bt, roomId, () => marker(bt.socket, { sender: bt.socket, room_id: roomId }));
  });
});
