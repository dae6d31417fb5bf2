/**
 * Sessions: express-session for the HTTP routes, and the same sessions read (only) at a Socket.IO
 * handshake (io.engine.use), so a page and a socket see the same session. Redis-backed
 * (connect-redis 8, which speaks ioredis) when REDIS_URL is set, so every node knows every
 * session; in-process otherwise.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { unsign } from 'cookie-signature';
import { readCookie } from './cookies.js';
import type { RedisClient } from '../store/redis-client.js';
import type { Config } from '../config.js';

declare module 'express-session' {
  interface SessionData {
    uid?: string;
  }
}

export const SESSION_COOKIE = 'connect.sid';

/** What a socket's handshake knows of its session: its id (to close its sockets) and its user. */
export interface HandshakeSession {
  id: string;
  uid?: string;
}

export interface Sessions {
  /** express-session, for the HTTP routes. */
  middleware: RequestHandler;
  /**
   * A socket handshake's session, read only, as express-session reads it — the signed cookie
   * checked, the session fetched from the same store — without its per-request machinery (a
   * Session and a Cookie object, wrapped response methods and their closures). engine.io keeps a
   * WebSocket handshake's request and response for as long as the connection is open, so that
   * machinery stayed in memory for every idle socket (bench/README.md has the measurement). A
   * socket never changes its session, so nothing is written back.
   */
  read(req: IncomingMessage): Promise<HandshakeSession | null>;
}

export function createSessions(config: Config, redis: RedisClient | null): Sessions {
  const store: session.Store = redis
    ? new RedisStore({ client: redis, prefix: `${config.redisPrefix}sess:` })
    : new session.MemoryStore();
  const middleware = session({
    name: SESSION_COOKIE,
    secret: config.sessionSecret,
    resave: false,
    saveUninitialized: false,
    store,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      // Production: Secure whenever the request came over HTTPS (App Engine's load balancer says
      // so through X-Forwarded-Proto, trusted by `trust proxy`); plain HTTP (docker compose on
      // localhost) still gets a cookie. Elsewhere never Secure (http://localhost in development).
      secure: config.production ? 'auto' : false,
      maxAge: config.sessionMaxAgeMs,
      path: '/',
    },
  });
  const read = async (req: IncomingMessage): Promise<HandshakeSession | null> => {
    const raw = readCookie(req.headers.cookie, SESSION_COOKIE);
    // express-session's format: "s:" + id + "." + HMAC of the id under the secret.
    if (!raw?.startsWith('s:')) return null;
    const id = unsign(raw.slice(2), config.sessionSecret);
    if (id === false) return null;
    const data = await new Promise<session.SessionData | null | undefined>((resolve, reject) =>
      store.get(id, (err, value) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(value),
      ),
    );
    if (!data) return null;
    // The store's TTL ends a session; a copy read at its last moment is ended here as express-session would.
    const expires = data.cookie?.expires;
    if (expires && new Date(expires).getTime() <= Date.now()) return null;
    return typeof data.uid === 'string' ? { id, uid: data.uid } : { id };
  };
  return { middleware, read };
}
