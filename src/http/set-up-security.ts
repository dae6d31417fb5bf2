/**
 * Security headers (helmet) with a CSP that allows no inline script, style or eval, and the
 * same-origin check for every state-changing request (403 otherwise).
 */
import type { Request, RequestHandler, Router } from 'express';
import express from 'express';
import helmet from 'helmet';
import type { Config } from '../config.js';

export interface CspExtra {
  connectSrc?: string[];
  frameSrc?: string[];
  scriptSrc?: string[];
}

export function setUpWebSecurity(config: Config, extra: CspExtra = {}): Router {
  const router = express.Router();
  router.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", ...(extra.scriptSrc ?? [])],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:', 'https:'],
          connectSrc: ["'self'", ...(extra.connectSrc ?? [])],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          frameSrc: extra.frameSrc && extra.frameSrc.length > 0 ? extra.frameSrc : ["'none'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          ...(config.production ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      // HSTS only where TLS is certain (App Engine terminates it in production).
      strictTransportSecurity: config.production,
      // helmet's default, no-referrer, makes Chromium send `Origin: null` on our own form posts,
      // which the origin check below would have to refuse.
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  return router;
}

/** The request's own origin as the browser sees it (behind a trusted proxy: its scheme/host). */
function ownOrigin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? ''}`;
}

/**
 * Refuses state changes from other origins. Browsers send Origin on every cross-origin POST
 * (and Sec-Fetch-Site on all requests); a request with neither comes from a non-browser client,
 * which cannot ride on a victim's cookies, so it is let through.
 */
function isSameOrigin(
  origin: string | undefined,
  fetchSite: string | undefined,
  own: string,
  allowed: string[],
): boolean {
  // `Origin: null` (opaque: privacy settings, sandboxed frames) says nothing; decide by Sec-Fetch-Site.
  if (origin !== undefined && origin !== '' && origin !== 'null') {
    return origin === own || allowed.includes(origin);
  }
  if (fetchSite !== undefined) return fetchSite === 'same-origin' || fetchSite === 'none';
  return origin !== 'null';
}

export function setUpOriginCheck(config: Config): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const fetchSite = req.get('sec-fetch-site');
    if (isSameOrigin(req.get('origin'), fetchSite, ownOrigin(req), config.allowedOrigins)) return next();
    res.status(403).json({ status: 'ERROR', error: 'cross-origin request refused' });
  };
}
