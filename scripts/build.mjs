// Builds everything `npm start` serves: the server (tsc → dist/), the browser bundle
// (esbuild → public/build/chat.js) and the Nunjucks macros precompiled for the browser
// (public/build/templates.js), so one macro source renders on both sides without eval.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import nunjucks from 'nunjucks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'public', 'build');
mkdirSync(out, { recursive: true });

const only = process.argv[2];

if (!only || only === 'server') {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}

if (!only || only === 'client') {
  // Precompile every macro file; the browser bundle imports them as an ES module.
  const macrosDir = path.join(root, 'views', 'macros');
  const files = existsSync(macrosDir) ? readdirSync(macrosDir).filter((f) => f.endsWith('.njk')) : [];
  const env = new nunjucks.Environment([], { autoescape: true });
  let js = '';
  for (const f of files) {
    js += nunjucks.precompile(path.join(macrosDir, f), { name: `macros/${f}`, env });
  }
  writeFileSync(path.join(out, 'templates.js'), js);
  // The slim runtime (precompiled templates only, no compiler) is served as a classic script: bundled
  // into the ES module it would run in strict mode, where its global lookup falls back to
  // Function('return this'), which the CSP refuses.
  for (const f of ['nunjucks-slim.min.js', 'nunjucks-slim.min.js.map']) {
    copyFileSync(path.join(root, 'node_modules', 'nunjucks', 'browser', f), path.join(out, f));
  }

  const entries = ['src/client/chat.ts', 'src/client/login.ts'].filter((e) => existsSync(path.join(root, e)));
  if (entries.length > 0) {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: entries,
      bundle: true,
      format: 'esm',
      target: 'es2020',
      minify: true,
      sourcemap: true,
      outdir: out,
      logLevel: 'warning',
    });
  }
  // The colour mode, set before the first paint: a classic script for <head> (views/layout.njk).
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/client/theme.ts'],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    minify: true,
    outfile: path.join(out, 'theme.js'),
    logLevel: 'warning',
  });
}
console.log('build: done');
