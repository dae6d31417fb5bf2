// Builds everything `npm start` serves: the server (tsc → dist/) and the browser side into
// public/build/: the bundles (esbuild), the Nunjucks macros precompiled for the browser (so one
// macro source renders on both sides without eval), the slim Nunjucks runtime and our style sheet.
// Every browser file is named after its content (`chat-<hash>.js`), listed in
// public/build/manifest.json (logical name → file), which the templates read through `asset()`
// (src/http/assets.ts): a page names exactly the files of its own build, so they can be cached
// for a year and a deploy never pairs a new templates file with an old bundle.
//
//   node scripts/build.mjs [server|client] [--out DIR]   (--out: the browser files elsewhere)
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, renameSync, statSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import nunjucks from 'nunjucks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? path.resolve(args[outAt + 1] ?? '') : path.join(root, 'public', 'build');
if (outAt >= 0) args.splice(outAt, 2);
mkdirSync(out, { recursive: true });

const only = args[0];

if (!only || only === 'server') {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}

if (!only || only === 'client') {
  /** logical name → file written under `out` (content-hashed). */
  const manifest = {};
  const hashOf = (content) => createHash('sha256').update(content).digest('hex').slice(0, 12);
  /** Writes `content` as `<stem>-<hash><ext>` and records it under `logical`. */
  const emit = (logical, content, stem, ext) => {
    const file = `${stem}-${hashOf(content)}${ext}`;
    writeFileSync(path.join(out, file), content);
    manifest[logical] = file;
    return file;
  };

  // Precompile every macro file; the browser bundle reads them from the global the runtime keeps.
  const macrosDir = path.join(root, 'views', 'macros');
  const files = existsSync(macrosDir)
    ? readdirSync(macrosDir)
        .filter((f) => f.endsWith('.njk'))
        .sort()
    : [];
  const env = new nunjucks.Environment([], { autoescape: true });
  let js = '';
  for (const f of files) {
    js += nunjucks.precompile(path.join(macrosDir, f), { name: `macros/${f}`, env });
  }
  emit('templates.js', js, 'templates', '.js');
  // The slim runtime (precompiled templates only, no compiler) is served as a classic script: bundled
  // into the ES module it would run in strict mode, where its global lookup falls back to
  // Function('return this'), which the CSP refuses. Its source map is hashed too and the script
  // names the hashed map.
  const slimDir = path.join(root, 'node_modules', 'nunjucks', 'browser');
  const slimMap = emit(
    'nunjucks-slim.min.js.map',
    readFileSync(path.join(slimDir, 'nunjucks-slim.min.js.map')),
    'nunjucks-slim',
    '.min.js.map',
  );
  const slim = readFileSync(path.join(slimDir, 'nunjucks-slim.min.js'), 'utf8').replace(
    /sourceMappingURL=nunjucks-slim\.min\.js\.map/,
    `sourceMappingURL=${slimMap}`,
  );
  emit('nunjucks-slim.min.js', slim, 'nunjucks-slim', '.min.js');
  emit('chat.css', readFileSync(path.join(root, 'public', 'css', 'chat.css')), 'chat', '.css');

  /** Records esbuild's outputs (named `[name]-[hash]`) under their entry's name: chat.ts → chat.js. */
  const record = (metafile) => {
    for (const [file, o] of Object.entries(metafile.outputs)) {
      if (!o.entryPoint) continue;
      const logical = `${path.basename(o.entryPoint, '.ts')}.js`;
      manifest[logical] = path.basename(file);
      if (metafile.outputs[`${file}.map`]) manifest[`${logical}.map`] = path.basename(`${file}.map`);
    }
  };
  const entries = ['src/client/chat.ts', 'src/client/login.ts'].filter((e) => existsSync(path.join(root, e)));
  if (entries.length > 0) {
    const r = await esbuild.build({
      absWorkingDir: root,
      entryPoints: entries,
      bundle: true,
      format: 'esm',
      target: 'es2020',
      minify: true,
      sourcemap: true,
      outdir: out,
      entryNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'warning',
    });
    record(r.metafile);
  }
  // The colour mode, set before the first paint: a classic script for <head> (views/layout.njk).
  const theme = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/client/theme.ts'],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    outdir: out,
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  record(theme.metafile);

  // The manifest last, and by rename: a server reading it meanwhile sees the old or the new one,
  // each naming files that exist.
  const tmp = path.join(out, `manifest.json.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, path.join(out, 'manifest.json'));

  // The chat page's weight as a browser fetches it (gzip, as App Engine serves it): our files and
  // the vendor files views/layout.njk and views/chat.njk link, so a change that grows it shows in
  // every build. The bench prints the same, measured from a served page (bench/lib/page.mjs).
  const vendor = (pkg, file) => path.join(root, 'node_modules', pkg, file);
  const weigh = (file) => {
    const body = readFileSync(file);
    return { raw: body.length, gz: gzipSync(body, { level: 9 }).length };
  };
  const parts = [
    ['chat.js', path.join(out, manifest['chat.js'] ?? '')],
    ['templates.js', path.join(out, manifest['templates.js'])],
    ['nunjucks-slim.min.js', path.join(out, manifest['nunjucks-slim.min.js'])],
    ['theme.js', path.join(out, manifest['theme.js'] ?? '')],
    ['chat.css', path.join(out, manifest['chat.css'])],
    ['bootstrap.bundle.min.js', vendor('bootstrap', 'dist/js/bootstrap.bundle.min.js')],
    ['bootstrap.min.css', vendor('bootstrap', 'dist/css/bootstrap.min.css')],
    ['bootstrap-icons.min.css', vendor('bootstrap-icons', 'font/bootstrap-icons.min.css')],
  ].filter(([, f]) => existsSync(f) && statSync(f).isFile());
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  let ours = 0;
  let all = 0;
  const lines = parts.map(([name, f]) => {
    const w = weigh(f);
    all += w.gz;
    if (!f.startsWith(path.join(root, 'node_modules'))) ours += w.gz;
    return `  ${name.padEnd(24)} ${kb(w.gz).padStart(9)} gzip (${kb(w.raw)})`;
  });
  console.log(
    `build: the chat page's scripts and styles, gzip: ${kb(all)} (ours ${kb(ours)}, vendor ${kb(all - ours)})`,
  );
  if (process.env.BUILD_WEIGHTS !== '0') console.log(lines.join('\n'));

  // Files of earlier builds go once they are an hour old: a page loaded before a rebuild (npm run
  // dev, a test run beside another) can still fetch the files it names.
  const current = new Set([...Object.values(manifest), 'manifest.json']);
  for (const f of readdirSync(out)) {
    const p = path.join(out, f);
    if (!current.has(f) && Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { force: true });
  }
}
console.log('build: done');
