import { evaluateConditions } from './agent-conditions';
import { knownMetric } from './collector-metrics';
import { BUCKETS, MAX_SERIES, TelemetryWindow, WindowPoint } from './telemetry-window';

const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const min = 60_000;

function accepted(value: number, timeMs: number, receiver = 'otlp', transport = 'grpc'): WindowPoint {
  return {
    series: { family: 'receiver_accepted', kind: 'counter', component: receiver, signal: 'traces' },
    streamKey: `otelcol_receiver_accepted_spans|receiver=${receiver},transport=${transport}`,
    value,
    timeMs,
    startMs: T0 - 60 * min,
    cumulative: true,
  };
}

const thresholds = { idleSeconds: 600, staleSeconds: 300, exportFailingRatio: 0.1, exportFailingSeconds: 300, restartThreshold: 3 };

describe('knownMetric', () => {
  it('takes the OTLP names, the Prometheus _total names and dotted names alike, and ignores the rest', () => {
    expect(knownMetric('otelcol_receiver_accepted_spans')).toMatchObject({ family: 'receiver_accepted', signal: 'traces', component: 'receiver' });
    expect(knownMetric('otelcol_exporter_send_failed_metric_points_total')).toMatchObject({ family: 'exporter_send_failed', signal: 'metrics' });
    expect(knownMetric('otelcol.exporter.sent.log_records')).toMatchObject({ family: 'exporter_sent', signal: 'logs' });
    expect(knownMetric('otelcol_exporter_sent_log_records')).toMatchObject({ family: 'exporter_sent', signal: 'logs' });
    expect(knownMetric('otelcol_process_memory_rss')).toMatchObject({ family: 'process_memory_rss', kind: 'gauge' });
    expect(knownMetric('otelcol_processor_batch_batch_send_size')).toBeUndefined();
    expect(knownMetric('http.server.duration')).toBeUndefined();
  });
});

