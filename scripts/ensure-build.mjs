// `npm start` right after `npm install`: build when dist/ or public/build/ is missing or older
// than the sources, so a fresh clone needs no separate build step.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const builtAt = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
const server = builtAt(path.join(root, 'dist', 'main.js'));
const client = builtAt(path.join(root, 'public', 'build', 'templates.js'));
const sources = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'views', 'macros')));
if (server === 0 || client === 0 || sources > Math.min(server, client)) {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
}
