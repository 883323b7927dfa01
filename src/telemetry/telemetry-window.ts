import type { Family, Signal } from './collector-metrics';

/** Resolution of the window: one bucket per 15 s. */
export const BUCKET_MS = 15_000;
/** Buckets kept: one hour. */
export const BUCKETS = 240;
/** Most series (one per family, component and signal) one agent's window holds. */
export const MAX_SERIES = 64;
/** Most input streams (one per metric name and attribute set) whose cumulative state is tracked. */
export const MAX_STREAMS = 256;
/** Most restarts remembered (enough for any Restarting threshold). */
const MAX_RESTARTS = 16;

export interface SeriesId {
  family: Family;
  kind: 'counter' | 'gauge';
  component?: string;
  signal?: Signal;
}

interface Series extends SeriesId {
  /** Counters: items in each bucket. Gauges: last value in each bucket (NaN: none). Float32 halves the memory; counts per 15 s stay exact below 2^24. */
  values: Float32Array;
  /** Items per second over the agent's latest report interval (counters). */
  rate: number;
  /** Latest value (gauges). */
  last: number;
}

/** What is remembered of one input stream between reports, to turn cumulative values into deltas. */
interface Stream {
  series: Series;
  kind: 'counter' | 'gauge';
  cumulative: boolean;
  value: number;
  timeMs: number;
  startMs: number;
  /** Items per second over this stream's latest interval (counters). */
  rate: number;
}

/** One data point as the window takes it: already attributed to a series and a stream. */
export interface WindowPoint {
  series: SeriesId;
  /** Identity of the input stream (metric name and every attribute): cumulative state is per stream. */
  streamKey: string;
  value: number;
  timeMs: number;
  startMs: number;
  /** False for DELTA sums: the value is the change since startMs. */
  cumulative: boolean;
}

export interface SeriesView extends SeriesId {
  /** Counters: items per second in each bucket; gauges: value. Null where nothing was reported. */
  points: (number | null)[];
  /** Counters: items per second over the latest report interval. Gauges: latest value. */
  current: number | null;
}

function seriesKey(s: SeriesId): string {
  return `${s.family}|${s.component ?? ''}|${s.signal ?? ''}`;
}

const bucketOf = (ms: number) => Math.floor(ms / BUCKET_MS);

/**
 * One agent's rolling window of its own metrics: a fixed ring of BUCKETS buckets per series,
 * at most MAX_SERIES series and MAX_STREAMS streams, so its memory is bounded whatever the
 * agent sends (about 1 KB per series, measured in telemetry-window.spec.ts). Time is the data
 * points' own (the agent's clock), so a report describes its past exactly, whenever it arrives.
 */
export class TelemetryWindow {
  private readonly series = new Map<string, Series>();
  private readonly streams = new Map<string, Stream>();
  /** Bucket number of the newest bucket, and of the oldest ever written (buckets before it are unknown). */
  private head = -1;
  private first = -1;
  /** Point times: the latest report, and the latest that brought accepted items. */
  lastPointMs?: number;
  lastAcceptedMs?: number;
  /** When items were first seen accepted (the agent "had traffic"). */
  firstAcceptedMs?: number;
  /** Point times of detected restarts (uptime or a cumulative counter went back). */
  readonly restarts: number[] = [];
  /** Series and streams refused because the bounds were reached. */
  ignored = 0;

  get seriesCount(): number {
    return this.series.size;
  }

  /** Takes the points of one report (any order); returns how many were ignored (bounds, too old, out of order). */
  add(points: WindowPoint[]): number {
    let ignored = 0;
    const gaugesTouched = new Set<Series>();
    for (const p of [...points].sort((a, b) => a.timeMs - b.timeMs)) {
      if (!Number.isFinite(p.value) || !Number.isFinite(p.timeMs)) {
        ignored++;
        continue;
      }
      const b = bucketOf(p.timeMs);
      if (this.head >= 0 && b <= this.head - BUCKETS) {
        ignored++;
        continue;
      }
      const series = this.seriesFor(p.series);
      if (!series) {
        ignored++;
        continue;
      }
      let stream = this.streams.get(p.streamKey);
      if (!stream) {
        if (this.streams.size >= MAX_STREAMS) {
          ignored++;
          continue;
        }
        stream = { series, kind: p.series.kind, cumulative: p.cumulative, value: NaN, timeMs: -Infinity, startMs: p.startMs, rate: 0 };
        this.streams.set(p.streamKey, stream);
      }
      if (p.timeMs <= stream.timeMs) {
        ignored++;
        continue;
      }
      this.advance(b);
      this.lastPointMs = Math.max(this.lastPointMs ?? -Infinity, p.timeMs);
      if (p.series.kind === 'gauge') {
        if (p.series.family === 'process_uptime' && Number.isFinite(stream.value) && p.value < stream.value) this.restarted(p.timeMs);
        stream.value = p.value;
        stream.timeMs = p.timeMs;
        gaugesTouched.add(series);
        continue;
      }
      this.addCounter(stream, series, p);
    }
    for (const s of gaugesTouched) {
      let sum = 0;
      for (const st of this.streams.values()) if (st.series === s && Number.isFinite(st.value)) sum += st.value;
      s.last = sum;
      if (this.head >= 0) s.values[this.head % BUCKETS] = sum;
    }
    this.ignored += ignored;
    return ignored;
  }

