/** Nunjucks with autoescape on: user text is never markup in what the server renders. */
import path from 'node:path';
import type { Express } from 'express';
import nunjucks from 'nunjucks';
import { LIMITS } from '../shared/limits.js';
import { FILTERS } from '../shared/room-label.js';
import type { Assets } from './assets.js';

/**
 * A value as JSON for a single-quoted attribute (views/chat.njk's data-chat='…'): there only `'`
 * and `&` can end or change the value, so only they (and `<`, `>` for good measure) are written as
 * character references. JSON's own double quotes stay as they are, where `| dump` in a
 * double-quoted attribute wrote each as `&quot;`: half the attribute's size for a user in many
 * rooms (about 630 → 330 bytes a room).
 */
export function jsonAttr(value: unknown): nunjucks.runtime.SafeString {
  const json = JSON.stringify(value) ?? 'null';
  return new nunjucks.runtime.SafeString(json.replace(/[&'<>]/g, (c) => `&#${c.charCodeAt(0)};`));
}

/**
 * `items | each(macro, …args)`: the macro's markup for every item, joined — what a `{% for %}`
 * loop around the macro call renders, without the loop's seven `loop.*` variables set for every
 * item (GET /chat's conversation list at 1,000 rooms: 1.5 of 19 ms of rendering).
 */
export function eachMacro(
  items: unknown[],
  macro: (...args: unknown[]) => nunjucks.runtime.SafeString,
  ...args: unknown[]
): nunjucks.runtime.SafeString {
  let out = '';
  for (const item of items) out += String(macro(item, ...args));
  return new nunjucks.runtime.SafeString(out);
}

export function setUpViews(app: Express, root: string, production: boolean, assets: Assets): nunjucks.Environment {
  const env = nunjucks.configure([path.join(root, 'views')], {
    autoescape: true,
    express: app,
    noCache: !production,
    throwOnUndefined: false,
  });
  // Shared with the browser's environment (src/client/templates.ts): the macros read it.
  env.addGlobal('pageSize', LIMITS.pageMessages);
  for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn);
  env.addFilter('json_attr', jsonAttr);
  env.addFilter('each', eachMacro);
  // Every page names its browser files through this (views/layout.njk): the build's content-hashed
  // names from its manifest, or a vendor file under its package version (./assets.ts).
  env.addGlobal('asset', (name: string) => assets.url(name));
  app.set('view engine', 'njk');
  return env;
}
