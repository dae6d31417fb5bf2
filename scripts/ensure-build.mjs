// The build is never older than its sources: `npm start`, `npm test -- <stage>`, the bench and
// the operator script run this first. It builds when dist/ or public/build/ is missing or older
// than anything it is built from (a fresh clone needs no separate build step; a test never runs
// yesterday's build). `--check` builds nothing: it exits 1 naming the newer source instead.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The newest file under `p` (a file or a directory): [mtime, path]. */
function newest(p) {
  if (!existsSync(p)) return [0, p];
  const st = statSync(p);
  if (!st.isDirectory()) return [st.mtimeMs, p];
  let best = [0, p];
  for (const e of readdirSync(p)) {
    const n = newest(path.join(p, e));
    if (n[0] > best[0]) best = n;
  }
  return best;
}

const builtAt = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
// The manifest is the browser build's last write (scripts/build.mjs).
const outputs = [path.join(root, 'dist', 'main.js'), path.join(root, 'public', 'build', 'manifest.json')];
const built = Math.min(...outputs.map(builtAt));
const [sourceTime, source] = ['src', 'views/macros', 'public/css', 'tsconfig.json', 'scripts/build.mjs']
  .map((p) => newest(path.join(root, p)))
  .reduce((a, b) => (b[0] > a[0] ? b : a));

if (built === 0 || sourceTime > built) {
  const why = built === 0 ? 'no build yet' : `${path.relative(root, source)} is newer than the build`;
  if (process.argv.includes('--check')) {
    console.error(`stale build: ${why}; run npm run build`);
    process.exit(1);
  }
  console.log(`build: ${why}; building`);
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
}