  private addCounter(stream: Stream, series: Series, p: WindowPoint): void {
    let delta: number;
    let fromMs: number;
    if (!p.cumulative) {
      delta = p.value;
      fromMs = p.startMs > 0 && p.startMs < p.timeMs ? p.startMs : Number.isFinite(stream.timeMs) ? stream.timeMs : p.timeMs - BUCKET_MS;
    } else if (!Number.isFinite(stream.value)) {
      // The first value of a stream is only a baseline: what it counted before is not known to be recent.
      stream.value = p.value;
      stream.timeMs = p.timeMs;
      stream.startMs = p.startMs;
      return;
    } else if (p.value < stream.value || (p.startMs > 0 && stream.startMs > 0 && p.startMs !== stream.startMs)) {
      // The counter started again (the agent restarted): everything it holds is new.
      delta = p.value;
      fromMs = p.startMs > stream.timeMs && p.startMs < p.timeMs ? p.startMs : stream.timeMs;
      if (series.family === 'process_cpu_seconds') this.restarted(p.timeMs);
    } else {
      delta = p.value - stream.value;
      fromMs = stream.timeMs;
    }
    stream.value = p.value;
    stream.timeMs = p.timeMs;
    stream.startMs = p.startMs;
    const seconds = Math.max((p.timeMs - fromMs) / 1000, 1e-3);
    // The rate of this report interval; a series fed by several streams sums theirs.
    stream.rate = delta / seconds;
    let rate = 0;
    for (const st of this.streams.values()) if (st.series === series) rate += st.rate;
    series.rate = rate;
    if (delta > 0 && series.family === 'receiver_accepted') {
      this.lastAcceptedMs = Math.max(this.lastAcceptedMs ?? -Infinity, p.timeMs);
      this.firstAcceptedMs ??= p.timeMs;
    }
    // Spread the change evenly over the buckets the interval covers (within the window).
    const to = bucketOf(p.timeMs);
    const from = Math.min(to, Math.max(bucketOf(fromMs) + 1, to - BUCKETS + 1, this.first));
    const n = to - from + 1;
    for (let b = from; b <= to; b++) series.values[b % BUCKETS] += delta / n;
  }

  private restarted(ms: number): void {
    if (this.restarts.length && this.restarts[this.restarts.length - 1] === ms) return;
    this.restarts.push(ms);
    if (this.restarts.length > MAX_RESTARTS) this.restarts.shift();
  }

  private seriesFor(id: SeriesId): Series | undefined {
    const key = seriesKey(id);
    let s = this.series.get(key);
    if (s) return s;
    if (this.series.size >= MAX_SERIES) return undefined;
    const values = new Float32Array(BUCKETS);
    if (id.kind === 'gauge') values.fill(NaN);
    s = { ...id, values, rate: 0, last: NaN };
    this.series.set(key, s);
    return s;
  }

  /** Moves the head to bucket `b`, clearing the buckets it passes (they are reused). */
  private advance(b: number): void {
    if (this.head < 0) {
      this.head = b;
      this.first = b;
      return;
    }
    if (b <= this.head) return;
    const steps = Math.min(b - this.head, BUCKETS);
    for (const s of this.series.values()) {
      const empty = s.kind === 'gauge' ? NaN : 0;
      for (let i = 1; i <= steps; i++) s.values[(this.head + i) % BUCKETS] = empty;
    }
    this.head = b;
  }

  /** Sum of a family's items (all components and signals) over the last `seconds` before `endMs`. */
  sum(family: Family, endMs: number, seconds: number): number {
    const end = Math.min(bucketOf(endMs), this.head);
    const start = Math.max(end - Math.ceil((seconds * 1000) / BUCKET_MS) + 1, this.head - BUCKETS + 1, this.first);
    let total = 0;
    for (const s of this.series.values()) {
      if (s.family !== family) continue;
      for (let b = start; b <= end; b++) total += s.values[b % BUCKETS];
    }
    return total;
  }

  /** Current rate of a family (items per second, summed over components and signals). */
  rate(family: Family, component?: string): number {
    let r = 0;
    for (const s of this.series.values()) if (s.family === family && (component === undefined || s.component === component)) r += s.rate;
    return r;
  }

  /** Latest value of a gauge family summed over its components (NaN when never reported). */
  gauge(family: Family): number {
    let v = NaN;
    for (const s of this.series.values()) if (s.family === family && Number.isFinite(s.last)) v = (Number.isFinite(v) ? v : 0) + s.last;
    return v;
  }

  /** Every series, oldest bucket first, ending at the newest bucket written. */
  view(): { startMs: number; stepSeconds: number; series: SeriesView[] } {
    const end = this.head;
    const start = end - BUCKETS + 1;
    const out: SeriesView[] = [];
    for (const s of this.series.values()) {
      const points: (number | null)[] = [];
      for (let b = start; b <= end; b++) {
        if (b < this.first) {
          points.push(null);
          continue;
        }
        const v = s.values[b % BUCKETS];
        points.push(Number.isNaN(v) ? null : s.kind === 'counter' ? round(v / (BUCKET_MS / 1000)) : v);
      }
      out.push({
        family: s.family,
        kind: s.kind,
        component: s.component,
        signal: s.signal,
        points,
        current: s.kind === 'counter' ? round(s.rate) : Number.isFinite(s.last) ? s.last : null,
      });
    }
    return { startMs: start * BUCKET_MS, stepSeconds: BUCKET_MS / 1000, series: out };
  }

  /** Bytes this window holds in typed arrays and bookkeeping (an estimate for the memory budget). */
  approximateBytes(): number {
    return this.series.size * (BUCKETS * 4 + 160) + this.streams.size * 120 + 400;
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
