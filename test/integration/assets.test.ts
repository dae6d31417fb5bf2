/**
 * Content-hashed browser files, end to end, in a scratch copy of the project (so the shared
 * public/build is never touched): the real scripts/build.mjs builds the browser side twice with
 * one client source changed in between, and a real `node dist/main.js` of that copy serves the
 * second build. The changed bundle gets a new name, unchanged files keep theirs; the chat page
 * links the new names; every linked file is served immutable for a year, pages are never cached.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { login } from '../helpers/client.js';
import { root, startServer, type TestServer } from '../helpers/server.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

type Manifest = Record<string, string>;

describe('content-hashed assets', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'assets-'));
  const buildDir = path.join(scratch, 'public', 'build');
  let first: Manifest;
  let second: Manifest;
  let server: TestServer | undefined;

  function build(): Manifest {
    execFileSync(process.execPath, [path.join(scratch, 'scripts', 'build.mjs'), 'client'], {
      cwd: scratch,
      stdio: 'pipe',
    });
    return JSON.parse(readFileSync(path.join(buildDir, 'manifest.json'), 'utf8')) as Manifest;
  }

  before(async () => {
    // What the server and the build read; dist/ is fresh (the test stage's build guard). The
    // browser entries are small stand-ins: what is under test is the naming, and a client source
    // someone is halfway through editing must not fail it.
    for (const p of ['package.json', 'scripts/build.mjs', 'views', 'public/css', 'public/img', 'dist'])
      cpSync(path.join(root, p), path.join(scratch, p), { recursive: true });
    symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
    mkdirSync(path.join(scratch, 'src', 'client'), { recursive: true });
    for (const entry of ['chat', 'login', 'theme'])
      writeFileSync(path.join(scratch, 'src', 'client', `${entry}.ts`), `document.body.dataset.${entry} = '1';\n`);
    first = build();
    appendFileSync(path.join(scratch, 'src', 'client', 'chat.ts'), "document.body.dataset.build = 'second';\n");
    second = build();
    server = await startServer({ entry: path.relative(root, path.join(scratch, 'dist', 'main.js')) });
  });
  after(async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('a changed client source gets a new name; unchanged files keep theirs', () => {
    assert.notEqual(second['chat.js'], first['chat.js']);
    assert.match(second['chat.js']!, /^chat-[A-Za-z0-9]+\.js$/);
    assert.equal(second['chat.js.map'], `${second['chat.js']}.map`);
    for (const name of ['templates.js', 'login.js', 'theme.js', 'nunjucks-slim.min.js', 'chat.css'])
      assert.equal(second[name], first[name], `${name} is unchanged`);
    // The first build's bundle stays beside the second (a page loaded before a rebuild).
    assert.ok(existsSync(path.join(buildDir, first['chat.js']!)));
    assert.ok(existsSync(path.join(buildDir, second['chat.js']!)));
  });

  test('the chat page links the second build and is not cached; its files are immutable', async () => {
    const { cookie } = await login(server!.url, 'Assets');
    const res = await fetch(`${server!.url}/chat`, { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const html = await res.text();
    const links = [...html.matchAll(/(?:src|href)="(\/(?:build|vendor)\/[^"]+)"/g)].map((m) => m[1]!);
    for (const name of ['chat.js', 'templates.js', 'nunjucks-slim.min.js', 'theme.js', 'chat.css'])
      assert.ok(links.includes(`/build/${second[name]}`), `links ${name} as ${second[name]}: ${links.join(' ')}`);
    assert.ok(!html.includes(first['chat.js']!), 'not the first build');
    // Vendor files: under their package's version, not hashed by us.
    const { version } = JSON.parse(readFileSync(path.join(root, 'node_modules/bootstrap/package.json'), 'utf8')) as {
      version: string;
    };
    assert.ok(links.includes(`/vendor/bootstrap@${version}/css/bootstrap.min.css`), links.join(' '));
    assert.ok(links.includes(`/vendor/bootstrap@${version}/js/bootstrap.bundle.min.js`), links.join(' '));
    assert.ok(links.some((l) => /^\/vendor\/bootstrap-icons@[\d.]+\/bootstrap-icons\.min\.css$/.test(l)));

    for (const link of links) {
      const asset = await fetch(`${server!.url}${link}`);
      assert.equal(asset.status, 200, link);
      assert.equal(asset.headers.get('cache-control'), IMMUTABLE, link);
      assert.ok((await asset.arrayBuffer()).byteLength > 0, link);
    }
    // The runtime names its hashed source map, which is immutable too.
    const slim = await (await fetch(`${server!.url}/build/${second['nunjucks-slim.min.js']}`)).text();
    assert.ok(slim.includes(`sourceMappingURL=${second['nunjucks-slim.min.js.map']}`));
    const map = await fetch(`${server!.url}/build/${second['nunjucks-slim.min.js.map']}`);
    assert.equal(map.headers.get('cache-control'), IMMUTABLE);
  });

  test('the sign-in page is not cached; the manifest and unknown files are not immutable', async () => {
    const page = await fetch(`${server!.url}/login`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.ok((await page.text()).includes(`/build/${second['theme.js']}`));
    const manifest = await fetch(`${server!.url}/build/manifest.json`);
    assert.equal(manifest.headers.get('cache-control'), 'no-cache');
    const missing = await fetch(`${server!.url}/build/chat-NOSUCHFILE.js`);
    assert.equal(missing.status, 404);
    assert.notEqual(missing.headers.get('cache-control'), IMMUTABLE);
  });
});
