// Preloaded (`node --expose-gc --require bench/lib/gc-hook.cjs dist/main.js`) into the server the
// idle scenario measures. Garbage left by sign-ins and handshakes would otherwise count as the
// connections' memory or not, depending on when V8 last collected; on SIGUSR2 this runs full
// collections and prints memory after them as one JSON line, so each reading is taken at the same
// point: live data only. Never part of the app; only the bench adds it.
'use strict';
process.on('SIGUSR2', () => {
  // Two passes: the first may leave weakly held and finalizable objects for the second.
  global.gc();
  global.gc();
  // Let the allocator hand freed pages back before RSS is read.
  setTimeout(() => {
    const m = process.memoryUsage();
    process.stdout.write(
      `${JSON.stringify({ gcHook: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers } })}\n`,
    );
  }, 500);
});
