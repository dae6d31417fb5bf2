// `npm run dev`: the server under `tsx watch` (restarts when a server file changes), and the
// browser side rebuilt whenever src/client/, src/shared/ (imported by the bundle) or
// views/macros/ or public/css/ change — the bundle, the precompiled macros and the style sheet,
// under new content-hashed names — so the markup the server renders and the markup the browser
// renders come from the same macros while developing. The server reads the rebuilt manifest
// (src/http/assets.ts) on the next page: reload the page to pick a browser rebuild up.
import { execFile, spawn } from 'node:child_process';
import { watch } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const watched = ['src/client', 'src/shared', 'views/macros', 'public/css'];

let building = false;
let again = false;
function buildClient() {
  if (building) {
    again = true;
    return;
  }
  building = true;
  const started = Date.now();
  execFile(
    process.execPath,
    [path.join(root, 'scripts', 'build.mjs'), 'client'],
    { cwd: root },
    (err, _out, errOut) => {
      building = false;
      if (err) console.error(`dev: browser build failed\n${errOut || err.message}`);
      else console.log(`dev: browser bundle and macros rebuilt (${Date.now() - started} ms)`);
      if (again) {
        again = false;
        buildClient();
      }
    },
  );
}

let timer;
const watchers = watched.map((dir) =>
  // An editor's save is several events: one build for all of them.
  watch(path.join(root, dir), { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(buildClient, 100);
  }),
);
buildClient();

const server = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), ['watch', 'src/main.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { NODE_ENV: 'development', ...process.env },
});
server.once('exit', (code) => {
  for (const w of watchers) w.close();
  process.exit(code ?? 0);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.kill(signal));
