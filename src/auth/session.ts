/**
 * express-session, shared by Express and the Socket.IO handshake (io.engine.use), so a page and
 * a socket see the same session. Redis-backed (connect-redis 8, which speaks ioredis) when
 * REDIS_URL is set, so every node knows every session; in-process otherwise.
 */
import type { RequestHandler } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisClient } from '../store/redis-client.js';
import type { Config } from '../config.js';

declare module 'express-session' {
  interface SessionData {
    uid?: string;
  }
}

export const SESSION_COOKIE = 'connect.sid';

export function createSessionMiddleware(config: Config, redis: RedisClient | null): RequestHandler {
  return session({
    name: SESSION_COOKIE,
    secret: config.sessionSecret,
    resave: false,
    saveUninitialized: false,
    store: redis ? new RedisStore({ client: redis, prefix: `${config.redisPrefix}sess:` }) : undefined,
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
}
