/**
 * A simulated Collector's own metrics, as its internal telemetry exports them over OTLP/HTTP with
 * the default `normal` level: accepted/refused per signal of one OTLP receiver, sent/failed per
 * signal of one exporter, the exporter queue size and capacity, and the process metrics (CPU, RSS,
 * uptime, and two runtime gauges the server ignores): 19 data points. Counters are cumulative
 * since the simulated process started and grow with the time of the report, so the server sees
 * the deltas a real fleet produces.
 */
import { fromJson, JsonValue, toBinary } from '@bufbuild/protobuf';
import { ExportMetricsServiceRequestSchema } from '../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb';

export const OWN_METRICS_POINTS = 19;

const SIGNALS = [
  ['spans', 200],
  ['metric_points', 100],
  ['log_records', 50],
] as const;

/** Per-agent constants; everything else follows from the time of the report. */
export interface OwnMetricsAgent {
  uidText: string;
  index: number;
  /** Epoch ms when the simulated Collector process started. */
  processStartMs: number;
}

const ns = (ms: number) => `${Math.floor(ms)}000000`;
const attrs = (kv: Record<string, string>) => Object.entries(kv).map(([key, v]) => ({ key, value: { stringValue: v } }));

/** The OTLP JSON document of one report at `nowMs`. */
export function ownMetricsJson(a: OwnMetricsAgent, nowMs: number): JsonValue {
  const up = Math.max(1, (nowMs - a.processStartMs) / 1000);
  const start = ns(a.processStartMs);
  const time = ns(nowMs);
  // Agents differ in throughput (x1 .. x1.9), and one in twenty has an exporter failing 1 % of the time.
  const scale = 1 + (a.index % 10) / 10;
  const failing = a.index % 20 === 7 ? 0.01 : 0;
  const intSum = (name: string, value: number, kv: Record<string, string>) => ({
    name,
    sum: {
      aggregationTemporality: 2,
      isMonotonic: true,
      dataPoints: [{ attributes: attrs(kv), startTimeUnixNano: start, timeUnixNano: time, asInt: String(Math.floor(value)) }],
    },
  });
  const gauge = (name: string, value: number, kv: Record<string, string>, int = true) => ({
    name,
    gauge: { dataPoints: [{ attributes: attrs(kv), timeUnixNano: time, ...(int ? { asInt: String(Math.floor(value)) } : { asDouble: value }) }] },
  });
  const sum = (name: string, value: number) => ({
    name,
    sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ startTimeUnixNano: start, timeUnixNano: time, asDouble: value }] },
  });
  const receiver = { receiver: 'otlp', transport: 'grpc' };
  const exporter = { exporter: 'otlp' };
  const metrics: unknown[] = [];
  for (const [signal, rate] of SIGNALS) {
    const n = rate * scale * up;
    metrics.push(intSum(`otelcol_receiver_accepted_${signal}`, n, receiver));
    metrics.push(intSum(`otelcol_receiver_refused_${signal}`, 0, receiver));
    metrics.push(intSum(`otelcol_exporter_sent_${signal}`, n * (1 - failing), exporter));
    metrics.push(intSum(`otelcol_exporter_send_failed_${signal}`, n * failing, exporter));
  }
  metrics.push(gauge('otelcol_exporter_queue_size', (a.index + Math.floor(nowMs / 15_000)) % 7, { ...exporter, data_type: 'traces' }));
  metrics.push(gauge('otelcol_exporter_queue_capacity', 1000, { ...exporter, data_type: 'traces' }));
  metrics.push(sum('otelcol_process_cpu_seconds', up * 0.04 * scale));
  metrics.push(gauge('otelcol_process_memory_rss', 110_000_000 + (a.index % 50) * 1_000_000 + (Math.floor(nowMs / 15_000) % 5) * 250_000, {}));
  metrics.push(sum('otelcol_process_uptime', up));
  metrics.push(gauge('otelcol_process_runtime_heap_alloc_bytes', 40_000_000 + (a.index % 30) * 500_000, {}));
  metrics.push(gauge('otelcol_process_runtime_total_sys_memory_bytes', 90_000_000, {}));
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: attrs({ 'service.instance.id': a.uidText, 'service.name': 'otelcol-contrib', 'service.version': '0.114.0' }),
        },
        scopeMetrics: [{ scope: { name: 'go.opentelemetry.io/collector/service' }, metrics }],
      },
    ],
  } as unknown as JsonValue;
}

/** The body and content type of one report, in the chosen encoding. */
export function ownMetricsBody(a: OwnMetricsAgent, nowMs: number, encoding: 'json' | 'protobuf'): { body: Buffer; contentType: string } {
  const doc = ownMetricsJson(a, nowMs);
  if (encoding === 'json') return { body: Buffer.from(JSON.stringify(doc)), contentType: 'application/json' };
  return {
    body: Buffer.from(toBinary(ExportMetricsServiceRequestSchema, fromJson(ExportMetricsServiceRequestSchema, doc))),
    contentType: 'application/x-protobuf',
  };
}
