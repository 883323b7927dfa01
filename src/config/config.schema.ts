import { hostname } from 'node:os';
import * as path from 'node:path';
import { parseTrustProxy, TrustProxy } from './trust-proxy';

/**
 * The one declaration of every setting: its type, default, whether it is secret, what it means and
 * where it lands in the server's typed configuration (`at`). Loading, validation, the `AppConfig`
 * type, docs/configuration.md and secret redaction all come from this table, so a new setting is
 * one entry here (then `node scripts/settings-table.js`); relations between settings (pairs that
 * come together) are checked in app-config.ts.
 */
export type SettingType =
  | { kind: 'string'; minLength?: number }
  | { kind: 'port' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'bool' }
  | { kind: 'list' }
  /** An http(s) URL; trailing slashes are dropped so that paths can be appended. */
  | { kind: 'url' };

export interface SettingSpec {
  /** Dotted path of the value in AppConfig, e.g. `opamp.maxMessageBytes`. */
  at: string;
  type: SettingType;
  default?: string | number | boolean | string[];
  secret?: boolean;
  description: string;
  /**
   * Turns the checked value (or the default; undefined when neither) into what the server uses.
   * It may throw an Error whose message completes "Invalid configuration: KEY …".
   */
  refine?: (value: never) => unknown;
}

/** TRUST_PROXY's value as Fastify takes it, or the reason it cannot be. */
function trustProxyOf(entries: string[]): TrustProxy {
  const parsed = parseTrustProxy(entries);
  if (typeof parsed === 'object' && !Array.isArray(parsed)) throw new Error(parsed.error);
  return parsed;
}

