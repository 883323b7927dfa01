/**
 * Which of a Collector's own metrics the server keeps, and under what name. The Collector
 * names them `otelcol_<family>_<signal unit>` (e.g. `otelcol_receiver_accepted_spans`); its
 * Prometheus endpoint adds `_total` to counters, OTLP does not, and newer releases may write
 * dots. Everything else is ignored.
 */

export type Signal = 'traces' | 'metrics' | 'logs' | 'profiles';

export type Family =
  | 'receiver_accepted'
  | 'receiver_refused'
  | 'exporter_sent'
  | 'exporter_send_failed'
  | 'exporter_queue_size'
  | 'exporter_queue_capacity'
  | 'process_cpu_seconds'
  | 'process_memory_rss'
  | 'process_uptime';

export interface KnownMetric {
  family: Family;
  /** Counters are turned into items per bucket; gauges keep their last value per bucket. */
  kind: 'counter' | 'gauge';
  /** Per-component families: the attribute naming the component (receiver or exporter). */
  component?: 'receiver' | 'exporter';
  signal?: Signal;
}

const SIGNAL_UNITS: Record<string, Signal> = {
  spans: 'traces',
  metric_points: 'metrics',
  log_records: 'logs',
  logs: 'logs',
  profiles: 'profiles',
};

const PER_SIGNAL: [prefix: string, family: Family, component: 'receiver' | 'exporter'][] = [
  ['receiver_accepted_', 'receiver_accepted', 'receiver'],
  ['receiver_refused_', 'receiver_refused', 'receiver'],
  ['exporter_sent_', 'exporter_sent', 'exporter'],
  ['exporter_send_failed_', 'exporter_send_failed', 'exporter'],
];

const SINGLE: Record<string, KnownMetric> = {
  exporter_queue_size: { family: 'exporter_queue_size', kind: 'gauge', component: 'exporter' },
  exporter_queue_capacity: { family: 'exporter_queue_capacity', kind: 'gauge', component: 'exporter' },
  process_cpu_seconds: { family: 'process_cpu_seconds', kind: 'counter' },
  process_memory_rss: { family: 'process_memory_rss', kind: 'gauge' },
  process_uptime: { family: 'process_uptime', kind: 'gauge' },
};

/** The kept metric a name stands for, or undefined (ignored). */
export function knownMetric(name: string): KnownMetric | undefined {
  let n = name.toLowerCase().replace(/\./g, '_');
  if (!n.startsWith('otelcol_')) return undefined;
  n = n.slice('otelcol_'.length);
  if (n.endsWith('_total')) n = n.slice(0, -'_total'.length);
  const single = SINGLE[n];
  if (single) return single;
  for (const [prefix, family, component] of PER_SIGNAL) {
    if (!n.startsWith(prefix)) continue;
    const signal = SIGNAL_UNITS[n.slice(prefix.length)];
    return signal ? { family, kind: 'counter', component, signal } : undefined;
  }
  return undefined;
}

/** The attribute names under which the Collector names the component of a data point. */
export const COMPONENT_ATTRIBUTES: Record<'receiver' | 'exporter', string[]> = {
  receiver: ['receiver', 'otelcol.component.id'],
  exporter: ['exporter', 'otelcol.component.id'],
};

/** Attributes that name the signal of a per-component gauge (queue size and capacity per data type). */
export const SIGNAL_ATTRIBUTES = ['data_type', 'otelcol.signal'];

export function signalOfDataType(value: string | undefined): Signal | undefined {
  switch (value) {
    case 'traces':
    case 'spans':
      return 'traces';
    case 'metrics':
      return 'metrics';
    case 'logs':
      return 'logs';
    case 'profiles':
      return 'profiles';
    default:
      return undefined;
  }
}
