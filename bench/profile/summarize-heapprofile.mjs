// Where the bytes of a sampled allocation profile (bench/profile/alloc-hook.mjs) were allocated:
// by allocating function (self) and by package, and optionally divided by a message count.
//   node bench/profile/summarize-heapprofile.mjs FILE.heapprofile [messages] [top N]
import { readFileSync } from 'node:fs';

const [file, msgArg, topArg] = process.argv.slice(2);
const { head } = JSON.parse(readFileSync(file, 'utf8'));
const msgs = Number(msgArg ?? 0);
const top = Number(topArg ?? 40);
const fn = new Map();
const pkg = new Map();
let total = 0;
const label = (cf) => {
  const url = cf.url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, 'app:');
  return `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
};
const pkgOf = (cf) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
  if (m) return m[1];
  if (cf.url.includes('/dist/')) return 'app:' + cf.url.slice(cf.url.indexOf('/dist/') + 6);
  return cf.url.split('/').slice(0, 2).join('/') || cf.functionName;
};
(function walk(node, stack) {
  const self = node.selfSize;
  if (self) {
    total += self;
    const k = label(node.callFrame);
    fn.set(k, (fn.get(k) ?? 0) + self);
    // Charge a package with the bytes of any frame of it on the stack, once (inclusive).
    for (const p of new Set([...stack, pkgOf(node.callFrame)])) pkg.set(p, (pkg.get(p) ?? 0) + self);
  }
  for (const c of node.children) walk(c, [...stack, pkgOf(node.callFrame)]);
})(head, []);
const fmt = (b) => (msgs ? `${Math.round(b / msgs)} B/msg` : `${Math.round(b / 1024)} KB`).padStart(12);
console.log(
  `total sampled: ${Math.round(total / 1024)} KB${msgs ? `, ${Math.round(total / msgs)} B per message` : ''}`,
);
console.log('\ninclusive by package (a package counts the bytes of every stack it is in):');
for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(fmt(v), k);
console.log('\nself by function:');
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(fmt(v), k);
