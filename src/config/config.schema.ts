/**
 * The one declaration of every setting: its type, default, whether it is secret, and what it
 * means. Loading, validation, the README table and secret redaction all read this table, so a
 * new setting is added in exactly one place.
 */
export type SettingType =
  | { kind: 'string' }
  | { kind: 'port' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'bool' }
  | { kind: 'list' };

export interface SettingSpec {
  type: SettingType;
  default?: string | number | boolean | string[];
  secret?: boolean;
  description: string;
}

export const SETTINGS = {
  MONGODB_URI: {
    type: { kind: 'string' },
    secret: true,
    description:
      'MongoDB connection string. When unset, `npm start` runs an embedded local database (mongod on PATH, else FerretDB, else mongodb-memory-server) with its data under DATA_DIR.',
  },
  API_PORT: { type: { kind: 'port' }, default: 8080, description: 'Port of the REST API, /healthz, /readyz and /api/docs.' },
  OPAMP_PORT: { type: { kind: 'port' }, default: 4320, description: 'Port of OpAMP over WebSocket and plain HTTP (path /v1/opamp).' },
  GRPC_PORT: { type: { kind: 'port' }, default: 4321, description: 'Port of OpAMP over gRPC.' },
  GRPC_TLS_CERT_FILE: {
    type: { kind: 'string' },
    description: 'PEM certificate chain for TLS on the gRPC port (with GRPC_TLS_KEY_FILE). Both unset: plaintext gRPC (h2c).',
  },
  GRPC_TLS_KEY_FILE: { type: { kind: 'string' }, description: 'PEM private key for TLS on the gRPC port (with GRPC_TLS_CERT_FILE).' },
  GRPC_IDLE_TIMEOUT_SECONDS: {
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description: 'A gRPC stream that sends no AgentToServer within this time after opening is closed (DEADLINE_EXCEEDED); so is an HTTP/2 connection without streams.',
  },
  GRPC_KEEPALIVE_SECONDS: {
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description: 'Interval of HTTP/2 keepalive pings on gRPC connections; a connection that does not answer one within 20 s is closed. Client keepalive pings are always permitted.',
  },
  METRICS_PORT: {
    type: { kind: 'port' },
    description: 'Serve Prometheus /metrics on this port instead of the API port (keeps scrapes off the public API).',
  },
  HOST: { type: { kind: 'string' }, default: '0.0.0.0', description: 'Address every listener binds to.' },
  DATA_DIR: { type: { kind: 'string' }, default: './data', description: 'Directory for local state (the embedded database lives in DATA_DIR/db).' },
  LOG_LEVEL: {
    type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'Minimum level of log lines.',
  },
  LOG_FORMAT: { type: { kind: 'enum', values: ['json', 'pretty'] }, default: 'json', description: 'json for machines, pretty for humans.' },
  REPLICA_ID: { type: { kind: 'string' }, description: 'Name of this server replica, recorded on the agents it holds. Default: the host name.' },
  SHUTDOWN_GRACE_SECONDS: {
    type: { kind: 'int', min: 0, max: 3600 },
    default: 10,
    description: 'How long a shutdown waits for in-flight work before closing connections.',
  },
  OPAMP_MAX_MESSAGE_BYTES: {
    type: { kind: 'int', min: 1024, max: 1024 * 1024 * 1024 },
    default: 64 * 1024 * 1024,
    description: 'Largest OpAMP message accepted or sent, after decompression (WebSocket close 1009, HTTP 413).',
  },
  OPAMP_MAX_CONNECTIONS: {
    type: { kind: 'int', min: 1, max: 10_000_000 },
    default: 100_000,
    description: 'Most concurrent agent connections (WebSocket + gRPC streams + HTTP agents seen in the last 3 polls); beyond it, 503 with Retry-After.',
  },
  OPAMP_MAX_NEW_CONNECTIONS_PER_SECOND: {
    type: { kind: 'int', min: 1, max: 10_000_000 },
    default: 2_000,
    description: 'Most new agent connections accepted per second; beyond it, 503 with Retry-After.',
  },
  OPAMP_RETRY_AFTER_SECONDS: {
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description: 'Retry-After sent with 429/503 answers to agents.',
  },
  OPAMP_HEARTBEAT_INTERVAL_SECONDS: {
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 30,
    description: 'Heartbeat (and HTTP polling) interval agents are expected to keep; an HTTP agent is disconnected after missing 3.',
  },
  OPAMP_WS_PING_INTERVAL_SECONDS: {
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description: 'Interval of WebSocket pings that reap dead sockets (a socket silent for two intervals is closed).',
  },
  OPAMP_LAST_SEEN_FLUSH_MS: {
    type: { kind: 'int', min: 50, max: 600_000 },
    default: 5000,
    description: 'How often batched last-seen updates of heartbeat-only messages are written to the database.',
  },
  OPAMP_OFFER_HEARTBEAT_INTERVAL_SECONDS: {
    type: { kind: 'int', min: 1, max: 86_400 },
    description:
      'Server-wide default heartbeat interval offered to agents in OpAMP connection settings (groups may override). Unset: offer none.',
  },
  OPAMP_OFFER_OPAMP_ENDPOINT: {
    type: { kind: 'string' },
    description: 'Server-wide default OpAMP endpoint offered to agents that accept OpAMP connection settings (groups may override).',
  },
  OPAMP_OFFER_OWN_METRICS_ENDPOINT: {
    type: { kind: 'string' },
    description: "Server-wide default OTLP/HTTP URL (with path, e.g. http://otel:4318/v1/metrics) for agents' own metrics.",
  },
  OPAMP_OFFER_OWN_TRACES_ENDPOINT: { type: { kind: 'string' }, description: "Server-wide default OTLP/HTTP URL for agents' own traces." },
  OPAMP_OFFER_OWN_LOGS_ENDPOINT: { type: { kind: 'string' }, description: "Server-wide default OTLP/HTTP URL for agents' own logs." },
  OPAMP_RECONCILE_INTERVAL_SECONDS: {
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 30,
    description: 'How often connected agents are checked against their desired state, repairing any missed push.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
