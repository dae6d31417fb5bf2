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
  setTimeout(async () => {
    const v8 = await import('node:v8');
    const m = process.memoryUsage();
    // Per V8 space, committed and used MB: where RSS beyond the live heap sits.
    const spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((sp) => [
          sp.space_name,
          [Math.round(sp.space_size / 1e5) / 10, Math.round(sp.space_used_size / 1e5) / 10],
        ]),
    );
    process.stdout.write(
      `${JSON.stringify({ gcHook: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spaces } })}\n`,
    );
  }, 500);
});
