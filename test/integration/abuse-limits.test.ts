/**
 * Limits that must hold whatever a client does: the `text` rate limit (20 per 10 s per user) and
 * the per-user socket cap across two nodes and several sockets; packets over
 * maxHttpBufferSize (MAX_PAYLOAD_BYTES) cost the sender its socket and change nothing; request
 * bodies over the JSON/form limit get 413; slow clients (slowloris) are cut off within the HTTP
 * header and request timeouts.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { ERRORS, LIMITS } from '../../src/shared/limits.js';
import { connect, createChat, emitAck, login, marker, record, sleep, type ChatClient } from '../helpers/client.js';
import { cleanRedis, newPrefix, redisSkip, startInProcess, type InProcessServer } from '../helpers/server.js';
import { figures, readAll } from './fault-kit.js';

const MAX_SOCKETS = 3;

describe('limits across two nodes', { skip: redisSkip, timeout: 120_000 }, () => {
  const prefix = newPrefix();
  let a: InProcessServer;
  let b: InProcessServer;
  const sockets: ChatClient[] = [];
  const open = async (s: InProcessServer, cookie: string): Promise<ChatClient> => {
    const c = await connect(s.url, cookie);
    sockets.push(c);
    return c;
  };

  before(async () => {
    const env = { MAX_SOCKETS_PER_USER: String(MAX_SOCKETS) };
    [a, b] = await Promise.all([
      startInProcess({ redis: true, prefix, env }),
      startInProcess({ redis: true, prefix, env }),
    ]);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanRedis(prefix);
  });

  it('20 texts per 10 s for one user on three sockets over two nodes, sent all at once: exactly 20 pass', async () => {
    const sender = await login(a.url, 'limit-sender');
    const reader = await login(b.url, 'limit-reader');
    const room = (await createChat(a.url, sender.cookie, 'limits', [reader.uid])).body.room_id!;
    const mine = [await open(a, sender.cookie), await open(a, sender.cookie), await open(b, sender.cookie)];
    const readerSocket = await open(b, reader.cookie);
    await emitAck(readerSocket, 'joined', {});
    const heard = record(readerSocket, 'internal_msg');
    const historyBefore = (await readAll(readerSocket, room)).length;

    const burst = 30;
    const answers = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        emitAck<{ id: string }>(mine[i % mine.length]!, 'text', { room_id: room, msg: `burst ${i}` }),
      ),
    );
    const ok = answers.filter((r) => r.ok).length;
    const limited = answers.filter((r) => !r.ok && r.error === ERRORS.rateLimited).length;
    // After the burst, the 21st on either node is refused too.
    const onA = await emitAck(mine[0]!, 'text', { room_id: room, msg: 'one more on A' });
    const onB = await emitAck(mine[2]!, 'text', { room_id: room, msg: 'one more on B' });
    const stored = (await readAll(readerSocket, room)).length - historyBefore;
    // Every live delivery of the burst has reached the reader once the reader's own marker message
    // has: it was posted after every answer above and travels the room's channel behind them.
    const mark = await marker(readerSocket, { sender: readerSocket, room_id: room });
    const heardLive = heard.of('internal_msg').filter((m) => m.id !== mark).length;
    console.log(
      `[abuse-limits] rate: ${figures({
        sockets: '2 on A + 1 on B',
        sentAtOnce: burst,
        acked: ok,
        rateLimited: limited,
        afterBurstA: onA.ok ? 'ok' : onA.error,
        afterBurstB: onB.ok ? 'ok' : onB.error,
        stored,
        heardLive,
      })}`,
    );
    assert.equal(ok, LIMITS.rateLimitCount);
    assert.equal(limited, burst - LIMITS.rateLimitCount);
    assert.deepEqual(onA, { ok: false, error: ERRORS.rateLimited });
    assert.deepEqual(onB, { ok: false, error: ERRORS.rateLimited });
    assert.equal(stored, LIMITS.rateLimitCount, 'refused texts are not stored');
    assert.equal(heardLive, LIMITS.rateLimitCount, 'refused texts reach nobody');
  });

  it(`caps a user's sockets at MAX_SOCKETS_PER_USER=${MAX_SOCKETS} over both nodes`, async () => {
    const user = await login(a.url, 'limit-sockets');
    const first = [await open(a, user.cookie), await open(a, user.cookie), await open(b, user.cookie)];
    const refusedB = await connect(b.url, user.cookie).then(
      (s) => (sockets.push(s), 'connected'),
      (err: Error) => err.message,
    );
    const refusedA = await connect(a.url, user.cookie).then(
      (s) => (sockets.push(s), 'connected'),
      (err: Error) => err.message,
    );
    // A closed socket frees its slot on every node (the release is asynchronous: retry briefly).
    first[0]!.close();
    let reopened = 'not tried';
    const start = Date.now();
    for (let i = 0; i < 20 && reopened !== 'connected'; i++) {
      reopened = await connect(b.url, user.cookie).then(
        (s) => (sockets.push(s), 'connected'),
        (err: Error) => err.message,
      );
      // Polling a release that takes its own time (a bounded retry, not a wait for nothing to come).
      if (reopened !== 'connected') await sleep(100);
    }
    // Another user is not affected by this user's cap.
    const other = await login(b.url, 'limit-sockets-other');
    const otherSocket = await open(b, other.cookie);
    console.log(
      `[abuse-limits] sockets: ${figures({
        cap: MAX_SOCKETS,
        open: '2 on A + 1 on B',
        fourthOnB: refusedB,
        fourthOnA: refusedA,
        afterClosingOneOnA: reopened,
        reopenMs: Date.now() - start,
        otherUser: otherSocket.connected,
      })}`,
    );
    assert.equal(refusedB, 'too many connections');
    assert.equal(refusedA, 'too many connections');
    assert.equal(reopened, 'connected');
    assert.equal(otherSocket.connected, true);
  });

  it('a packet over maxHttpBufferSize disconnects that socket only and stores nothing', async () => {
    const max = loadConfig({}).maxPayloadBytes;
    const user = await login(a.url, 'limit-payload');
    const friend = await login(a.url, 'limit-payload-friend');
    const room = (await createChat(a.url, user.cookie, 'payload', [friend.uid])).body.room_id!;
    const big = await open(a, user.cookie);
    const sibling = await open(a, user.cookie);
    const before = (await readAll(sibling, room)).length;

    const reason = new Promise<string>((resolve) => big.once('disconnect', resolve));
    const start = Date.now();
    big.emit('text', { room_id: room, msg: 'x'.repeat(max + 10) }, () => assert.fail('no ack for an oversized packet'));
    const why = await Promise.race([reason, sleep(5000).then(() => 'still connected')]);
    const cutMs = Date.now() - start;

    const bin = await open(b, user.cookie);
    const binReason = new Promise<string>((resolve) => bin.once('disconnect', resolve));
    // Binary attachments count too (the type says string; a hostile client does not care).
    bin.emit('text', { room_id: room, msg: Buffer.alloc(max + 10, 1) as unknown as string }, () =>
      assert.fail('no ack'),
    );
    const whyBin = await Promise.race([binReason, sleep(5000).then(() => 'still connected')]);

    // Just under the limit is a packet like any other: refused by the contract, not cut.
    const under = await emitAck(sibling, 'text', { room_id: room, msg: 'y'.repeat(max - 200) });
    const after = (await readAll(sibling, room)).length;
    const health = await fetch(`${a.url}/healthz`);
    console.log(
      `[abuse-limits] payload: ${figures({
        maxPayloadBytes: max,
        overLimitText: why,
        cutAfterMs: cutMs,
        overLimitBinary: whyBin,
        justUnder: under.ok ? 'ok' : under.error,
        siblingStillConnected: sibling.connected,
        storedBefore: before,
        storedAfter: after,
        healthz: health.status,
      })}`,
    );
    assert.notEqual(why, 'still connected');
    assert.notEqual(whyBin, 'still connected');
    assert.deepEqual(under, { ok: false, error: ERRORS.invalidMessage });
    assert.equal(sibling.connected, true);
    assert.equal(after, before);
    assert.equal(health.status, 200);
  });
});

/** Opens a raw TCP connection, writes `head`, then `drip` every `everyMs` until the server closes. */
function slowClient(
  port: number,
  head: string,
  drip: string,
  everyMs: number,
): Promise<{ closedAfterMs: number; response: string }> {
  return new Promise((resolve) => {
    const start = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    let response = '';
    let timer: NodeJS.Timeout | undefined;
    const give = setTimeout(() => socket.destroy(), 60_000);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (!socket.destroyed && drip) socket.write(drip);
      }, everyMs);
    });
    socket.on('data', (d) => (response += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(give);
      resolve({ closedAfterMs: Date.now() - start, response: response.split('\r\n')[0] ?? '' });
    });
  });
}

