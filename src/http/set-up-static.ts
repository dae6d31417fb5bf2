/** Static files: our built bundles and CSS, and Bootstrap from npm (no CDN). */
import path from 'node:path';
import express, { type Router } from 'express';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function setUpStaticResources(root: string, production: boolean): Router {
  const router = express.Router();
  const maxAge = production ? '1h' : 0;
  const opts = { maxAge, index: false as const, fallthrough: true };
  const bootstrapDist = path.join(path.dirname(require.resolve('bootstrap/package.json')), 'dist');
  const iconsFont = path.join(path.dirname(require.resolve('bootstrap-icons/package.json')), 'font');
  router.use('/vendor/bootstrap', express.static(bootstrapDist, opts));
  router.use('/vendor/bootstrap-icons', express.static(iconsFont, opts));
  router.use(express.static(path.join(root, 'public'), opts));
  return router;
}
