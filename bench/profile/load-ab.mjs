// A/B of the chat page's start in headless Chromium: two or more builds, each a tree with its own
// server (dist/) and browser build (public/build/), on the same Redis and data (one user in
// `ROOMS` rooms of 2 messages), loaded alternately in fresh browser contexts. Per build, medians
// of the deferred scripts' time (DOMContentLoaded's end minus `domInteractive`: Bootstrap, the
// templates and the page's own start), DOMContentLoaded and the load event.
//
//   sh bench/profile/snapshot.sh /tmp/ab/A && sh bench/profile/snapshot.sh /tmp/ab/B src/client/view/page.ts
//   # then give each tree its own browser build in place of the public/build link, e.g.
//   #   rm /tmp/ab/B/tree/public/build && (cd /tmp/ab/B/tree && node scripts/build.mjs client)
//   node bench/profile/load-ab.mjs 1000 6 A=/tmp/ab/A/tree B=/tmp/ab/B/tree
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { seedRooms } from '../lib/page.mjs';
import { benchChatEnv, deleteKeys, startChat } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const [roomsArg = '1000', roundsArg = '6', ...variantArgs] = process.argv.slice(2);
const ROOMS = Number(roomsArg);
const ROUNDS = Number(roundsArg);
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}`);
const prefix = `lab:${randomBytes(3).toString('hex')}:`;

// The seeding sends 2 texts a room from one user: the rate limit is raised for it.
const startServer = (tree) =>
  startChat({
    name: tree,
    redisUrl,
    prefix,
    env: benchChatEnv({ RATE_LIMIT_COUNT: '1000000', RATE_LIMIT_WINDOW_MS: '1000' }),
    tree,
  });

const { chromium } = await import('playwright-core');
const redis = new Redis(redisUrl);
const servers = [];
let browser = null;
try {
  for (const v of variantArgs) {
    const i = v.indexOf('=');
    servers.push({ ...(await startServer(v.slice(i + 1))), name: v.slice(0, i), times: [] });
  }
  if (!servers.length) throw new Error('usage: load-ab.mjs ROOMS ROUNDS name=tree [name=tree …]');
  const { cookie } = await seedRooms({ url: servers[0].url, secure: true, tag: 'load-ab', rooms: ROOMS, perRoom: 2 });
  const [name, value] = cookie.split(/=(.*)/s);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] });
  // Round 0 warms the servers' and the browser's caches; the order flips each round.
  for (let round = 0; round <= ROUNDS; round++) {
    for (const s of round % 2 ? [...servers].reverse() : servers) {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        extraHTTPHeaders: { 'x-forwarded-proto': 'https' },
      });
      await context.addCookies([{ name, value, domain: '127.0.0.1', path: '/' }]);
      const page = await context.newPage();
      await page.goto(`${s.url}/chat`, { waitUntil: 'load' });
      const t = await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0];
        return {
          scripts: n.domContentLoadedEventEnd - n.domInteractive,
          dcl: n.domContentLoadedEventEnd,
          load: n.loadEventStart,
        };
      });
      await context.close();
      if (round > 0) s.times.push(t);
    }
  }
  const m = (s, k) => Math.round(median(s.times.map((t) => t[k])));
  console.log(`/chat in Chromium, ${ROOMS} rooms, ${ROUNDS} loads each (medians):`);
  for (const s of servers)
    console.log(
      `${s.name.padEnd(8)} deferred scripts ${m(s, 'scripts')} ms (${s.times.map((t) => Math.round(t.scripts)).join(', ')})` +
        `  DOMContentLoaded ${m(s, 'dcl')} ms  load ${m(s, 'load')} ms`,
    );
} finally {
  await browser?.close();
  for (const s of servers) await s.stop();
  await deleteKeys(redis, prefix).catch(() => {});
  await redis.quit();
}
