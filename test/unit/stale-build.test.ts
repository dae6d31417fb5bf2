/**
 * The stale-build guard, proved without touching src/: a scratch project holds copies of the real
 * scripts/test.mjs and scripts/ensure-build.mjs, a source file, a build with chosen mtimes, and a
 * stand-in scripts/build.mjs that only records that it ran. `npm test -- unit` (test.mjs) against
 * a build older than src/ rebuilds before any suite; against a fresh build it does not; and
 * `ensure-build --check` refuses a stale build, naming the newer source.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { root } from '../helpers/server.js';

const HOUR = 3600;

function scratchProject(buildAgeSeconds: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stale-build-'));
  mkdirSync(path.join(dir, 'scripts'));
  for (const f of ['test.mjs', 'ensure-build.mjs'])
    copyFileSync(path.join(root, 'scripts', f), path.join(dir, 'scripts', f));
  // The stand-in build: records that it ran and writes fresh outputs, as the real one does.
  writeFileSync(
    path.join(dir, 'scripts', 'build.mjs'),
    `import { mkdirSync, writeFileSync } from 'node:fs';
     mkdirSync('dist', { recursive: true }); mkdirSync('public/build', { recursive: true });
     writeFileSync('dist/main.js', ''); writeFileSync('public/build/manifest.json', '');
     writeFileSync('built.marker', 'yes');`,
  );
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, 'views', 'macros'), { recursive: true });
  mkdirSync(path.join(dir, 'dist'));
  mkdirSync(path.join(dir, 'public', 'build'), { recursive: true });
  writeFileSync(path.join(dir, 'src', 'main.ts'), 'export {};\n');
  writeFileSync(path.join(dir, 'dist', 'main.js'), '');
  writeFileSync(path.join(dir, 'public', 'build', 'manifest.json'), '');
  // Every source an hour old; the build `buildAgeSeconds` old (older than the sources when > 1 h).
  const now = Date.now() / 1000;
  for (const f of ['scripts/build.mjs', 'src/main.ts', 'src', 'views/macros']) {
    utimesSync(path.join(dir, f), now - HOUR, now - HOUR);
  }
  for (const f of ['dist/main.js', 'public/build/manifest.json']) {
    utimesSync(path.join(dir, f), now - buildAgeSeconds, now - buildAgeSeconds);
  }
  return dir;
}

const scratch: string[] = [];
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function run(dir: string, script: string, ...args: string[]) {
  // No Redis needed: the unit stage of an empty project runs no suite, only the guard.
  return spawnSync(process.execPath, [path.join(dir, 'scripts', script), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: '', TEST_REDIS_URL: 'redis://127.0.0.1:1/0' },
  });
}

describe('stale-build guard', () => {
  it('npm test -- unit rebuilds first when dist/ is older than src/', () => {
    const dir = scratchProject(2 * HOUR);
    scratch.push(dir);
    const r = run(dir, 'test.mjs', 'unit');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(existsSync(path.join(dir, 'built.marker')), `rebuilt:\n${r.stdout}`);
    assert.match(r.stdout, /src\/main\.ts is newer than the build/);
  });

  it('does not rebuild a build newer than every source', () => {
    const dir = scratchProject(60);
    scratch.push(dir);
    const r = run(dir, 'test.mjs', 'unit');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(existsSync(path.join(dir, 'built.marker')), false, r.stdout);
  });

  it('ensure-build --check refuses a stale build, naming the newer source, and builds nothing', () => {
    const dir = scratchProject(2 * HOUR);
    scratch.push(dir);
    const r = run(dir, 'ensure-build.mjs', '--check');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /stale build: src\/main\.ts is newer than the build/);
    assert.equal(existsSync(path.join(dir, 'built.marker')), false);
  });

  it('a build that fails stops the run before any suite', () => {
    const dir = scratchProject(2 * HOUR);
    scratch.push(dir);
    writeFileSync(path.join(dir, 'scripts', 'build.mjs'), 'process.exit(3);\n');
    const r = run(dir, 'test.mjs', 'unit', 'integration');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /Failed stages: build \(if older than src\/\)/);
  });
});
