// Order statistics over a sample, and the figures a step reports.

/** Percentiles (nearest rank) of a numeric array; sorts a copy. */
export function summarize(values) {
  const n = values.length;
  if (n === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  const r = (x) => Math.round(x * 100) / 100;
  return { count: n, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(sorted[n - 1]) };
}

export function median(values) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A growable Float64 buffer: latency samples at tens of thousands per second without GC churn. */
export class Samples {
  constructor(capacity = 1 << 16) {
    this.buf = new Float64Array(capacity);
    this.length = 0;
  }
  push(v) {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values() {
    return this.buf.subarray(0, this.length);
  }
}
