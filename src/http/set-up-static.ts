/**
 * Static files: our built bundles and CSS, and Bootstrap from npm (no CDN). Content-hashed build
 * files and versioned vendor paths never change, so a browser keeps them for a year without asking
 * again; everything after the static files (pages, JSON) is per user and per deploy and is never
 * cached, so a deploy's page always names its own assets.
 */
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { BUILD_URL, IMMUTABLE, type Assets } from './assets.js';

export function setUpStaticResources(root: string, production: boolean, assets: Assets): Router {
  const router = express.Router();
  const base = { index: false as const, fallthrough: true };
  const immutable = {
    ...base,
    cacheControl: false,
    setHeaders: (res: express.Response) => res.set('Cache-Control', IMMUTABLE),
  };
  for (const mount of Object.values(assets.vendor)) router.use(mount.url, express.static(mount.dir, immutable));
  router.use(
    BUILD_URL,
    express.static(assets.dir, {
      ...base,
      cacheControl: false,
      // A file of an earlier build, or the manifest, may still be asked for: revalidated each time.
      setHeaders: (res, file) =>
        res.set('Cache-Control', assets.isHashed(path.basename(file)) ? IMMUTABLE : 'no-cache'),
    }),
  );
  // The rest of public/ (the avatar image) has fixed names: an hour in production.
  router.use(express.static(path.join(root, 'public'), { ...base, maxAge: production ? '1h' : 0 }));
  router.use(noStore);
  return router;
}

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
