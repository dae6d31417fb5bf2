/**
 * Exactly once across a node crash (CONTRACT "Sending exactly once", first Guarantee). Two nodes
 * on one Redis; clients on both send under load, several messages outstanding each, every one
 * with a fresh client_id. One node is SIGKILLed mid-traffic; its clients connect to the survivor
 * with the same cookie, catch up, and resend every message not acknowledged — those in flight at
 * the kill included — with the same client_id, in order. Nothing may be lost or stored twice,
 * and every member's view must end up holding every message of its rooms, each once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import { connect, createChat, login, type SignedIn } from '../helpers/client.js';
import { cleanRedis, newPrefix, redisSkip, startServer, type TestServer } from '../helpers/server.js';
import {
  attempt,
  figures,
  Member,
  outboxFigures,
  outgoing,
  readAll,
  sendUntilAcked,
  storedCopies,
  textClientId,
  waitFor,
  type Outgoing,
} from './fault-kit.js';

// Rate limits and kept history raised so none can pass for a fault (each user sends hundreds of
// texts a second here, far over the text limit and the per-user event budget).
const env = {
  RATE_LIMIT_COUNT: '1000000',
  EVENTS_PER_SECOND: '1000000',
  EVENT_BURST: '1000000',
  SIGNINS_PER_MINUTE: '1000',
  HISTORY_KEEP: '100000',
};
const ACK_MS = 5000;
/** Messages a client may have sent and not yet had acknowledged. */
const WINDOW = 10;
const SEND_GAP_MS = 2;
const USERS = 8;
/** User i is on the node that dies when i is even. Every room has members on both nodes. */
const ROOMS: number[][] = [
  [0, 1, 2, 3, 4, 5, 6, 7],
  [0, 1, 2, 3],
  [4, 5, 6, 7],
];
const onVictim = (i: number): boolean => i % 2 === 0;

