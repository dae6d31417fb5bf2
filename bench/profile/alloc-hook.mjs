// Preloaded into a server (`node --import ./bench/profile/alloc-hook.mjs`): every allocation,
// sampled, including what the young generation collects at once — `--heap-prof` keeps only what
// is still alive at the end, which hides per-message garbage. The first SIGUSR2 starts the
// sampling, the second writes ALLOC_PROF_FILE-<pid>-<n>.heapprofile (for Chrome DevTools, or
// bench/profile/summarize-heapprofile.mjs). fixed-rate.mjs --signal sends them around each step.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
let on = false;
let n = 0;
process.on('SIGUSR2', () => {
  if (!on) {
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      // ALLOC_PROF_SURVIVORS=1: only what outlived the young generation (promoted, or still alive
      // at the end): the allocations that make scavenges slow and feed the old generation.
      includeObjectsCollectedByMinorGC: process.env.ALLOC_PROF_SURVIVORS !== '1',
    });
    on = true;
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, res) => {
    on = false;
    if (err) return process.stderr.write(`alloc-hook: ${err.message}\n`);
    const file = `${process.env.ALLOC_PROF_FILE || 'alloc'}-${process.pid}-${++n}.heapprofile`;
    writeFileSync(file, JSON.stringify(res.profile));
    process.stderr.write(`alloc-hook: wrote ${file}\n`);
  });
});
