/**
 * Sign-ins, sign-ups and Firebase session exchanges per client address (CONTRACT: 30 a minute by
 * default), counted across nodes: one address cannot mint thousands of accounts or guess
 * passwords for many names. The address is Express's `req.ip`, so behind App Engine's load
 * balancer (`trust proxy`) it is the client's, not the balancer's.
 */
import type { RequestHandler } from 'express';
import type { AuthMode } from '../config.js';
import type { Limiter } from '../store/limiter.js';

const ROUTES = ['/login', '/signup', '/sessionLogin'];

/** A middleware, not routes of its own: the sign-in routes stay the auth mode's. */
export function setUpSignInLimit(signIns: Limiter, mode: AuthMode): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== 'POST' || !ROUTES.includes(req.path)) return next();
    if (await signIns.consume(req.ip ?? 'unknown')) return next();
    res.set('Retry-After', '60');
    if (req.path === '/sessionLogin') {
      res.status(429).json({ status: 'error', error: 'rate limited' });
      return;
    }
    res.status(429).render(req.path === '/signup' ? 'signup.njk' : 'login.njk', {
      mode,
      error: 'Too many sign-ins from your address: try again in a minute.',
    });
  };
}
