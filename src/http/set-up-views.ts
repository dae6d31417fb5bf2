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
  env.addFilter('json_script', (value: unknown) => new nunjucks.runtime.SafeString(jsonForScript(value)));
  app.set('view engine', 'njk');
  return env;
}

/**
 * JSON to put inside `<script type="application/json">`: nothing in it can end the element or
 * start markup (`<`, `>` and `&` escaped), and U+2028/U+2029 are escaped for older JavaScript
 * parsers. The page reads it with JSON.parse; a data block is never executed, so the CSP (no
 * inline scripts) does not apply to it.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
