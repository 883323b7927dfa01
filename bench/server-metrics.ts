import { ApiClient } from './server-process';

/** What the bench reads from the server's own Prometheus /metrics, to set beside its /proc figures. */
export interface ServerMetrics {
  /** Event-loop delay since the previous scrape (prom-client resets its histogram on every scrape). */
  eventLoopLagP99Ms?: number;
  eventLoopLagMaxMs?: number;
  heapUsedBytes?: number;
  /** opamp_messages_received_total / _sent_total, all transports. */
  messagesReceived?: number;
  messagesSent?: number;
  /** opamp_answer_duration_seconds: count and the p99 bucket bound, all transports. */
  answers?: number;
  answerP99UpperMs?: number;
  /** The server's own count of the database work it asked for (mongodb_commands_total, …; counters). */
  dbCommands?: number;
  dbWrittenDocuments?: number;
  dbWrittenBytes?: number;
}

type Samples = { name: string; labels: string; value: number }[];

export function parseMetrics(text: string): Samples {
  const out: Samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) out.push({ name: m[1], labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

const sum = (s: Samples, name: string) => {
  const xs = s.filter((x) => x.name === name);
  return xs.length ? xs.reduce((a, x) => a + x.value, 0) : undefined;
};

/** Scrapes GET /metrics on the API port; undefined when the server has none. */
export async function scrapeMetrics(api: ApiClient): Promise<ServerMetrics | undefined> {
  let r: { status: number; text: string };
  try {
    r = await api.request('GET', '/metrics');
  } catch {
    return undefined;
  }
  if (r.status !== 200) return undefined;
  const s = parseMetrics(r.text);
  const sec = (name: string) => {
    const v = sum(s, name);
    return v === undefined ? undefined : v * 1000;
  };
  // Cumulative answer-duration buckets summed over transports; p99 = first bucket holding 99 %.
  const buckets = new Map<number, number>();
  for (const x of s.filter((y) => y.name === 'opamp_answer_duration_seconds_bucket')) {
    const le = /le="([^"]+)"/.exec(x.labels)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + x.value);
  }
  const answers = sum(s, 'opamp_answer_duration_seconds_count');
  let answerP99UpperMs: number | undefined;
  if (answers) {
    for (const [bound, count] of [...buckets].sort((a, b) => a[0] - b[0])) {
      if (count >= 0.99 * answers) {
        answerP99UpperMs = bound * 1000;
        break;
      }
    }
  }
  return {
    eventLoopLagP99Ms: sec('nodejs_eventloop_lag_p99_seconds'),
    eventLoopLagMaxMs: sec('nodejs_eventloop_lag_max_seconds'),
    heapUsedBytes: sum(s, 'nodejs_heap_size_used_bytes'),
    messagesReceived: sum(s, 'opamp_messages_received_total'),
    messagesSent: sum(s, 'opamp_messages_sent_total'),
    answers,
    answerP99UpperMs,
    dbCommands: sum(s, 'mongodb_commands_total'),
    dbWrittenDocuments: sum(s, 'mongodb_written_documents_total') ?? 0,
    dbWrittenBytes: sum(s, 'mongodb_written_bytes_total') ?? 0,
  };
}

/** The difference of two scrapes for the counters; the later scrape for gauges and lag. */
export function metricsWindow(a: ServerMetrics | undefined, b: ServerMetrics | undefined): ServerMetrics | undefined {
  if (!b) return undefined;
  const d = (x?: number, y?: number) => (x === undefined || y === undefined ? undefined : y - x);
  return {
    ...b,
    messagesReceived: d(a?.messagesReceived, b.messagesReceived),
    messagesSent: d(a?.messagesSent, b.messagesSent),
    answers: d(a?.answers, b.answers),
    dbCommands: d(a?.dbCommands, b.dbCommands),
    dbWrittenDocuments: d(a?.dbWrittenDocuments, b.dbWrittenDocuments),
    dbWrittenBytes: d(a?.dbWrittenBytes, b.dbWrittenBytes),
  };
}

/**
 * The database work of a window per 1,000 agent messages the server received (commands,
 * documents written, bytes written), as one RESULTS.md cell. Includes the scrape's own
 * fleet-gauge counts (a few commands per scrape, at most every 15 s).
 */
export function dbWorkCell(m: ServerMetrics | undefined, agentMessages = m?.messagesReceived): string {
  if (!m || m.dbCommands === undefined || !agentMessages) return 'n/a';
  const per = (v: number | undefined) => ((v ?? 0) * 1000) / agentMessages;
  const bytes = per(m.dbWrittenBytes);
  const size = bytes >= 10 * 1024 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
  return `${per(m.dbCommands).toFixed(1)} cmds, ${per(m.dbWrittenDocuments).toFixed(1)} docs, ${size}`;
}

/** The same, in full, for the printed summary and the JSON record. */
export function dbWorkSummary(m: ServerMetrics | undefined): string {
  if (!m || m.dbCommands === undefined) return 'n/a (server has no database work counters)';
  return `${m.dbCommands} commands, ${m.dbWrittenDocuments ?? 0} documents, ${m.dbWrittenBytes ?? 0} bytes written for ${m.messagesReceived ?? 'n/a'} agent messages (${dbWorkCell(m)} per 1,000)`;
}
