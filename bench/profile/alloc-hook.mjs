// Preloaded into a server (`node --import ./bench/profile/alloc-hook.mjs`): every allocation,
// sampled, including what the young generation collects at once — `--heap-prof` keeps only what
// is still alive at the end, which hides per-message garbage. The first SIGUSR2 starts the
// sampling, the second writes ALLOC_PROF_FILE-<pid>-<n>.heapprofile (for Chrome DevTools, or
// bench/profile/summarize-heapprofile.mjs). fixed-rate.mjs --signal sends them around each step.
import { profileWindows } from './signal-window.mjs';

profileWindows({
  name: 'alloc-hook',
  prefix: process.env.ALLOC_PROF_FILE || 'alloc',
  ext: 'heapprofile',
  start: (session) =>
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      // ALLOC_PROF_SURVIVORS=1: only what outlived the young generation (promoted, or still alive
      // at the end): the allocations that make scavenges slow and feed the old generation.
      includeObjectsCollectedByMinorGC: process.env.ALLOC_PROF_SURVIVORS !== '1',
    }),
  stop: 'HeapProfiler.stopSampling',
});
