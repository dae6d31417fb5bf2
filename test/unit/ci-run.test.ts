/**
 * `.ci/run`'s time cap, proved on a scratch copy: stand-ins for npm (hangs), apt-get and
 * redis-cli on PATH, and a one-second cap. The run must fail with 124 and say it hit the cap, and
 * the hung command must be gone (timeout signals the whole process group, not only the script).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { root } from '../helpers/server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ci-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function stub(name: string, body: string): void {
  const f = path.join(dir, 'bin', name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
}

/** Running, not gone and not a zombie (an orphan killed here may wait for a reaper). */
function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

it('a hung run stops at the cap with exit 124 and a message, its children killed', () => {
  mkdirSync(path.join(dir, '.ci'));
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(path.join(root, '.ci', 'run'), path.join(dir, '.ci', 'run'));
  stub('redis-cli', 'exit 0');
  stub('apt-get', 'exit 0');
  // npm ci "hangs": records its pid so the test can see it was killed with the run.
  stub('npm', `echo $$ > "${dir}/npm.pid"; exec sleep 60`);
  const started = Date.now();
  const r = spawnSync(path.join(dir, '.ci', 'run'), {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH ?? ''}`, CI_RUN_TIMEOUT: '1s', CI_RUN_CAPPED: '' },
    timeout: 20_000,
  });
  assert.equal(r.status, 124, r.stdout + r.stderr);
  assert.match(r.stderr, /stopped at the time cap \(1s\)/);
  assert.ok(Date.now() - started < 10_000, 'the cap, not the hung command, ended the run');
  const pid = Number(readFileSync(path.join(dir, 'npm.pid'), 'utf8'));
  assert.ok(!alive(pid), 'the hung npm was killed with the run');
});

it('the cap is 40 minutes unless CI_RUN_TIMEOUT says otherwise', () => {
  assert.match(readFileSync(path.join(root, '.ci', 'run'), 'utf8'), /cap="\$\{CI_RUN_TIMEOUT:-40m\}"/);
});
