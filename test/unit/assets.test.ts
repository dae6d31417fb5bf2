/**
 * The templates' `asset()` source (src/http/assets.ts) on a scratch manifest: built names come
 * from the manifest, vendor names carry the installed package's version, an unknown name throws,
 * and in development a rebuilt manifest is read again while the server keeps running.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadAssets } from '../../src/http/assets.js';
import { root } from '../helpers/server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'assets-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeManifest(m: Record<string, string>, at: number): void {
  const f = path.join(dir, 'manifest.json');
  writeFileSync(f, JSON.stringify(m));
  utimesSync(f, at, at);
}

test('built and vendor names; unknown names throw', () => {
  writeManifest({ 'chat.js': 'chat-AAAA.js' }, 1000);
  const assets = loadAssets(dir, false);
  assert.equal(assets.url('chat.js'), '/build/chat-AAAA.js');
  assert.equal(assets.isHashed('chat-AAAA.js'), true);
  assert.equal(assets.isHashed('manifest.json'), false);
  const { version } = JSON.parse(readFileSync(path.join(root, 'node_modules/bootstrap/package.json'), 'utf8')) as {
    version: string;
  };
  assert.equal(
    assets.url('vendor/bootstrap/css/bootstrap.min.css'),
    `/vendor/bootstrap@${version}/css/bootstrap.min.css`,
  );
  assert.throws(() => assets.url('nope.js'), /asset nope\.js: not in/);
  assert.throws(() => assets.url('vendor/jquery/jquery.js'), /no vendor package jquery/);
});

test('development reads a rebuilt manifest again; production keeps the first', () => {
  writeManifest({ 'chat.js': 'chat-AAAA.js' }, 1000);
  const dev = loadAssets(dir, true);
  const prod = loadAssets(dir, false);
  assert.equal(dev.url('chat.js'), '/build/chat-AAAA.js');
  assert.equal(prod.url('chat.js'), '/build/chat-AAAA.js');
  writeManifest({ 'chat.js': 'chat-BBBB.js' }, 2000);
  assert.equal(dev.url('chat.js'), '/build/chat-BBBB.js');
  assert.equal(dev.isHashed('chat-AAAA.js'), false);
  assert.equal(prod.url('chat.js'), '/build/chat-AAAA.js');
});

test('no build: production stops at once, development at the first page; the error says to build', () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'assets-none-'));
  try {
    assert.throws(() => loadAssets(empty, false), /no browser build .*run npm run build/);
    const dev = loadAssets(empty, true);
    assert.throws(() => dev.url('chat.js'), /no browser build .*run npm run build/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