describe('TelemetryWindow', () => {
  it('turns cumulative counters into rates and per-bucket items, the first value being a baseline', () => {
    const w = new TelemetryWindow();
    w.add([accepted(1000, T0)]);
    expect(w.rate('receiver_accepted')).toBe(0);
    w.add([accepted(1600, T0 + min)]);
    expect(w.rate('receiver_accepted')).toBeCloseTo(10);
    // 600 items spread over the 4 buckets of that minute.
    expect(w.sum('receiver_accepted', T0 + min, 60)).toBeCloseTo(600);
    const view = w.view();
    const s = view.series.find((x) => x.family === 'receiver_accepted')!;
    expect(s.current).toBeCloseTo(10);
    expect(s.points.filter((p) => p !== null && p > 0)).toHaveLength(4);
    expect(s.points).toHaveLength(BUCKETS);
  });

  it('sums streams of one receiver (grpc and http transports) and counts a counter that went back as new items', () => {
    const w = new TelemetryWindow();
    w.add([accepted(100, T0, 'otlp', 'grpc'), accepted(50, T0, 'otlp', 'http')]);
    w.add([accepted(160, T0 + min, 'otlp', 'grpc'), accepted(80, T0 + min, 'otlp', 'http')]);
    expect(w.rate('receiver_accepted')).toBeCloseTo(1.5);
    w.add([accepted(30, T0 + 2 * min, 'otlp', 'grpc')]);
    expect(w.sum('receiver_accepted', T0 + 2 * min, 60)).toBeCloseTo(30);
  });

  it('Idle turns on when no items were accepted for the idle time up to the latest report, after traffic', () => {
    const w = new TelemetryWindow();
    w.add([accepted(100, T0)]);
    w.add([accepted(200, T0 + min)]);
    const facts = { nowMs: T0 + 12 * min, connected: true, healthy: true, expectsOwnMetrics: true, lastReceivedMs: T0 + 12 * min, window: w };
    expect(evaluateConditions(facts, thresholds).find((c) => c.type === 'Idle')?.status).toBe('False');
    w.add([accepted(200, T0 + 6 * min)]);
    w.add([accepted(200, T0 + 12 * min)]);
    const idle = evaluateConditions(facts, thresholds).find((c) => c.type === 'Idle');
    expect(idle).toMatchObject({ status: 'True', reason: 'NoItemsAccepted' });
    // Unhealthy agents are not called Idle (their health says why); never-busy agents neither.
    expect(evaluateConditions({ ...facts, healthy: false }, thresholds).find((c) => c.type === 'Idle')?.status).toBe('False');
  });

  it('ExportFailing follows the share of failed items over the recent window; Restarting counts uptime resets', () => {
    const w = new TelemetryWindow();
    const exp = (family: 'exporter_sent' | 'exporter_send_failed', value: number, t: number): WindowPoint => ({
      series: { family, kind: 'counter', component: 'otlp/backend', signal: 'traces' },
      streamKey: `${family}|exporter=otlp/backend`,
      value,
      timeMs: t,
      startMs: T0 - min,
      cumulative: true,
    });
    const uptime = (v: number, t: number): WindowPoint => ({
      series: { family: 'process_uptime', kind: 'gauge' },
      streamKey: 'uptime',
      value: v,
      timeMs: t,
      startMs: 0,
      cumulative: true,
    });
    w.add([exp('exporter_sent', 100, T0), exp('exporter_send_failed', 0, T0), uptime(100, T0)]);
    w.add([exp('exporter_sent', 200, T0 + min), exp('exporter_send_failed', 0, T0 + min), uptime(160, T0 + min)]);
    const facts = { nowMs: T0 + 3 * min, connected: true, expectsOwnMetrics: true, lastReceivedMs: T0 + 3 * min, window: w };
    expect(evaluateConditions(facts, thresholds).find((c) => c.type === 'ExportFailing')?.status).toBe('False');
    w.add([exp('exporter_sent', 210, T0 + 2 * min), exp('exporter_send_failed', 90, T0 + 2 * min), uptime(5, T0 + 2 * min)]);
    expect(evaluateConditions(facts, thresholds).find((c) => c.type === 'ExportFailing')).toMatchObject({ status: 'True', reason: 'SendFailures' });
    w.add([uptime(60, T0 + 3 * min)]);
    w.add([uptime(2, T0 + 4 * min)]);
    w.add([uptime(1, T0 + 5 * min)]);
    expect(evaluateConditions({ ...facts, nowMs: T0 + 5 * min }, thresholds).find((c) => c.type === 'Restarting')).toMatchObject({ status: 'True' });
  });

  it('Stale: a connected agent expected to send and silent past the threshold', () => {
    const base = { connected: true, expectsOwnMetrics: true, expectedSinceMs: T0 };
    expect(evaluateConditions({ ...base, nowMs: T0 + 60_000 }, thresholds)[2]).toMatchObject({ type: 'Stale', status: 'False' });
    expect(evaluateConditions({ ...base, nowMs: T0 + 301_000 }, thresholds)[2]).toMatchObject({ type: 'Stale', status: 'True', reason: 'NoOwnMetrics' });
    expect(evaluateConditions({ ...base, connected: false, nowMs: T0 + 301_000 }, thresholds)[2]).toMatchObject({ type: 'Stale', status: 'Unknown' });
  });

  it('stays bounded: a flood of components and streams is ignored past the bounds, memory per agent measured', () => {
    const w = new TelemetryWindow();
    const flood: WindowPoint[] = [];
    for (let i = 0; i < 1000; i++)
      flood.push({ ...accepted(i, T0), series: { family: 'receiver_accepted', kind: 'counter', component: `r${i}`, signal: 'traces' }, streamKey: `s${i}` });
    expect(w.add(flood)).toBe(1000 - MAX_SERIES);
    expect(w.seriesCount).toBe(MAX_SERIES);

    // Measured: a typical Collector (2 receivers, 2 exporters, one signal each, queues, process) over a full hour.
    // With --expose-gc (node --expose-gc node_modules/.bin/jest …) the numbers are exact; without, an upper bound.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage();
    const windows: TelemetryWindow[] = [];
    const N = 2000;
    for (let a = 0; a < N; a++) {
      const tw = new TelemetryWindow();
      for (let k = 0; k < 4; k++) {
        const t = T0 + k * 15_000;
        const pts: WindowPoint[] = [];
        for (const r of ['otlp', 'prometheus']) {
          pts.push({
            ...accepted(k * 10, t, r),
            series: { family: 'receiver_accepted', kind: 'counter', component: r, signal: 'metrics' },
            streamKey: `acc${r}`,
          });
          pts.push({ ...accepted(0, t, r), series: { family: 'receiver_refused', kind: 'counter', component: r, signal: 'metrics' }, streamKey: `ref${r}` });
        }
        for (const e of ['otlp', 'debug']) {
          pts.push({ ...accepted(k * 10, t), series: { family: 'exporter_sent', kind: 'counter', component: e, signal: 'metrics' }, streamKey: `sent${e}` });
          pts.push({ ...accepted(0, t), series: { family: 'exporter_send_failed', kind: 'counter', component: e, signal: 'metrics' }, streamKey: `fail${e}` });
          pts.push({ ...accepted(3, t), series: { family: 'exporter_queue_size', kind: 'gauge', component: e }, streamKey: `q${e}` });
          pts.push({ ...accepted(1000, t), series: { family: 'exporter_queue_capacity', kind: 'gauge', component: e }, streamKey: `qc${e}` });
        }
        pts.push({ ...accepted(k, t), series: { family: 'process_cpu_seconds', kind: 'counter' }, streamKey: 'cpu' });
        pts.push({ ...accepted(1e8, t), series: { family: 'process_memory_rss', kind: 'gauge' }, streamKey: 'rss' });
        pts.push({ ...accepted(k * 15, t), series: { family: 'process_uptime', kind: 'gauge' }, streamKey: 'up' });
        tw.add(pts);
      }
      windows.push(tw);
    }
    gc?.();
    const after = process.memoryUsage();
    const perAgent = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / N;
    const estimate = windows[0].approximateBytes();
    console.log(
      `telemetry window: ${windows[0].seriesCount} series; measured ~${Math.round(perAgent / 1024)} KiB per agent (estimate ${Math.round(estimate / 1024)} KiB); bound ${Math.round(new TelemetryWindow().approximateBytes() / 1024 + (MAX_SERIES * (BUCKETS * 4 + 160) + 256 * 120) / 1024)} KiB`,
    );
    expect(windows[0].seriesCount).toBe(15);
    // Typed arrays dominate: 15 series x 240 float32 buckets; the whole window stays under 64 KiB even at the bound.
    expect(perAgent).toBeLessThan(64 * 1024);
  });
});
