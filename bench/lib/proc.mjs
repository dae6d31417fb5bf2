// CPU and memory of other processes, read from /proc (Linux): what the server, Redis and the
// generator cost at each step.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // getconf missing: 100 is the Linux default.
}

/** User + system CPU seconds used so far by `pid`, or null when it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clkTck;
  } catch {
    return null;
  }
}

/** Resident set size of `pid` in bytes, or null. */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The soft limit on open files of this process (children inherit it). */
export function openFilesLimit() {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/**
 * Waits (at most `maxMs`) until the whole machine was at most `busyPct` busy (of all cores) over
 * one `windowMs`, so a latency figure is not taken while another scenario's processes are still
 * winding down (closing thousands of sockets, Redis freeing a scenario's keys). Resolves how long
 * it waited and the last window's busy share; a timed-out wait is reported, not hidden.
 */
export async function waitForQuiet({ busyPct = 15, windowMs = 1000, maxMs = 20_000 } = {}) {
  const t0 = performance.now();
  for (;;) {
    const a = machineJiffies();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = machineJiffies();
    if (!a || !b) return { waitedMs: 0, busyPct: null, quiet: null };
    const busy = Math.round(((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 1000) / 10;
    const waitedMs = Math.round(performance.now() - t0);
    if (busy <= busyPct || waitedMs >= maxMs) return { waitedMs, busyPct: busy, quiet: busy <= busyPct };
  }
}

/**
 * Samples the processes from now until `stop()`: CPU as a percentage of one core over the whole
 * window, peak and last RSS.
 */
export function sampleProcesses(pids, intervalMs = 250) {
  const t0 = performance.now();
  const cpu0 = pids.map(cpuSeconds);
  const m0 = machineJiffies();
  const peak = pids.map(rssBytes);
  const timer = setInterval(() => {
    pids.forEach((pid, i) => {
      const r = rssBytes(pid);
      if (r !== null && (peak[i] === null || r > peak[i])) peak[i] = r;
    });
  }, intervalMs);
  return {
    /** Per process; `machineCpuPct` (all processes, 100 per core) is set on the array. */
    stop() {
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      const m1 = machineJiffies();
      const out = pids.map((pid, i) => {
        const c1 = cpuSeconds(pid);
        const rss = rssBytes(pid);
        return {
          pid,
          cpuPct: c1 === null || cpu0[i] === null ? null : Math.round(((c1 - cpu0[i]) / wall) * 1000) / 10,
          /** CPU seconds used in the window (the cost per message divides this by messages). */
          cpuSeconds: c1 === null || cpu0[i] === null ? null : c1 - cpu0[i],
          rssMB: rss === null ? null : Math.round(rss / 1e5) / 10,
          peakRssMB: peak[i] === null ? null : Math.round(Math.max(peak[i], rss ?? 0) / 1e5) / 10,
        };
      });
      out.machineCpuPct =
        m0 && m1 ? Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * os.cpus().length * 1000) / 10 : null;
      return out;
    },
  };
}
