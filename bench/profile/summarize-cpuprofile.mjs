// Where a `node --cpu-prof` profile's samples went: self time by function and by package
// (node_modules/<name>, node:internal, our dist/ files, V8's own categories), idle left out.
//   node bench/profile/summarize-cpuprofile.mjs FILE.cpuprofile [top N] [skip seconds]
// The last table is inclusive time (the function and what it called), for `CPU_PROF_INCLUSIVE`
// (a comma-separated list of name fragments, e.g. `read,acquire,authenticate`).
import { readFileSync } from 'node:fs';

// SKIP: seconds at the start left out (start-up, sign-ins, connections), so only the load counts.
const [file, topArg, skipArg] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 40);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// The profiler's own start (cpu-hook.mjs's SIGUSR2 handler: `Profiler.start` is answered inside
// the first samples, as "dispatch") is not the program's work: those samples are left out.
const hookOwn = new Set();
for (const n of prof.nodes)
  for (let at = n.id; at !== undefined; at = parent.get(at))
    if (/\/(cpu-hook|signal-window)\.mjs$/.test(byId.get(at).callFrame.url ?? '')) {
      hookOwn.add(n.id);
      break;
    }
const self = new Map();
const dt = prof.timeDeltas;
const skipUs = Number(skipArg ?? 0) * 1e6;
let t = 0;
for (let i = 0; i < prof.samples.length; i++) {
  t += dt[i] ?? 0;
  const id = prof.samples[i];
  if (t < skipUs || hookOwn.has(id)) continue;
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const where = (cf) => {
  const url = cf.url || '';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  if (url.includes('/dist/')) return 'app:' + url.slice(url.indexOf('/dist/') + 6);
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  return url;
};
const fn = new Map();
const pkg = new Map();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  if (cf.functionName === '(idle)') continue;
  total += us;
  const k = `${cf.functionName || '(anon)'} ${where(cf)}:${cf.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + us);
  const p = where(cf);
  pkg.set(p, (pkg.get(p) ?? 0) + us);
}
const pct = (x) => ((x / total) * 100).toFixed(1).padStart(5) + '%';
console.log(`busy samples: ${(total / 1e3).toFixed(0)} ms`);
console.log('\nby package / file:');
for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
console.log('\nby function:');
for (const [k, v] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);

const wanted = (process.env.CPU_PROF_INCLUSIVE ?? '').split(',').filter(Boolean);
if (wanted.length) {
  const incl = new Map();
  for (const [id, us] of self) {
    if (byId.get(id).callFrame.functionName === '(idle)') continue;
    // Each matching function once per sample, however deep the recursion.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const cf = byId.get(at).callFrame;
      const k = `${cf.functionName || '(anon)'} ${where(cf)}:${cf.lineNumber + 1}`;
      if (!seen.has(k) && wanted.some((w) => k.includes(w))) seen.add(k);
    }
    for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + us);
  }
  console.log('\ninclusive (CPU_PROF_INCLUSIVE):');
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
}