export const SETTINGS = {
  MONGODB_URI: {
    at: 'mongodbUri',
    type: { kind: 'string' },
    secret: true,
    description:
      'MongoDB connection string. When unset, `npm start` runs an embedded local database (mongod on PATH, else FerretDB, else mongodb-memory-server) with its data under DATA_DIR.',
  },
  DATABASE_TIMEOUT_MS: {
    at: 'database.timeoutMs',
    type: { kind: 'int', min: 100, max: 600_000 },
    default: 5000,
    description:
      'How long a database call waits for a reachable server (server selection, connecting, the liveness check of open connections); past it the caller gets 503 + Retry-After (agents: 503 / UNAVAILABLE).',
  },
  DATABASE_OPERATION_TIMEOUT_MS: {
    at: 'database.operationTimeoutMs',
    type: { kind: 'int', min: 100, max: 3_600_000 },
    default: 30_000,
    description:
      'Deadline of every database operation (sent to the server as maxTimeMS and enforced by the driver); past it the caller gets 503 + Retry-After (agents: 503 / UNAVAILABLE with a retry hint), never a hang.',
  },
  CONTENT_GC_GRACE_SECONDS: {
    at: 'database.contentGcGraceSeconds',
    type: { kind: 'int', min: 0, max: 30 * 86_400 },
    default: 3600,
    description:
      'A body of the content store (effective configs, health trees, remote config revisions, stored once by hash) written or refreshed this recently is never garbage-collected, even when nothing refers to it yet.',
  },
  CONTENT_GC_INTERVAL_SECONDS: {
    at: 'database.contentGcIntervalSeconds',
    type: { kind: 'int', min: 1, max: 30 * 86_400 },
    default: 3600,
    description: 'How often one replica (the fleet-jobs lease holder) deletes content store bodies nothing refers to any more (past CONTENT_GC_GRACE_SECONDS).',
  },
  COUNT_SNAPSHOT_MAX_AGE_MS: {
    at: 'database.countSnapshotMaxAgeMs',
    type: { kind: 'int', min: 0, max: 600_000 },
    default: 10_000,
    description:
      'On a database whose counts read every document (FerretDB, the local default), agent counts (group status, fleet gauges, facets, remainingItemCount) come from one shared read of the counted fields, read again when older than this; a count then lags the agents by at most this long (0: a fresh read for every request). Unused on MongoDB, whose indexes answer counts.',
  },
  API_PORT: { at: 'apiPort', type: { kind: 'port' }, default: 8080, description: 'Port of the REST API, /healthz, /readyz and /api/docs.' },
  OPAMP_PORT: { at: 'opampPort', type: { kind: 'port' }, default: 4320, description: 'Port of OpAMP over WebSocket and plain HTTP (path /v1/opamp).' },
  GRPC_PORT: { at: 'grpcPort', type: { kind: 'port' }, default: 4321, description: 'Port of OpAMP over gRPC.' },
  GRPC_TLS_CERT_FILE: {
    at: 'grpc.tlsCertFile',
    type: { kind: 'string' },
    description:
      'PEM certificate chain for TLS on the gRPC port (with GRPC_TLS_KEY_FILE). Both unset: TLS_CERT_FILE / TLS_KEY_FILE when set, else plaintext gRPC (h2c).',
  },
  GRPC_TLS_KEY_FILE: { at: 'grpc.tlsKeyFile', type: { kind: 'string' }, description: 'PEM private key for TLS on the gRPC port (with GRPC_TLS_CERT_FILE).' },
  GRPC_IDLE_TIMEOUT_SECONDS: {
    at: 'grpc.idleTimeoutSeconds',
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description:
      'A gRPC stream that sends no AgentToServer within this time after opening is closed (DEADLINE_EXCEEDED); so is an HTTP/2 connection without streams.',
  },
  GRPC_KEEPALIVE_SECONDS: {
    at: 'grpc.keepaliveSeconds',
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description:
      'Interval of HTTP/2 keepalive pings on gRPC connections; a connection that does not answer one within 20 s is closed. Client keepalive pings are always permitted.',
  },
  METRICS_PORT: {
    at: 'metricsPort',
    type: { kind: 'port' },
    description: 'Serve Prometheus /metrics on this port instead of the API port (keeps scrapes off the public API).',
  },
  HOST: { at: 'host', type: { kind: 'string' }, default: '0.0.0.0', description: 'Address every listener binds to.' },
  DATA_DIR: {
    at: 'dataDir',
    type: { kind: 'string' },
    default: './data',
    refine: (dir: string) => path.resolve(dir),
    description: 'Directory for local state (the embedded database lives in DATA_DIR/db).',
  },
  LOG_LEVEL: {
    at: 'logLevel',
    type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'Minimum level of log lines.',
  },
  LOG_FORMAT: { at: 'logFormat', type: { kind: 'enum', values: ['json', 'pretty'] }, default: 'json', description: 'json for machines, pretty for humans.' },
  REPLICA_ID: {
    at: 'replicaId',
    type: { kind: 'string' },
    refine: (id: string | undefined) => id ?? hostname(),
    description: 'Name of this server replica, recorded on the agents it holds. Default: the host name.',
  },
  NATS_URL: {
    at: 'cluster.natsServers',
    type: { kind: 'list' },
    secret: true,
    description:
      'NATS server(s) of the event bus between replicas (comma-separated, e.g. nats://nats:4222). Unset: one process, an in-process feed. Required for more than one replica: without it a change made through one replica reaches agents on the others only at their next reconcile.',
  },
  NATS_SUBJECT_PREFIX: {
    at: 'cluster.subjectPrefix',
    type: { kind: 'string', minLength: 1 },
    default: 'opamp-commander',
    description: 'Prefix of the NATS subjects this deployment uses (several deployments may share one NATS server under different prefixes).',
  },
  REPLICA_HEARTBEAT_SECONDS: {
    at: 'cluster.heartbeatSeconds',
    type: { kind: 'int', min: 1, max: 3600 },
    default: 5,
    description: 'How often a replica records itself in the replica registry (and renews the leases it holds).',
  },
  REPLICA_TIMEOUT_SECONDS: {
    at: 'cluster.timeoutSeconds',
    type: { kind: 'int', min: 2, max: 86_400 },
    default: 20,
    description:
      'A replica silent this long is declared gone: the agents it held are marked disconnected, and the leases it held (fleet-wide jobs) pass to another replica. Must exceed REPLICA_HEARTBEAT_SECONDS.',
  },
  REBALANCE_ENABLED: {
    at: 'cluster.rebalance.enabled',
    type: { kind: 'bool' },
    default: true,
    description:
      "Whether a replica holding more than its fair share of WebSocket and gRPC agents (live replicas' counts from the registry) asks the surplus to reconnect, so that a new replica gets load. HTTP agents poll any replica and are never moved.",
  },
  REBALANCE_TOLERANCE_PERCENT: {
    at: 'cluster.rebalance.tolerancePercent',
    type: { kind: 'int', min: 0, max: 1000 },
    default: 10,
    description:
      'How far above its fair share (in percent of the share) a replica may stay without shedding agents; the larger of this and REBALANCE_TOLERANCE_MIN_AGENTS.',
  },
  REBALANCE_TOLERANCE_MIN_AGENTS: {
    at: 'cluster.rebalance.toleranceMinAgents',
    type: { kind: 'int', min: 0, max: 1_000_000 },
    default: 5,
    description: 'Agents a replica may hold above its fair share without shedding any, whatever the percentage (so that small fleets do not churn).',
  },
  REBALANCE_WINDOW_SECONDS: {
    at: 'cluster.rebalance.windowSeconds',
    type: { kind: 'int', min: 0, max: 3600 },
    default: 30,
    description: 'A rebalance spreads its closes (WebSocket 1001, gRPC UNAVAILABLE) over this long, so that the agents do not all reconnect at once.',
  },
  REBALANCE_COOLDOWN_SECONDS: {
    at: 'cluster.rebalance.cooldownSeconds',
    type: { kind: 'int', min: 0, max: 86_400 },
    default: 30,
    description:
      'After a rebalance a replica waits this long, and until every other replica has recorded itself since, before it judges its share again (no flapping on counts that predate the move).',
  },
  SHUTDOWN_DRAIN_SECONDS: {
    at: 'shutdownDrainSeconds',
    type: { kind: 'int', min: 0, max: 3600 },
    default: 5,
    description:
      'At shutdown, agent connections (WebSocket, gRPC) are closed spread over this long, at most half of SHUTDOWN_GRACE_SECONDS, so that they reconnect to the other replicas gradually; all at once when no other replica is live.',
  },
  WATCH_MAX_STREAMS: {
    at: 'watch.maxStreams',
    type: { kind: 'int', min: 1, max: 100_000 },
    default: 1000,
    description: 'Most change streams (GET /api/v1/watch) one replica serves at once; one more is answered 503 + Retry-After.',
  },
  WATCH_BUFFER_BYTES: {
    at: 'watch.bufferBytes',
    type: { kind: 'int', min: 1024, max: 256 * 1024 * 1024 },
    default: 1024 * 1024,
    description:
      'Bytes of events one change stream may have waiting for a slow reader (beyond what the socket holds); past it the stream ends with an `end` event (reason slow-consumer).',
  },
  WATCH_HEARTBEAT_SECONDS: {
    at: 'watch.heartbeatSeconds',
    type: { kind: 'int', min: 1, max: 3600 },
    default: 15,
    description: 'How often an idle change stream sends a comment line, so that proxies keep it open.',
  },
  WATCH_HISTORY_EVENTS: {
    at: 'watch.historyEvents',
    type: { kind: 'int', min: 10, max: 1_000_000 },
    default: 10_000,
    description: 'Recent changes each replica keeps so that a change stream reconnecting with Last-Event-ID resumes; an older id is told to relist.',
  },
  SHUTDOWN_GRACE_SECONDS: {
    at: 'shutdownGraceSeconds',
    type: { kind: 'int', min: 0, max: 3600 },
    default: 10,
    description: 'How long a shutdown waits for in-flight work before closing connections.',
  },
  OPAMP_MAX_MESSAGE_BYTES: {
    at: 'opamp.maxMessageBytes',
    type: { kind: 'int', min: 1024, max: 1024 * 1024 * 1024 },
    default: 4 * 1024 * 1024,
    description:
      "Largest OpAMP message accepted or sent, after decompression (WebSocket close 1009, HTTP 413, gRPC RESOURCE_EXHAUSTED). A Collector's reports are a few hundred KB at most.",
  },
  OPAMP_MAX_ATTRIBUTES: {
    at: 'opamp.reportLimits.maxAttributes',
    type: { kind: 'int', min: 1, max: 100_000 },
    default: 256,
    description:
      "Most attributes in one list a report stores (an agent description's, a health component's, a component's metadata); a report over any OPAMP_MAX_* limit is refused whole with error_response BAD_REQUEST naming it.",
  },
  OPAMP_MAX_ATTRIBUTE_KEY_BYTES: {
    at: 'opamp.reportLimits.maxAttributeKeyBytes',
    type: { kind: 'int', min: 1, max: 1024 * 1024 },
    default: 256,
    description: 'Longest attribute key (UTF-8 bytes) a report stores.',
  },
  OPAMP_MAX_ATTRIBUTE_VALUE_BYTES: {
    at: 'opamp.reportLimits.maxAttributeValueBytes',
    type: { kind: 'int', min: 1, max: 16 * 1024 * 1024 },
    default: 16 * 1024,
    description: 'Largest attribute value (bytes; arrays and key/value lists counted whole) a report stores.',
  },
  OPAMP_MAX_EFFECTIVE_CONFIG_FILE_BYTES: {
    at: 'opamp.reportLimits.maxEffectiveConfigFileBytes',
    type: { kind: 'int', min: 1, max: 15 * 1024 * 1024 },
    default: 1024 * 1024,
    description: 'Largest file of an effective config a report stores.',
  },
  OPAMP_MAX_EFFECTIVE_CONFIG_BYTES: {
    at: 'opamp.reportLimits.maxEffectiveConfigBytes',
    type: { kind: 'int', min: 1, max: 15 * 1024 * 1024 },
    default: 2 * 1024 * 1024,
    description: 'Largest effective config (all files together) a report stores.',
  },
  OPAMP_MAX_HEALTH_DEPTH: {
    at: 'opamp.reportLimits.maxHealthDepth',
    type: { kind: 'int', min: 1, max: 16 },
    default: 8,
    description: 'Most levels of components below the top of a reported health tree.',
  },
  OPAMP_MAX_HEALTH_COMPONENTS: {
    at: 'opamp.reportLimits.maxHealthComponents',
    type: { kind: 'int', min: 1, max: 1_000_000 },
    default: 2000,
    description: 'Most components in a reported health tree, every level counted.',
  },
  OPAMP_MAX_AVAILABLE_COMPONENTS: {
    at: 'opamp.reportLimits.maxAvailableComponents',
    type: { kind: 'int', min: 1, max: 1_000_000 },
    default: 5000,
    description: 'Most components (sub-components counted) in a reported available-components catalogue.',
  },
  OPAMP_MAX_CONNECTIONS: {
    at: 'opamp.maxConnections',
    type: { kind: 'int', min: 1, max: 10_000_000 },
    default: 100_000,
    description: 'Most concurrent agent connections (WebSocket + gRPC streams + HTTP agents seen in the last 3 polls); beyond it, 503 with Retry-After.',
  },
  OPAMP_MAX_NEW_CONNECTIONS_PER_SECOND: {
    at: 'opamp.maxNewConnectionsPerSecond',
    type: { kind: 'int', min: 1, max: 10_000_000 },
    default: 2_000,
    description: 'Most new agent connections accepted per second; beyond it, 503 with Retry-After.',
  },
  OPAMP_RETRY_AFTER_SECONDS: {
    at: 'opamp.retryAfterSeconds',
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description: 'Retry-After sent with 429/503 answers to agents.',
  },
  OPAMP_HEARTBEAT_INTERVAL_SECONDS: {
    at: 'opamp.heartbeatIntervalSeconds',
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 30,
    description: 'Heartbeat (and HTTP polling) interval agents are expected to keep; an HTTP agent is disconnected after missing 3.',
  },
  OPAMP_WS_PING_INTERVAL_SECONDS: {
    at: 'opamp.wsPingIntervalSeconds',
    type: { kind: 'int', min: 1, max: 3600 },
    default: 30,
    description: 'Interval of WebSocket pings that reap dead sockets (a socket silent for two intervals is closed).',
  },
  OPAMP_LAST_SEEN_FLUSH_MS: {
    at: 'opamp.lastSeenFlushMs',
    type: { kind: 'int', min: 50, max: 600_000 },
    default: 5000,
    description: 'How often batched last-seen updates of heartbeat-only messages are written to the database.',
  },
  OPAMP_LAST_SEEN_WRITE_SECONDS: {
    at: 'opamp.lastSeenWriteSeconds',
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 300,
    description:
      "How old the stored last-seen time of a WebSocket or gRPC agent that only sends heartbeats may get before it is written (the API shows the live value from memory; an HTTP agent's is written at least once per heartbeat interval).",
  },
  OPAMP_OFFER_HEARTBEAT_INTERVAL_SECONDS: {
    at: 'offers.heartbeatIntervalSeconds',
    type: { kind: 'int', min: 1, max: 86_400 },
    description: 'Server-wide default heartbeat interval offered to agents in OpAMP connection settings (groups may override). Unset: offer none.',
  },
  OPAMP_OFFER_OPAMP_ENDPOINT: {
    at: 'offers.opampEndpoint',
    type: { kind: 'string' },
    description: 'Server-wide default OpAMP endpoint offered to agents that accept OpAMP connection settings (groups may override).',
  },
  OPAMP_OFFER_OWN_METRICS_ENDPOINT: {
    at: 'offers.ownMetricsEndpoint',
    type: { kind: 'string' },
    description: "Server-wide default OTLP/HTTP URL (with path, e.g. http://otel:4318/v1/metrics) for agents' own metrics.",
  },
  OPAMP_OFFER_PACKAGES_BASE_URL: {
    at: 'offers.packagesBaseUrl',
    type: { kind: 'url' },
    description:
      "Base URL agents reach this server's OpAMP port at (e.g. https://opamp.example.com:4320), for the download URLs of offered packages (/v1/packages/…). Unset: the host the agent itself connected to (its Host header; gRPC agents: that host with OPAMP_PORT).",
  },
  OPAMP_OFFER_OWN_TRACES_ENDPOINT: {
    at: 'offers.ownTracesEndpoint',
    type: { kind: 'string' },
    description: "Server-wide default OTLP/HTTP URL for agents' own traces.",
  },
  OPAMP_OFFER_OWN_LOGS_ENDPOINT: {
    at: 'offers.ownLogsEndpoint',
    type: { kind: 'string' },
    description: "Server-wide default OTLP/HTTP URL for agents' own logs.",
  },
  TELEMETRY_RECEIVER: {
    at: 'telemetry.receiver',
    type: { kind: 'bool' },
    default: true,
    description:
      "Receive agents' own metrics over OTLP/HTTP at POST /v1/metrics on the OpAMP port, and offer that endpoint (with the agent's enrollment token as header) to agents that report own metrics, unless OPAMP_OFFER_OWN_METRICS_ENDPOINT or their group points them elsewhere.",
  },
  TELEMETRY_PUBLIC_URL: {
    at: 'telemetry.publicUrl',
    type: { kind: 'url' },
    description:
      'Base URL agents reach the OpAMP port at (e.g. https://opamp.example.com:4320), used for the offered own-metrics endpoint. Unset: the host the agent itself connected to (its Host header; gRPC agents: that host with OPAMP_PORT).',
  },
  TELEMETRY_MAX_REQUEST_BYTES: {
    at: 'telemetry.maxRequestBytes',
    type: { kind: 'int', min: 1024, max: 64 * 1024 * 1024 },
    default: 1_048_576,
    description:
      'Largest OTLP/HTTP metrics request accepted, compressed and after decompression (413 beyond). A Collector sends a few tens of KB of its own metrics.',
  },
  TELEMETRY_MAX_DATA_POINTS: {
    at: 'telemetry.maxDataPoints',
    type: { kind: 'int', min: 1, max: 10_000_000 },
    default: 20_000,
    description: 'Most data points in one OTLP metrics request (413 beyond).',
  },
  TELEMETRY_MAX_ATTRIBUTES: {
    at: 'telemetry.maxAttributes',
    type: { kind: 'int', min: 1, max: 100_000 },
    default: 128,
    description: 'Most attributes on one resource, scope or data point of an OTLP metrics request (400 beyond).',
  },
  TELEMETRY_MAX_COMPONENTS: {
    at: 'telemetry.maxComponents',
    type: { kind: 'int', min: 1, max: 1000 },
    default: 32,
    description: 'Most receivers and most exporters kept per agent in its telemetry window; series of further ones are ignored (and counted as ignored).',
  },
  TELEMETRY_IDLE_SECONDS: {
    at: 'telemetry.idleSeconds',
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 600,
    description: 'Condition Idle: a connected, healthy agent that accepted items before has accepted none for this long.',
  },
  TELEMETRY_STALE_SECONDS: {
    at: 'telemetry.staleSeconds',
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 300,
    description: 'Condition Stale: a connected agent expected to send its own metrics here has sent none for this long.',
  },
  TELEMETRY_EXPORT_FAILING_RATIO: {
    at: 'telemetry.exportFailingRatio',
    type: { kind: 'number', min: 0, max: 1 },
    default: 0.1,
    description: 'Condition ExportFailing: share of items its exporters failed to send over the last TELEMETRY_EXPORT_FAILING_SECONDS above this ratio (0-1).',
  },
  TELEMETRY_EXPORT_FAILING_SECONDS: {
    at: 'telemetry.exportFailingSeconds',
    type: { kind: 'int', min: 15, max: 3600 },
    default: 300,
    description: 'Window of the ExportFailing ratio.',
  },
  PACKAGE_MAX_FILE_BYTES: {
    at: 'packages.maxFileBytes',
    type: { kind: 'int', min: 1, max: 64 * 1024 * 1024 * 1024 },
    default: 256 * 1024 * 1024,
    description: 'Largest package file an upload may store (bytes); a larger one is refused with 413 and nothing of it is kept.',
  },
  PACKAGE_SIGNING_PUBLIC_KEY_FILE: {
    at: 'packages.signingPublicKeyFile',
    type: { kind: 'string' },
    description:
      'PEM public key that signatures of uploaded package files are verified against (RSA or ECDSA: SHA-256 over the file; Ed25519: over its SHA-256 digest); an upload whose signature does not verify is refused. Keyed Sigstore bundles (a public key hint) are checked against it too. Unset: signatures are stored and passed to agents unverified.',
  },
  PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE: {
    at: 'packages.sigstore.trustedRootFile',
    type: { kind: 'string' },
    description:
      "Sigstore trusted root (JSON, the TrustedRoot of Sigstore's protobuf-specs: Fulcio CAs, Rekor log keys, CT log keys, timestamp authorities) that Sigstore bundles of uploaded package files are verified against, offline: the server never asks Rekor or Fulcio. Needs PACKAGE_SIGSTORE_OIDC_ISSUER and PACKAGE_SIGSTORE_IDENTITY or PACKAGE_SIGSTORE_IDENTITY_REGEXP. Unset: a keyless (certificate) bundle is refused; a keyed bundle (public key hint) is checked against PACKAGE_SIGNING_PUBLIC_KEY_FILE with no log or timestamp authority to count.",
  },
  PACKAGE_SIGSTORE_IDENTITY: {
    at: 'packages.sigstore.identity',
    type: { kind: 'string', minLength: 1 },
    description:
      "The signer a keyless Sigstore bundle's certificate must name (its subject alternative name, exactly: an email or a URI such as a CI workflow's). With PACKAGE_SIGSTORE_IDENTITY_REGEXP as well, both must hold.",
  },
  PACKAGE_SIGSTORE_IDENTITY_REGEXP: {
    at: 'packages.sigstore.identityRegexp',
    type: { kind: 'string', minLength: 1 },
    description:
      "A JavaScript regular expression the certificate's subject alternative name must match (unanchored, as cosign's --certificate-identity-regexp: write ^…$ to match it whole). With PACKAGE_SIGSTORE_IDENTITY as well, both must hold.",
    // Checked here (a bad pattern stops the start, naming the key); the packages module compiles it.
    refine: (value: string | undefined) => {
      if (value === undefined) return undefined;
      try {
        new RegExp(value);
      } catch (err) {
        throw new Error(`is not a regular expression: ${(err as Error).message}`);
      }
      return value;
    },
  },
  PACKAGE_SIGSTORE_OIDC_ISSUER: {
    at: 'packages.sigstore.oidcIssuer',
    type: { kind: 'string', minLength: 1 },
    description:
      "The OIDC issuer a keyless Sigstore bundle's certificate must name (Fulcio's issuer extension), exactly, e.g. https://token.actions.githubusercontent.com.",
  },
  PACKAGE_SIGSTORE_TLOG_THRESHOLD: {
    at: 'packages.sigstore.tlogThreshold',
    type: { kind: 'int', min: 0, max: 10 },
    default: 1,
    description:
      "Transparency log (Rekor) entries a Sigstore bundle must carry, each verified offline against the trusted root's log keys (inclusion promise or inclusion proof with a signed checkpoint). 1 is what Sigstore's public instance gives; 0 for a private deployment without a log.",
  },
  PACKAGE_SIGSTORE_CTLOG_THRESHOLD: {
    at: 'packages.sigstore.ctlogThreshold',
    type: { kind: 'int', min: 0, max: 10 },
    default: 1,
    description:
      "Signed certificate timestamps (SCTs of the trusted root's CT logs) a keyless Sigstore bundle's certificate must carry. 1 is what Sigstore's public instance gives; 0 for a private CA without a CT log.",
  },
  PACKAGE_SIGSTORE_TIMESTAMP_THRESHOLD: {
    at: 'packages.sigstore.timestampThreshold',
    type: { kind: 'int', min: 0, max: 10 },
    default: 1,
    description:
      "Verified times a Sigstore bundle must carry (a log entry's integrated time under its inclusion promise, or an RFC 3161 timestamp of the trusted root's timestamp authorities); a keyless certificate is checked at each of them, and always needs one. 0 for a keyed bundle with no log.",
  },
  PACKAGE_MAX_CONCURRENT_DOWNLOADS: {
    at: 'packages.maxConcurrentDownloads',
    type: { kind: 'int', min: 1, max: 100_000 },
    default: 200,
    description:
      'Package downloads this replica sends at once on the OpAMP port; beyond, a download waits its turn in a first-come queue (PACKAGE_DOWNLOAD_QUEUE_LENGTH), so a fleet upgrading at once does not starve heartbeats.',
  },
  PACKAGE_CACHE_MAX_BYTES: {
    at: 'packages.cacheMaxBytes',
    type: { kind: 'int', min: 1, max: 1_099_511_627_776 },
    default: 2_147_483_648,
    description:
      'Bytes of package files this replica keeps copied on local disk (DATA_DIR/package-cache); beyond, the least recently served copies that no download is reading are removed (copied from the database again when next asked for).',
  },
  PACKAGE_MEMORY_CACHE_BYTES: {
    at: 'packages.memoryCacheBytes',
    type: { kind: 'int', min: 0, max: 1_099_511_627_776 },
    default: 67_108_864,
    description:
      'Bytes of package files this replica holds in memory for downloads (read from the local copy once in 256 KiB blocks and sent to every agent downloading the same file; least recently used blocks leave first). 0: each block is read from disk again for each download that is not asking for it at the same moment.',
  },
  PACKAGE_DOWNLOAD_QUEUE_LENGTH: {
    at: 'packages.downloadQueueLength',
    type: { kind: 'int', min: 0, max: 1_000_000 },
    default: 5000,
    description:
      'Package downloads that may wait (first come, first served, holding no file bytes) for one of the PACKAGE_MAX_CONCURRENT_DOWNLOADS places; beyond, 503 + Retry-After. 0: no queue.',
  },
  OPAMP_RECONCILE_INTERVAL_SECONDS: {
    at: 'opamp.reconcileIntervalSeconds',
    type: { kind: 'int', min: 1, max: 86_400 },
    default: 30,
    description: 'How often connected agents are checked against their desired state, repairing any missed push.',
  },
  OPAMP_AGENT_AUTH: {
    at: 'auth.agentAuth',
    type: { kind: 'enum', values: ['token', 'none'] },
    default: 'token',
    description:
      'How agents authenticate on the OpAMP listeners: token (an enrollment token as `Authorization: Bearer …`, or a client certificate when TLS_CLIENT_CA_FILE is set) or none (every agent is admitted; a warning is logged at start).',
  },
  AGENT_TOKEN_CACHE_SECONDS: {
    at: 'auth.agentTokenCacheSeconds',
    type: { kind: 'int', min: 0, max: 86_400 },
    default: 300,
    description:
      'An enrollment token verified within this time still admits its agents while the database is unreachable (0: never). Revoking a token forgets it on the replica that revoked it at once, elsewhere within 10 s.',
  },
  ADMIN_USERNAME: {
    at: 'auth.adminUsername',
    type: { kind: 'string' },
    default: 'admin',
    description: 'Name of the administrator created at start when no user of that name exists.',
  },
  ADMIN_PASSWORD: {
    at: 'auth.adminPassword',
    type: { kind: 'string' },
    secret: true,
    description:
      'Password of ADMIN_USERNAME, applied at every start (changing it rotates the password). Unset: a random one is generated at the first start and printed once. Short or well-known passwords are refused.',
  },
  JWT_SECRET: {
    at: 'auth.jwtSecret',
    type: { kind: 'string', minLength: 32 },
    secret: true,
    description:
      'Key that signs access tokens and OAuth state (HS256), at least 32 characters; the same on every replica. Unset: one is generated and kept in DATA_DIR/auth/jwt-secret.',
  },
  JWT_ACCESS_TTL_SECONDS: {
    at: 'auth.accessTokenTtlSeconds',
    type: { kind: 'int', min: 30, max: 86_400 },
    default: 900,
    description: 'Lifetime of an access token (JWT).',
  },
  JWT_REFRESH_TTL_SECONDS: {
    at: 'auth.refreshTokenTtlSeconds',
    type: { kind: 'int', min: 60, max: 31_536_000 },
    default: 604_800,
    description: 'Lifetime of a refresh token; each refresh issues a new one with a fresh lifetime. A session unused this long ends.',
  },
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: {
    at: 'auth.refreshReuseGraceSeconds',
    type: { kind: 'int', min: 0, max: 300 },
    default: 10,
    description:
      'For this long after a refresh, the token it replaced is still exchanged (for the next one) instead of counting as a replay that revokes the session: a browser that reloads or closes a tab while a refresh is under way never stores the rotated cookie. 0: every replay revokes.',
  },
  LOGIN_RATE_LIMIT_PER_USER: {
    at: 'auth.loginRateLimitPerUser',
    type: { kind: 'int', min: 1, max: 100_000 },
    default: 10,
    description: 'Login attempts (password, Basic) allowed per user name per minute, per replica (token bucket); beyond it, 429.',
  },
  LOGIN_RATE_LIMIT_PER_ADDRESS: {
    at: 'auth.loginRateLimitPerAddress',
    type: { kind: 'int', min: 1, max: 100_000 },
    default: 30,
    description:
      'Login attempts (password, Basic) and refused refresh tokens allowed per client address per minute, per replica (token bucket); beyond it, 429. A valid refresh (every page load of the web UI) is not counted.',
  },
  PUBLIC_URL: {
    at: 'auth.publicUrl',
    type: { kind: 'url' },
    description:
      'External base URL of the API (e.g. https://opamp.example.com), used for the GitHub OAuth callback. Unset: taken from the request (Host, X-Forwarded-*).',
  },
  GITHUB_CLIENT_ID: {
    at: 'auth.github.clientId',
    type: { kind: 'string' },
    description: 'Client ID of the GitHub OAuth app; with GITHUB_CLIENT_SECRET it enables GitHub login (web and device flow).',
  },
  GITHUB_CLIENT_SECRET: { at: 'auth.github.clientSecret', type: { kind: 'string' }, secret: true, description: 'Client secret of the GitHub OAuth app.' },
  GITHUB_BASE_URL: {
    at: 'auth.github.baseUrl',
    type: { kind: 'url' },
    default: 'https://github.com',
    description: 'GitHub web base URL (OAuth authorize, token and device endpoints); set for GitHub Enterprise Server.',
  },
  GITHUB_API_URL: {
    at: 'auth.github.apiUrl',
    type: { kind: 'url' },
    default: 'https://api.github.com',
    description: 'GitHub REST API base URL (/user, /user/orgs); for GitHub Enterprise Server https://HOST/api/v3.',
  },
  GITHUB_ALLOWED_ORGS: {
    at: 'auth.github.allowedOrgs',
    type: { kind: 'list' },
    default: [],
    refine: (orgs: string[]) => orgs.map((o) => o.toLowerCase()),
    description:
      'GitHub organisations whose members may sign in (comma-separated); new users get GITHUB_DEFAULT_ROLE. Empty: only GitHub accounts an admin linked to a user (spec.githubLogin) may sign in.',
  },
  GITHUB_DEFAULT_ROLE: {
    at: 'auth.github.defaultRole',
    type: { kind: 'enum', values: ['viewer', 'operator', 'admin'] },
    default: 'viewer',
    description: 'Role of a user created at their first GitHub sign-in.',
  },
  TLS_CERT_FILE: {
    at: 'tls.certFile',
    type: { kind: 'string' },
    description: 'PEM certificate chain for TLS on the API, OpAMP and gRPC ports (with TLS_KEY_FILE; GRPC_TLS_* override it for gRPC). Unset: plaintext.',
  },
  TLS_KEY_FILE: { at: 'tls.keyFile', type: { kind: 'string' }, description: 'PEM private key for TLS_CERT_FILE.' },
  TLS_CLIENT_CA_FILE: {
    at: 'tls.clientCaFile',
    type: { kind: 'string' },
    description:
      'PEM CA bundle: agents presenting a client certificate it verifies are admitted on the OpAMP and gRPC ports without a token (mTLS). Needs TLS_CERT_FILE.',
  },
  TRUST_PROXY: {
    at: 'trustProxy',
    type: { kind: 'list' },
    default: [],
    refine: trustProxyOf,
    description:
      'Proxies whose X-Forwarded-For/-Proto/-Host are believed: addresses and CIDRs (or loopback/linklocal/uniquelocal), a hop count N (N proxies in front), or * for any peer. Empty: none, the client address is the peer\'s. It is the address login rate limits and the audit log use, and the scheme and host of the OAuth callback; set it behind an ingress (docs/authentication.md, "Behind a proxy").',
  },
  CORS_ORIGINS: {
    at: 'corsOrigins',
    type: { kind: 'list' },
    default: [],
    description: 'Origins allowed to call the API from a browser (comma-separated, e.g. https://ui.example.com; * for any). Empty: no CORS headers.',
  },
  ENROLLMENT_TOKEN_TTL_DAYS: {
    at: 'enrollmentTokenTtlDays',
    type: { kind: 'int', min: 1, max: 36_500 },
    default: 30,
    description: 'Lifetime of an enrollment token created without spec.expiresAt (connected agents stay when it ends; create a new token before).',
  },
  AUDIT_RETENTION_DAYS: {
    at: 'auditRetentionDays',
    type: { kind: 'int', min: 1, max: 36_500 },
    default: 90,
    description: 'How long audit log entries are kept.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

/* The configuration's type, derived from the table: each entry puts its value (refined, when it has
   `refine`) at its `at` path; a setting without default and without refine is optional. */
type ValueOfType<T> = T extends { kind: 'port' | 'int' | 'number' }
  ? number
  : T extends { kind: 'enum'; values: readonly (infer V)[] }
    ? V
    : T extends { kind: 'bool' }
      ? boolean
      : T extends { kind: 'list' }
        ? string[]
        : string;
type ValueOf<S> = S extends { refine: (value: never) => infer R } ? R : S extends { type: infer T } ? ValueOfType<T> : never;
type IsRequired<S> = S extends { refine: (value: never) => infer R } ? (undefined extends R ? false : true) : S extends { default: unknown } ? true : false;
type AtPath<P extends string, V, Required> = P extends `${infer Head}.${infer Rest}`
  ? { [K in Head]: AtPath<Rest, V, Required> }
  : Required extends true
    ? { [K in P]: V }
    : { [K in P]?: V };
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** Flattens the intersections into one object type, so that editors show plain nested objects. */
type Flat<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;
type Settings = typeof SETTINGS;

/** Every setting's value at its place, typed. */
export type SettingsConfig = Flat<
  UnionToIntersection<{ [K in SettingKey]: AtPath<Settings[K]['at'], ValueOf<Settings[K]>, IsRequired<Settings[K]>> }[SettingKey]>
>;
