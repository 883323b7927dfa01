/**
 * A log-bucketed latency histogram (2 % wide buckets from 1 µs to ~10 min): constant memory,
 * cheap to record, mergeable across worker processes, percentiles within 1 %.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 1100;

export interface HistogramSnapshot {
  /** [bucket index, count] for every non-empty bucket. */
  buckets: [number, number][];
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  count = 0;
  sumMs = 0;
  minMs = Infinity;
  maxMs = 0;

  record(ms: number): void {
    const us = ms * 1000;
    const idx = us < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH) + 1);
    this.counts[idx]++;
    this.count++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** How many recorded values exceed `ms` (bucket resolution). */
  countAbove(ms: number): number {
    const us = ms * 1000;
    const idx = us < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH) + 1);
    let n = 0;
    for (let i = idx + 1; i < BUCKETS; i++) n += this.counts[i];
    return n;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.minMs = Infinity;
    this.maxMs = 0;
  }

  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) buckets.push([i, this.counts[i]]);
    return { buckets, count: this.count, sumMs: this.sumMs, minMs: this.count ? this.minMs : 0, maxMs: this.maxMs };
  }

  merge(s: HistogramSnapshot): void {
    if (!s.count) return;
    for (const [i, c] of s.buckets) this.counts[i] += c;
    this.count += s.count;
    this.sumMs += s.sumMs;
    if (s.minMs < this.minMs) this.minMs = s.minMs;
    if (s.maxMs > this.maxMs) this.maxMs = s.maxMs;
  }

  /** The value at quantile q (0..1), in ms: the geometric middle of its bucket, clamped to min/max. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const mid = i === 0 ? 0.5 : Math.pow(GROWTH, i - 0.5);
        return Math.min(this.maxMs, Math.max(this.minMs, mid / 1000));
      }
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.count ? this.maxMs : NaN,
      mean: this.count ? this.sumMs / this.count : NaN,
    };
  }

  static from(snapshots: HistogramSnapshot[]): Histogram {
    const h = new Histogram();
    for (const s of snapshots) h.merge(s);
    return h;
  }
}
