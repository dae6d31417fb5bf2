/** Nunjucks with autoescape on: user text is never markup in what the server renders. */
import path from 'node:path';
import type { Express } from 'express';
import nunjucks from 'nunjucks';
import { LIMITS } from '../shared/limits.js';

export function setUpViews(app: Express, root: string, production: boolean): nunjucks.Environment {
  const env = nunjucks.configure([path.join(root, 'views')], {
    autoescape: true,
    express: app,
    noCache: !production,
    throwOnUndefined: false,
  });
  // Shared with the browser's environment (src/client/templates.ts): the macros read it.
  env.addGlobal('pageSize', LIMITS.pageMessages);
  app.set('view engine', 'njk');
  return env;
}
