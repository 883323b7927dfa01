import type { HistogramSnapshot } from './histogram';

/** What travels between the bench CLI and its load-generator worker processes (Node IPC, JSON). */
export type Transport = 'ws' | 'http' | 'grpc';

/** Kinds of AgentToServer the simulated agents send; answer latency is kept per kind. */
export const KIND = { full: 0, heartbeat: 1, status: 2, configApplying: 3, configFinal: 4 } as const;
export const KIND_NAMES = ['full', 'heartbeat', 'status', 'configApplying', 'configFinal'] as const;
export type KindName = (typeof KIND_NAMES)[number];

export const GRPC_METHOD = '/opampcommander.v1.OpAMPTransport/Connect';

export interface WorkerOptions {
  workerId: number;
  /** Global index of this worker's first agent; it simulates [firstIndex, firstIndex + count). */
  firstIndex: number;
  count: number;
  transport: Transport;
  host: string;
  /** The OpAMP port (ws, http) or the gRPC port. */
  port: number;
  path: string;
  /** Loopback source addresses to spread sockets over (ephemeral ports are per source address). */
  sourceAddrs: string[];
  heartbeatMs: number;
  tickMs: number;
  configBytes: number;
  /** Share of agents (0..1) that report FAILED for a remote config instead of APPLIED. */
  failShare: number;
  /** Every agent reports FAILED for a remote config whose bodies contain this text (rollout: canaries that fail); empty: none. */
  failMarker: string;
  /** Time between APPLYING and the final status. */
  applyDelayMs: number;
  runId: string;
  wsDeflate: boolean;
  httpMaxSockets: number;
  /** Handshakes in flight at once per worker during the ramp (reconnects are not limited). */
  maxInflightConnects: number;
  /** Answers slower than this count as late. */
  answerDeadlineMs: number;
  /** Cap for exponential reconnect back-off (Retry-After, when given, wins). */
  maxBackoffMs: number;
  /** Own metrics (OTLP/HTTP POST to `ownMetricsPath` on the OpAMP port) every this many ms once turned on; 0: never. */
  ownMetricsMs: number;
  ownMetricsPath: string;
  ownMetricsEncoding: 'json' | 'protobuf';
}

/** What the own-metrics POSTs were answered with, by position in WorkerStats.otlpByStatus. */
export const OTLP_STATUS_NAMES = ['200', '400', '401', '404', '413', '415', '429', '503', 'other', 'network error'] as const;

export type ToWorker =
  | { t: 'init'; opts: WorkerOptions }
  | { t: 'ramp'; perSecond: number }
  | { t: 'ingest'; perSecond: number }
  | { t: 'ownMetrics'; on: boolean }
  | { t: 'drop' }
  | { t: 'reset' }
  | { t: 'stats'; id: number; histograms: boolean }
  /** When each agent last received a config it did not have, by instance uid (text form). */
  | { t: 'configTimes'; id: number }
  /** Every agent's configs since the last reset (ConfigLog). */
  | { t: 'configLog'; id: number }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'stats'; id: number; stats: WorkerStats }
  /** [instance uid, epoch ms] of every agent that has received a config. */
  | { t: 'configTimes'; id: number; times: [string, number][] }
  | { t: 'configLog'; id: number; log: ConfigLog[] }
  | { t: 'stopped' }
  | { t: 'fatal'; message: string };

/** One remote config an agent received (a new hash; resends are only counted) and what it made of it. */
export interface ConfigEvent {
  /** Hex of the config hash. */
  hash: string;
  /** Epoch ms it arrived. */
  at: number;
  /** The final status the agent reported for it (none yet, or superseded before it finished), and when it sent that report. */
  status?: 'APPLIED' | 'FAILED';
  reportedAt?: number;
  /** Epoch ms the server answered that final report. */
  ackAt?: number;
}

/** One agent's configs since the last reset, and the hash it held at the reset. */
export interface ConfigLog {
  uid: string;
  before?: string;
  events: ConfigEvent[];
}

/**
 * Counters are events since the last reset; gauges (open, established, pending, ...) are the
 * current state. Times are epoch milliseconds so that workers can be compared.
 */
export interface WorkerStats {
  agents: number;
  /** Agents the ramp has started (first connect attempted). */
  started: number;
  /** Sockets/streams open now (for HTTP: agents polling). */
  open: number;
  /** Agents whose current connection got its first answer. */
  established: number;
  /** First answers on a connection since the last reset (an agent that reconnects counts again). */
  establishments: number;
  connectAttempts: number;
  connectErrors: number;
  /** Handshakes or polls refused with 429/503 (or gRPC RESOURCE_EXHAUSTED/UNAVAILABLE from a live server). */
  rejected: number;
  /** Connections the server (or the network) closed, not the generator. */
  closedUnexpected: number;
  /** Messages sent on a connection that closed before they were answered. */
  lostPending: number;
  sent: number[];
  sentBytes: number;
  answers: number;
  answersByKind: number[];
  /** ServerToAgent that answered nothing (server pushes). */
  pushes: number;
  receivedBytes: number;
  /** Messages sent and not answered yet, and the age of the oldest. */
  pending: number;
  /** Of those, sent longer ago than answerDeadlineMs. */
  pendingLate: number;
  oldestPendingMs: number;
  /** Answers slower than answerDeadlineMs. */
  late: number;
  errorResponses: number;
  fullStateRequests: number;
  malformedReplies: number;
  /** OR of every ServerToAgent.capabilities seen. */
  serverCapabilities: number;
  configReceived: number;
  /** remote_config received again with the hash the agent already has (a resend). */
  configDuplicates: number;
  configApplied: number;
  configFailed: number;
  /** Final statuses (APPLIED/FAILED) the server answered. */
  configAcked: number;
  firstConfigAt: number;
  lastConfigAckAt: number;
  /** When this process's agents last received a config they did not have. */
  lastConfigAt: number;
  lastOpenAt: number;
  lastEstablishedAt: number;
  httpBusySkips: number;
  /** gRPC streams that ended UNIMPLEMENTED (the server does not serve the method). */
  unimplemented: number;
  lastError: string;
  /** Own-metrics POSTs sent, answered (any status), answered by status (OTLP_STATUS_NAMES), data points sent, data points the server refused (partial_success). */
  otlpSent: number;
  otlpAnswered: number;
  otlpByStatus: number[];
  otlpPoints: number;
  otlpRejectedPoints: number;
  otlpBytes: number;
  workerCpuMs: number;
  workerRssBytes: number;
  latency?: HistogramSnapshot[];
  firstAnswer?: HistogramSnapshot;
  /** From sending an own-metrics POST to the end of its answer. */
  otlpLatency?: HistogramSnapshot;
}

/** Parses Retry-After: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