describe(
  'exactly once: SIGKILL of one of two nodes under load, clients resending',
  {
    skip: redisSkip,
    timeout: 120_000,
  },
  () => {
    const prefix = newPrefix();
    let victim: TestServer;
    let survivor: TestServer;
    const members: Member[] = [];

    before(async () => {
      [victim, survivor] = await Promise.all([
        startServer({ redis: true, prefix, env }),
        startServer({ redis: true, prefix, env }),
      ]);
    });
    after(async () => {
      for (const m of members) m.socket?.close();
      await Promise.all([victim?.kill('SIGKILL'), survivor?.kill('SIGKILL')]);
      await cleanRedis(prefix);
    });

    it('0 lost, 0 doubled, in-flight messages included; every member sees every message once', async () => {
      const users: SignedIn[] = [];
      for (let i = 0; i < USERS; i++) users.push(await login(survivor.url, `eo-kill-${i}-${prefix}`));
      const roomIds: string[] = [];
      for (const [r, list] of ROOMS.entries()) {
        const [creator, ...rest] = list.map((i) => users[i]!);
        const res = await createChat(
          survivor.url,
          creator!.cookie,
          `kill-${r}`,
          rest.map((u) => u.uid),
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        roomIds.push(res.body.room_id!);
      }
      for (let i = 0; i < USERS; i++) {
        // Pages here catch up with the batched `catch_up` (exactly-once-redis uses `history`).
        const m = new Member(
          users[i]!,
          ROOMS.flatMap((list, r) => (list.includes(i) ? [roomIds[r]!] : [])),
          'catch_up',
        );
        await m.use(await connect((onVictim(i) ? victim : survivor).url, users[i]!.cookie, { reconnection: 'page' }));
        members.push(m);
      }

      // Each client: one ordered list of messages, up to WINDOW outstanding at once (the per-socket
      // queue on the server keeps them in order). What is not acknowledged waits in `unsettled`.
      const outs: Outgoing[][] = members.map(() => []);
      const inFlight = members.map(() => new Set<Outgoing>());
      const inFlightAtKill: Outgoing[] = [];
      let sending = true;
      /** Sends on the member's current socket until told to stop or that socket is gone. */
      const pump = async (i: number, tag: string): Promise<void> => {
        const m = members[i]!;
        const socket = m.socket;
        const gone = (): boolean => !sending || m.socket !== socket || !socket.connected;
        const rooms = [...m.views.keys()];
        for (let n = 0; !gone() && n < 5000; n++) {
          await waitFor(() => inFlight[i]!.size < WINDOW || gone(), 10_000, 'a free slot').catch(() => {});
          if (gone()) return;
          const out = outgoing(rooms[n % rooms.length]!, `${tag}-u${i}-${n}`);
          outs[i]!.push(out);
          inFlight[i]!.add(out);
          void attempt(m, out, ACK_MS).finally(() => inFlight[i]!.delete(out));
          await new Promise((r) => setTimeout(r, SEND_GAP_MS));
        }
      };
      // The victim's clients stop at their disconnect and note what was outstanding then.
      for (const [i, m] of members.entries()) {
        if (!onVictim(i)) continue;
        m.socket.once('disconnect', () => inFlightAtKill.push(...inFlight[i]!));
      }
      const first = members.map((_, i) => pump(i, 'p1'));
      const acked = (): number => outs.flat().filter((o) => o.ack).length;
      await waitFor(() => acked() >= 600, 30_000, '600 acks before the kill');
      const ackedBeforeKill = acked();
      await victim.kill('SIGKILL');
      const killedAt = Date.now();

      // The victim's clients: notice, move to the survivor with the same cookie, catch up, resend
      // every unacknowledged message in order with its client_id, then go on sending.
      const second: Promise<void>[] = [];
      for (const [i, m] of members.entries()) {
        if (!onVictim(i)) continue;
        await waitFor(() => !m.socket.connected, 10_000, `client ${i} to notice the kill`);
        m.socket.close();
        await waitFor(() => inFlight[i]!.size === 0, 10_000, `client ${i}'s outstanding acks to fail`);
        await m.use(await connect(survivor.url, users[i]!.cookie, { reconnection: 'page' }));
        second.push(
          (async () => {
            for (const out of outs[i]!.filter((o) => !o.ack && !o.refusal))
              await sendUntilAcked(m, out, { ackMs: ACK_MS, retryMs: 100, maxAttempts: 20 });
            await pump(i, 'p2');
          })(),
        );
      }
      const movedWithinMs = Date.now() - killedAt;
      await new Promise((r) => setTimeout(r, 1500));
      sending = false;
      await Promise.all([...first, ...second]);
      await waitFor(() => inFlight.every((s) => s.size === 0), 15_000, 'every ack').catch(() => {});
      // The survivor's clients: anything unanswered there goes again too (none is expected).
      for (const [i, m] of members.entries())
        for (const out of outs[i]!.filter((o) => !o.ack && !o.refusal))
          await sendUntilAcked(m, out, { ackMs: ACK_MS, retryMs: 100, maxAttempts: 20 });

      const all = outs.flat();
      const stored = new Map<string, Message[]>();
      for (const [r, id] of roomIds.entries()) stored.set(id, await readAll(members[ROOMS[r]![1]!]!.socket, id));
      const copies = storedCopies(all, [...stored.values()].flat());
      const ours = (id: string): string[] =>
        stored
          .get(id)!
          .filter((x) => copies.copies.has(textClientId(x.msg) ?? ''))
          .map((x) => x.id);
      const missingFor = (m: Member): number =>
        [...m.views.keys()].reduce((n, id) => n + m.missing(id, ours(id)).length, 0);
      await waitFor(() => members.every((m) => missingFor(m) === 0), 15_000, 'every view complete').catch(() => {});
      await Promise.all(members.map((m) => m.syncing));

      const f = outboxFigures(all);
      const survivorsResent = members.reduce((n, _, i) => (onVictim(i) ? n : n + outboxFigures(outs[i]!).resent), 0);
      const missingDeliveries = members.reduce((n, m) => n + missingFor(m), 0);
      const liveDuplicates = members.reduce((n, m) => n + m.liveDuplicates, 0);
      const inFlightCopies = inFlightAtKill.map((o) => copies.copies.get(o.client_id)?.length ?? 0);
      const row = {
        messages: f.messages,
        acked: f.acked,
        lost: copies.lost.length,
        doubled: copies.doubled.length,
        unanswered: f.unanswered,
        resent: f.resent,
        liveDuplicates,
        inFlightAtKill: inFlightAtKill.length,
        inFlightAlreadyStored: inFlightAtKill.filter((o) => o.answeredStored).length,
        inFlightStoredTwice: inFlightCopies.filter((n) => n > 1).length,
        ackedBeforeKill,
        movedWithinMs,
        ackLostToDisconnect: f.ackLostToDisconnect,
        ackTimeouts: f.ackTimeouts,
        unavailable: f.unavailable,
        otherRefusals: f.otherRefusals,
        ackConflicts: f.ackConflicts,
        ackNamesOtherCopy: copies.wrongAck.length,
        clientIdFieldMissing: copies.fieldMissing,
        missingDeliveries,
        liveOutOfOrder: members.reduce((n, m) => n + m.liveOutOfOrder, 0),
        survivorsResent,
      };
      console.log(`[exactly-once-kill] ${figures(row)}`);

      assert.ok(inFlightAtKill.length > 0, 'some messages were in flight at the kill');
      assert.ok(f.messages > ackedBeforeKill, 'traffic went on after the kill');
      assert.equal(f.otherRefusals, 0, `refusals: ${[...new Set(all.map((o) => o.refusal).filter(Boolean))]}`);
      assert.equal(f.unanswered, 0, 'every message acknowledged in the end');
      assert.equal(copies.lost.length, 0, 'nothing lost');
      assert.equal(copies.doubled.length, 0, 'nothing stored twice');
      assert.equal(f.ackConflicts + copies.wrongAck.length, 0, 'each ack names the one stored copy');
      assert.equal(copies.fieldMissing, 0, 'stored messages carry their client_id');
      assert.equal(missingDeliveries, 0, 'every member sees every message');
      assert.equal(liveDuplicates, 0, 'no message delivered live twice to one socket');
      assert.equal(row.liveOutOfOrder, 0, 'live delivery in id order on every socket');
      assert.equal(survivorsResent, 0, "the survivor's clients lost no ack");
      assert.deepEqual(
        members.flatMap((m) => m.errors),
        [],
      );
    });
  },
);
