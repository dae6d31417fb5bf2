/** Nunjucks with autoescape on: user text is never markup in what the server renders. */
import path from 'node:path';
import type { Express } from 'express';
import nunjucks from 'nunjucks';

export function setUpViews(app: Express, root: string, production: boolean): nunjucks.Environment {
  const env = nunjucks.configure([path.join(root, 'views')], {
    autoescape: true,
    express: app,
    noCache: !production,
    throwOnUndefined: false,
  });
  app.set('view engine', 'njk');
  return env;
}
