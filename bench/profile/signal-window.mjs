// The profiling hooks' one switch (alloc-hook.mjs, cpu-hook.mjs): the first SIGUSR2 starts a
// profile through the inspector, the second stops it and writes `<prefix>-<pid>-<n>.<ext>`; and
// so on, a file per window.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/**
 * `start(session)` begins; `stop` is the inspector method whose answer holds `profile`.
 * `name` tags the messages on stderr.
 */
export function profileWindows({ name, prefix, ext, setUp = () => {}, start, stop }) {
  const session = new Session();
  session.connect();
  setUp(session);
  let on = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    if (!on) {
      start(session);
      on = true;
      return;
    }
    session.post(stop, (err, res) => {
      on = false;
      if (err) return process.stderr.write(`${name}: ${err.message}\n`);
      const file = `${prefix}-${process.pid}-${++n}.${ext}`;
      writeFileSync(file, JSON.stringify(res.profile));
      process.stderr.write(`${name}: wrote ${file}\n`);
    });
  });
}
