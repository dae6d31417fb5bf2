// The load generator (bench/loadgen.mjs) as a forked process driven over IPC: `call(type, args)`
// sends a command and resolves its result; `close()` ends it. Used by run.mjs and the profiling
// harness (bench/profile/fixed-rate.mjs).
import { fork } from 'node:child_process';
import path from 'node:path';
import { root } from './servers.mjs';

/**
 * Forks the generator with `execArgv` (the servers' Node flags: its own collector pauses would
 * otherwise be counted as the server's latency); resolves once it says it is ready.
 */
export function startLoadgenProcess(execArgv) {
  const child = fork(path.join(root, 'bench', 'loadgen.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
  });
  const pending = new Map();
  let seq = 0;
  let readyResolve;
  const ready = new Promise((r) => (readyResolve = r));
  child.on('message', (m) => {
    if (m.ready) return readyResolve();
    const p = pending.get(m.seq);
    pending.delete(m.seq);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`loadgen: ${m.error}`));
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`loadgen exited with ${code}`));
  });
  const call = (type, args = {}) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve, reject });
      child.send({ ...args, type, seq: id });
    });
  return ready.then(() => ({
    pid: child.pid,
    call,
    async close() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      await call('close').catch(() => {});
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(killer);
    },
  }));
}
