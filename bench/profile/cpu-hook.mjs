// Preloaded into a server (`node --import ./bench/profile/cpu-hook.mjs`): a CPU profile of chosen
// windows only — `--cpu-prof` covers the whole process, start-up and set-up included. The first
// SIGUSR2 starts the profiler, the second writes CPU_PROF_FILE-<pid>-<n>.cpuprofile (for Chrome
// DevTools, or bench/profile/summarize-cpuprofile.mjs). reconnect-cost.mjs --prof sends them
// around one phase of each round.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
session.post('Profiler.enable');
// 200 µs: the default 1 ms leaves a few thousand samples for a window of a few seconds.
session.post('Profiler.setSamplingInterval', { interval: 200 });
let on = false;
let n = 0;
process.on('SIGUSR2', () => {
  if (!on) {
    session.post('Profiler.start');
    on = true;
    return;
  }
  session.post('Profiler.stop', (err, res) => {
    on = false;
    if (err) return process.stderr.write(`cpu-hook: ${err.message}\n`);
    const file = `${process.env.CPU_PROF_FILE || 'cpu'}-${process.pid}-${++n}.cpuprofile`;
    writeFileSync(file, JSON.stringify(res.profile));
    process.stderr.write(`cpu-hook: wrote ${file}\n`);
  });
});
