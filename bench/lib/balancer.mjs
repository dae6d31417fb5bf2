// A connection-level TCP balancer for the reconnect-storm scenario (./storm.mjs), a process of its
// own so its CPU is measured apart: like App Engine's front end as the chat sees it, each client
// connection goes to the next live backend in turn, and a backend whose connect fails is skipped
// (and left out for DOWN_MS) — so once a node dies, every reconnect lands on a node that is up.
// Bytes are piped both ways untouched (HTTP, the WebSocket upgrade and its frames alike); when
// either side closes, so does the other, so the clients of a killed node see their connection drop.
//
// Forked with IPC: answers `{ready, port}`, then obeys `{type: 'backends', ports}` and
// `{type: 'stats'}` (each answered `{seq, ok, result}`).
import { createConnection, createServer } from 'node:net';

/** A backend whose connect failed is not tried again for this long (unless all are down). */
const DOWN_MS = 1000;

let backends = []; // { port, downUntil }
let next = 0;
const stats = { accepted: 0, open: 0, upstreamFailed: 0, noBackend: 0, byPort: {} };

function pick(skip) {
  const now = Date.now();
  for (let i = 0; i < backends.length; i++) {
    const b = backends[(next + i) % backends.length];
    if (skip.has(b) || b.downUntil > now) continue;
    next = (next + i + 1) % backends.length;
    return b;
  }
  // Every backend marked down: try those not yet tried on this connection anyway.
  return backends.find((b) => !skip.has(b)) ?? null;
}

function relay(client) {
  stats.accepted += 1;
  stats.open += 1;
  client.setNoDelay(true);
  client.pause();
  let upstream = null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stats.open -= 1;
    client.destroy();
    upstream?.destroy();
  };
  client.on('error', close);
  client.on('close', close);
  const tried = new Set();
  const attempt = () => {
    const b = pick(tried);
    if (!b || closed) {
      if (!b) stats.noBackend += 1;
      return close();
    }
    tried.add(b);
    const up = createConnection({ host: '127.0.0.1', port: b.port });
    up.setNoDelay(true);
    up.once('error', () => {
      if (upstream === up) return close();
      // The connect failed: this backend is down; the next one gets the connection.
      stats.upstreamFailed += 1;
      b.downUntil = Date.now() + DOWN_MS;
      up.destroy();
      attempt();
    });
    up.once('connect', () => {
      if (closed) return up.destroy();
      upstream = up;
      stats.byPort[b.port] = (stats.byPort[b.port] ?? 0) + 1;
      up.on('error', close);
      up.on('close', close);
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
  };
  attempt();
}

const server = createServer({ noDelay: true }, relay);
server.maxConnections = Infinity;
// A front end does not turn connections away: the accept queue is as long as the kernel allows
// (net.core.somaxconn), not Node's default 511, which a storm of thousands overflows.
server.listen({ port: 0, host: '127.0.0.1', backlog: 65535 }, () =>
  process.send({ ready: true, port: server.address().port }),
);

process.on('message', (cmd) => {
  let result;
  if (cmd.type === 'backends') {
    backends = cmd.ports.map((port) => ({ port, downUntil: 0 }));
    next = 0;
    result = { backends: cmd.ports };
  } else if (cmd.type === 'stats') result = { ...stats, byPort: { ...stats.byPort } };
  process.send({ seq: cmd.seq, ok: result !== undefined, result, error: result ? undefined : 'unknown command' });
});
process.on('disconnect', () => process.exit(0));