describe('HTTP limits: slow clients and big bodies', { timeout: 60_000 }, () => {
  const HEADERS_MS = 2000;
  const REQUEST_MS = 4000;
  /** Node checks the timeouts once a second (src/server.ts), plus scheduling slack. */
  const SLACK_MS = 1000 + 1500;
  let server: InProcessServer;

  before(async () => {
    server = await startInProcess({
      env: { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) },
    });
  });
  after(async () => {
    await server?.stop();
  });

  it('defaults are bounded', () => {
    const c = loadConfig({});
    assert.ok(c.httpHeadersTimeoutMs <= 20_000 && c.httpRequestTimeoutMs <= 30_000);
  });

  it('cuts off clients that send headers, a body, or nothing too slowly', async () => {
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    const [headers, body, idle] = await Promise.all([
      slowClient(server.port, `GET /login HTTP/1.1\r\n${host}`, 'X-Slow: 1\r\n', 300),
      slowClient(
        server.port,
        `POST /login HTTP/1.1\r\n${host}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nname=`,
        'a',
        300,
      ),
      slowClient(server.port, '', '', 1000),
    ]);
    // Meanwhile an ordinary client is served.
    const normal = await fetch(`${server.url}/healthz`);
    console.log(
      `[abuse-limits] slow clients: ${figures({
        headersTimeoutMs: HEADERS_MS,
        requestTimeoutMs: REQUEST_MS,
        slowHeaders: `${headers.closedAfterMs}ms ${headers.response}`,
        slowBody: `${body.closedAfterMs}ms ${body.response}`,
        silent: `${idle.closedAfterMs}ms ${idle.response}`,
        normal: normal.status,
      })}`,
    );
    assert.ok(headers.closedAfterMs >= HEADERS_MS - 100 && headers.closedAfterMs < HEADERS_MS + SLACK_MS);
    assert.ok(body.closedAfterMs >= REQUEST_MS - 100 && body.closedAfterMs < REQUEST_MS + SLACK_MS);
    assert.ok(idle.closedAfterMs < HEADERS_MS + SLACK_MS);
    assert.match(headers.response, /^HTTP\/1\.1 408/);
    assert.equal(normal.status, 200);
  });

  it('answers 413 to bodies over the limit, signed in or not, and stays up', async () => {
    const user = await login(server.url, 'limit-body');
    const big = JSON.stringify({ room_name: 'x', users: Array.from({ length: 3000 }, (_, i) => `u${i}xxxxxxxxx`) });
    const createChat413 = await fetch(`${server.url}/chat/create_chat`, {
      method: 'POST',
      headers: { cookie: user.cookie, 'content-type': 'application/json', origin: server.url },
      body: big,
    });
    const login413 = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: `name=${'n'.repeat(40 * 1024)}`,
      redirect: 'manual',
    });
    const loginJson413 = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'n'.repeat(40 * 1024) }),
      redirect: 'manual',
    });
    const body = (await createChat413.json()) as { status: string };
    const health = await fetch(`${server.url}/healthz`);
    console.log(
      `[abuse-limits] bodies: ${figures({
        createChatBytes: big.length,
        createChat: createChat413.status,
        loginForm: login413.status,
        loginJson: loginJson413.status,
        healthz: health.status,
      })}`,
    );
    assert.equal(createChat413.status, 413);
    assert.equal(body.status, 'ERROR');
    assert.equal(login413.status, 413);
    assert.equal(loginJson413.status, 413);
    assert.equal(health.status, 200);
  });
});
