// A counting TCP proxy between a server and Redis, for the page scenario: it parses the RESP
// commands the server sends and counts round trips (a burst of writes after a reply is one), so
// commands and round trips per request are the server's own, whoever else uses that Redis.
import { createConnection, createServer } from 'node:net';

/** Counts complete RESP commands in a byte stream split anywhere. */
class RespCounter {
  constructor(onCommand) {
    this.pending = Buffer.alloc(0);
    this.onCommand = onCommand;
  }
  feed(chunk) {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      const end = this.parse(buf, pos);
      if (end < 0) break;
      pos = end;
    }
    this.pending = buf.subarray(pos);
  }
  /** Parses one command at `pos`; returns the offset after it, or -1 when it is incomplete. */
  parse(buf, pos) {
    const line = (at) => {
      const nl = buf.indexOf('\r\n', at);
      return nl < 0 ? null : { text: buf.toString('latin1', at, nl), next: nl + 2 };
    };
    const head = line(pos);
    if (!head) return -1;
    if (head.text[0] !== '*') {
      this.onCommand(head.text.split(' ')[0].toLowerCase());
      return head.next;
    }
    const n = Number(head.text.slice(1));
    let at = head.next;
    let name = null;
    for (let i = 0; i < n; i++) {
      const bulk = line(at);
      if (!bulk) return -1;
      const len = Number(bulk.text.slice(1));
      if (buf.length < bulk.next + len + 2) return -1;
      if (i === 0) name = buf.toString('latin1', bulk.next, bulk.next + len).toLowerCase();
      at = bulk.next + len + 2;
    }
    this.onCommand(name);
    return at;
  }
}

export async function startRedisProxy(targetUrl) {
  const target = new URL(targetUrl);
  const counts = { commands: 0, roundTrips: 0, byName: {} };
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 6379) });
    sockets.add(client).add(upstream);
    let awaitingReply = false;
    const resp = new RespCounter((name) => {
      counts.commands += 1;
      counts.byName[name] = (counts.byName[name] ?? 0) + 1;
    });
    client.on('data', (chunk) => {
      if (!awaitingReply) counts.roundTrips += 1;
      awaitingReply = true;
      resp.feed(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      awaitingReply = false;
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${server.address().port}${target.pathname || ''}`,
    snapshot: () => ({ commands: counts.commands, roundTrips: counts.roundTrips, byName: { ...counts.byName } }),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
