// Preloaded into a server (`node --import ./bench/profile/cpu-hook.mjs`): a CPU profile of chosen
// windows only — `--cpu-prof` covers the whole process, start-up and set-up included. The first
// SIGUSR2 starts the profiler, the second writes CPU_PROF_FILE-<pid>-<n>.cpuprofile (for Chrome
// DevTools, or bench/profile/summarize-cpuprofile.mjs). reconnect-cost.mjs --prof, page-ab.mjs
// --cpu-prof, fixed-rate.mjs --signal and BENCH_STORM_CPU_HOOK send them around what they measure.
import { profileWindows } from './signal-window.mjs';

profileWindows({
  name: 'cpu-hook',
  prefix: process.env.CPU_PROF_FILE || 'cpu',
  ext: 'cpuprofile',
  setUp: (session) => {
    session.post('Profiler.enable');
    // 200 µs: the default 1 ms leaves a few thousand samples for a window of a few seconds.
    session.post('Profiler.setSamplingInterval', { interval: 200 });
  },
  start: (session) => session.post('Profiler.start'),
  stop: 'Profiler.stop',
});
