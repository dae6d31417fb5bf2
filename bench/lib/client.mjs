// How a bench client becomes a chat user, exactly as the contract says a client does:
// POST /login (JSON {name}) → 303 with the session cookie, then socket.io-client on <url>/chat
// over WebSocket with that cookie.
//
// Not the tests' client (test/helpers/client.ts): this runs in the load generator, plain JS forked
// with the servers' Node flags and no tsx loader (whose compile time and memory would land in the
// figures), and it keeps what only the bench needs — sign-in retries counted in `loginStats`, a
// `secure` cookie behind a proxy, long connect timeouts for thousands of sockets.
import { io } from 'socket.io-client';

/** Sign-ins answered 503, or whose request failed, and tried again (by `login` with `retries`). */
export const loginStats = { retried503: 0, retriedNetwork: 0 };

/**
 * Signs in as `name`; resolves the `connect.sid=...` cookie pair. `retries`: a 503 (the store
 * not answering, or the node still starting: "try again", as the contract says) or a request that
 * failed on the network is tried again that many times, 250 ms apart, and counted in `loginStats`.
 */
export async function login(url, name, { secure = false, retries = 0 } = {}) {
  // No Origin header: the contract's same-origin check lets non-browser clients through.
  const headers = { 'content-type': 'application/json' };
  // Behind App Engine's proxy in production the request arrives as https; say so, so that a
  // `secure` session cookie is still set over loopback http.
  if (secure) headers['x-forwarded-proto'] = 'https';
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(`${url}/login`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name }),
        redirect: 'manual',
      });
      await res.arrayBuffer();
    } catch (err) {
      // "fetch failed": the connection reset or refused (seen on a saturated machine).
      if (attempt >= retries) throw err;
      loginStats.retriedNetwork += 1;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (res.status === 503 && attempt < retries) {
      loginStats.retried503 += 1;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (res.status !== 303) throw new Error(`POST /login answered ${res.status}`);
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .find((c) => c.startsWith('connect.sid='));
    if (!cookie) throw new Error('POST /login set no connect.sid cookie');
    return cookie;
  }
}

/** Connects one socket to namespace /chat; resolves once connected, rejects on connect_error. */
export function connect(url, cookie, timeoutMs = 30_000) {
  const socket = io(`${url}/chat`, {
    transports: ['websocket'],
    extraHeaders: cookie ? { cookie } : {},
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(new Error(`connect_error: ${err.message}`));
    });
  });
}

/** Emits with an acknowledgement; rejects after `timeoutMs` without an answer. */
export function request(socket, event, payload, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight. */
export async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}
