import { hostname } from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { passwordProblem } from '../common/password-policy';
import type { Role } from '../common/roles';
import { SETTINGS, SettingKey, SettingSpec } from './config.schema';
import { parseTrustProxy, TrustProxy } from './trust-proxy';

/* The limits are declared here (config imports no feature module) and applied by src/opamp-gateway/protocol/report-limits.ts. */
/**
 * Limits on what one report may make the server store, so that a wide or huge report cannot
 * degrade every query (issue 14, defect 2). Each has a setting (config.schema.ts).
 */
export interface ReportLimits {
  /** Attributes in one list: a description's identifying + non-identifying, one health component's, one component's metadata. */
  maxAttributes: number;
  maxAttributeKeyBytes: number;
  /** Bytes of one attribute value (strings and bytes by length, numbers 8, nested keys and values summed). */
  maxAttributeValueBytes: number;
  maxEffectiveConfigFileBytes: number;
  /** All effective config files of one report together. */
  maxEffectiveConfigBytes: number;
  /** Levels of components below the top of a health tree. */
  maxHealthDepth: number;
  /** Components in a health tree, every level counted. */
  maxHealthComponents: number;
  /** Components in an available-components catalogue, sub-components counted. */
  maxAvailableComponents: number;
}

/** Typed, validated configuration of one server process. */
export interface AppConfig {
  mongodbUri?: string;
  /** Deadlines of database calls (see DATABASE_TIMEOUT_MS, DATABASE_OPERATION_TIMEOUT_MS). */
  database: { timeoutMs: number; operationTimeoutMs: number };
  apiPort: number;
  opampPort: number;
  grpcPort: number;
  /** When set, /metrics is served on this port instead of the API port. */
  metricsPort?: number;
  grpc: {
    /** TLS on the gRPC port when both are set (validated together). */
    tlsCertFile?: string;
    tlsKeyFile?: string;
    idleTimeoutSeconds: number;
    keepaliveSeconds: number;
  };
  host: string;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logFormat: 'json' | 'pretty';
  replicaId: string;
  /** Replicas and the event bus between them (src/cluster). */
  cluster: { natsServers?: string[]; subjectPrefix: string; heartbeatSeconds: number; timeoutSeconds: number };
  shutdownGraceSeconds: number;
  /** Change streams (GET /api/v1/watch). */
  watch: { maxStreams: number; bufferBytes: number; heartbeatSeconds: number; historyEvents: number };
  opamp: {
    maxMessageBytes: number;
    maxConnections: number;
    maxNewConnectionsPerSecond: number;
    retryAfterSeconds: number;
    heartbeatIntervalSeconds: number;
    wsPingIntervalSeconds: number;
    lastSeenFlushMs: number;
    lastSeenWriteSeconds: number;
    reconcileIntervalSeconds: number;
    /** What one report may make the server store (OPAMP_MAX_ATTRIBUTES and its siblings). */
    reportLimits: ReportLimits;
  };
  /** Server-wide default connection settings offered to agents (groups may override each part). */
  offers: {
    heartbeatIntervalSeconds?: number;
    opampEndpoint?: string;
    ownMetricsEndpoint?: string;
    ownTracesEndpoint?: string;
    ownLogsEndpoint?: string;
  };
  /** Agents' own telemetry received over OTLP/HTTP (src/telemetry). */
  telemetry: {
    receiver: boolean;
    publicUrl?: string;
    maxRequestBytes: number;
    maxDataPoints: number;
    maxAttributes: number;
    maxComponents: number;
    idleSeconds: number;
    staleSeconds: number;
    exportFailingRatio: number;
    exportFailingSeconds: number;
  };
  /** Users, tokens and agent credentials. */
  auth: {
    /** How agents authenticate on the OpAMP listeners. */
    agentAuth: 'token' | 'none';
    /** How long a verified enrollment token keeps admitting agents while the database is unreachable. */
    agentTokenCacheSeconds: number;
    adminUsername: string;
    adminPassword?: string;
    /** Unset: generated and kept under DATA_DIR (see auth/jwt-secret.ts). */
    jwtSecret?: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    loginRateLimitPerUser: number;
    loginRateLimitPerAddress: number;
    publicUrl?: string;
    github: {
      clientId?: string;
      clientSecret?: string;
      baseUrl: string;
      apiUrl: string;
      allowedOrgs: string[];
      defaultRole: Role;
    };
  };
  /** TLS of the API and OpAMP listeners (gRPC too unless GRPC_TLS_* are set); clientCaFile enables agent mTLS. */
  tls: { certFile?: string; keyFile?: string; clientCaFile?: string };
  corsOrigins: string[];
  /** Fastify's trustProxy: false (no forwarding header believed), true for any peer, a hop count, or the trusted addresses/ranges. */
  trustProxy: TrustProxy;
  auditRetentionDays: number;
  /** Lifetime of an enrollment token whose spec has no expiresAt. */
  enrollmentTokenTtlDays: number;
  /** Where the values came from, for the start-up log line. */
  source: { file?: string };
}

/** A configuration problem: one line naming the key and what was expected. */
export class ConfigError extends Error {}

type Raw = Partial<Record<SettingKey, unknown>>;

function describeExpected(spec: SettingSpec): string {
  const t = spec.type;
  switch (t.kind) {
    case 'port':
      return 'a port number between 0 and 65535';
    case 'int':
      return `an integer between ${t.min} and ${t.max}`;
    case 'enum':
      return `one of ${t.values.join(', ')}`;
    case 'bool':
      return 'true or false';
    case 'list':
      return 'a comma-separated list';
    default:
      return t.minLength ? `a string of at least ${t.minLength} characters` : 'a string';
  }
}

function coerce(key: SettingKey, spec: SettingSpec, value: unknown): string | number | boolean | string[] {
  const shown = spec.secret ? '(secret value hidden)' : JSON.stringify(value);
  const bad = () => new ConfigError(`Invalid configuration: ${key} must be ${describeExpected(spec)}, got ${shown}`);
  const text = typeof value === 'string' ? value.trim() : value;
  const t = spec.type;
  switch (t.kind) {
    case 'port':
    case 'int': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : NaN;
      const [min, max] = t.kind === 'port' ? [0, 65535] : [t.min, t.max];
      if (!Number.isSafeInteger(n) || n < min || n > max) throw bad();
      return n;
    }
    case 'enum':
      if (typeof text !== 'string' || !t.values.includes(text)) throw bad();
      return text;
    case 'bool':
      if (text === true || text === 'true' || text === '1') return true;
      if (text === false || text === 'false' || text === '0') return false;
      throw bad();
    case 'list':
      if (Array.isArray(text) && text.every((v) => typeof v === 'string')) return text;
      if (typeof text !== 'string') throw bad();
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      if (typeof text !== 'string' && typeof text !== 'number') throw bad();
      if (String(text).length === 0) throw bad();
      if (t.minLength && String(text).length < t.minLength) {
        throw new ConfigError(
          `Invalid configuration: ${key} must be ${describeExpected(spec)}, got ${spec.secret ? `${String(text).length} (value hidden)` : JSON.stringify(text)}`,
        );
      }
      return String(text);
  }
}

function readFile(file: string): Raw {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Invalid configuration: cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`Invalid configuration: config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`Invalid configuration: config file ${file} must be a mapping of setting names to values`);
  }
  for (const key of Object.keys(doc)) {
    if (!(key in SETTINGS)) {
      throw new ConfigError(`Invalid configuration: unknown key ${key} in ${file} (known keys: ${Object.keys(SETTINGS).join(', ')})`);
    }
  }
  return doc as Raw;
}

/** Finds `--config FILE` / `--config=FILE` in argv, else OPAMP_COMMANDER_CONFIG. */
export function configFileFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config') {
      if (!argv[i + 1]) throw new ConfigError('Invalid configuration: --config needs a file name');
      return argv[i + 1];
    }
    if (argv[i].startsWith('--config=')) return argv[i].slice('--config='.length);
  }
  return env.OPAMP_COMMANDER_CONFIG || undefined;
}

/**
 * Loads configuration: defaults, then the YAML file, then environment variables (the
 * environment wins so that a deployment can override one key of a shared file).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): AppConfig {
  const file = configFileFrom(argv, env);
  const fromFile = file ? readFile(file) : {};
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    const envValue = env[key];
    const raw = envValue !== undefined && envValue !== '' ? envValue : fromFile[key];
    if (raw === undefined || raw === null) {
      values[key] = spec.default;
    } else {
      values[key] = coerce(key, spec, raw);
    }
  }
  const v = values as Record<SettingKey, never>;
  if ((v.GRPC_TLS_CERT_FILE === undefined) !== (v.GRPC_TLS_KEY_FILE === undefined)) {
    throw new ConfigError('Invalid configuration: GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE must be set together (TLS on the gRPC port needs both)');
  }
  if ((v.TLS_CERT_FILE === undefined) !== (v.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('Invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE must be set together (TLS needs both)');
  }
  if (v.TLS_CLIENT_CA_FILE !== undefined && v.TLS_CERT_FILE === undefined) {
    throw new ConfigError('Invalid configuration: TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE (client certificates are only asked for over TLS)');
  }
  if ((v.REPLICA_TIMEOUT_SECONDS as number) <= (v.REPLICA_HEARTBEAT_SECONDS as number)) {
    throw new ConfigError(
      'Invalid configuration: REPLICA_TIMEOUT_SECONDS must exceed REPLICA_HEARTBEAT_SECONDS (a replica would be declared gone between two of its own heartbeats)',
    );
  }
  if ((v.GITHUB_CLIENT_ID === undefined) !== (v.GITHUB_CLIENT_SECRET === undefined)) {
    throw new ConfigError('Invalid configuration: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET must be set together (GitHub login needs both)');
  }
  const ratio = Number(v.TELEMETRY_EXPORT_FAILING_RATIO);
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new ConfigError(
      `Invalid configuration: TELEMETRY_EXPORT_FAILING_RATIO must be a number between 0 and 1, got ${JSON.stringify(v.TELEMETRY_EXPORT_FAILING_RATIO)}`,
    );
  }
  for (const key of ['GITHUB_BASE_URL', 'GITHUB_API_URL', 'PUBLIC_URL', 'TELEMETRY_PUBLIC_URL'] as const) {
    const url = v[key] as string | undefined;
    if (url !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) {
      throw new ConfigError(`Invalid configuration: ${key} must be an http(s) URL, got ${JSON.stringify(url)}`);
    }
  }
  if (!/^[a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?$/.test(v.ADMIN_USERNAME as string)) {
    throw new ConfigError(
      `Invalid configuration: ADMIN_USERNAME must be 1-64 lower-case letters, digits, ".", "_", "@" or "-", got ${JSON.stringify(v.ADMIN_USERNAME)}`,
    );
  }
  const adminPasswordProblem = v.ADMIN_PASSWORD === undefined ? undefined : passwordProblem(v.ADMIN_PASSWORD, v.ADMIN_USERNAME);
  if (adminPasswordProblem) {
    throw new ConfigError(`Invalid configuration: ADMIN_PASSWORD ${adminPasswordProblem} (value hidden); unset it to have a random one generated`);
  }
  const trustProxy = parseTrustProxy(v.TRUST_PROXY as string[]);
  if (typeof trustProxy === 'object' && !Array.isArray(trustProxy)) {
    throw new ConfigError(`Invalid configuration: TRUST_PROXY ${trustProxy.error}`);
  }
  const trimUrl = (u: string | undefined) => u?.replace(/\/+$/, '');
  return {
    mongodbUri: v.MONGODB_URI,
    database: { timeoutMs: v.DATABASE_TIMEOUT_MS, operationTimeoutMs: v.DATABASE_OPERATION_TIMEOUT_MS },
    apiPort: v.API_PORT,
    opampPort: v.OPAMP_PORT,
    grpcPort: v.GRPC_PORT,
    metricsPort: v.METRICS_PORT,
    grpc: {
      tlsCertFile: v.GRPC_TLS_CERT_FILE,
      tlsKeyFile: v.GRPC_TLS_KEY_FILE,
      idleTimeoutSeconds: v.GRPC_IDLE_TIMEOUT_SECONDS,
      keepaliveSeconds: v.GRPC_KEEPALIVE_SECONDS,
    },
    host: v.HOST,
    dataDir: path.resolve(v.DATA_DIR),
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    replicaId: (v.REPLICA_ID as string | undefined) ?? hostname(),
    cluster: {
      natsServers: v.NATS_URL as string[] | undefined,
      subjectPrefix: v.NATS_SUBJECT_PREFIX,
      heartbeatSeconds: v.REPLICA_HEARTBEAT_SECONDS,
      timeoutSeconds: v.REPLICA_TIMEOUT_SECONDS,
    },
    shutdownGraceSeconds: v.SHUTDOWN_GRACE_SECONDS,
    watch: {
      maxStreams: v.WATCH_MAX_STREAMS,
      bufferBytes: v.WATCH_BUFFER_BYTES,
      heartbeatSeconds: v.WATCH_HEARTBEAT_SECONDS,
      historyEvents: v.WATCH_HISTORY_EVENTS,
    },
    opamp: {
      maxMessageBytes: v.OPAMP_MAX_MESSAGE_BYTES,
      maxConnections: v.OPAMP_MAX_CONNECTIONS,
      maxNewConnectionsPerSecond: v.OPAMP_MAX_NEW_CONNECTIONS_PER_SECOND,
      retryAfterSeconds: v.OPAMP_RETRY_AFTER_SECONDS,
      heartbeatIntervalSeconds: v.OPAMP_HEARTBEAT_INTERVAL_SECONDS,
      wsPingIntervalSeconds: v.OPAMP_WS_PING_INTERVAL_SECONDS,
      lastSeenFlushMs: v.OPAMP_LAST_SEEN_FLUSH_MS,
      lastSeenWriteSeconds: v.OPAMP_LAST_SEEN_WRITE_SECONDS,
      reconcileIntervalSeconds: v.OPAMP_RECONCILE_INTERVAL_SECONDS,
      reportLimits: {
        maxAttributes: v.OPAMP_MAX_ATTRIBUTES,
        maxAttributeKeyBytes: v.OPAMP_MAX_ATTRIBUTE_KEY_BYTES,
        maxAttributeValueBytes: v.OPAMP_MAX_ATTRIBUTE_VALUE_BYTES,
        maxEffectiveConfigFileBytes: v.OPAMP_MAX_EFFECTIVE_CONFIG_FILE_BYTES,
        maxEffectiveConfigBytes: v.OPAMP_MAX_EFFECTIVE_CONFIG_BYTES,
        maxHealthDepth: v.OPAMP_MAX_HEALTH_DEPTH,
        maxHealthComponents: v.OPAMP_MAX_HEALTH_COMPONENTS,
        maxAvailableComponents: v.OPAMP_MAX_AVAILABLE_COMPONENTS,
      },
    },
    offers: {
      heartbeatIntervalSeconds: v.OPAMP_OFFER_HEARTBEAT_INTERVAL_SECONDS,
      opampEndpoint: v.OPAMP_OFFER_OPAMP_ENDPOINT,
      ownMetricsEndpoint: v.OPAMP_OFFER_OWN_METRICS_ENDPOINT,
      ownTracesEndpoint: v.OPAMP_OFFER_OWN_TRACES_ENDPOINT,
      ownLogsEndpoint: v.OPAMP_OFFER_OWN_LOGS_ENDPOINT,
    },
    telemetry: {
      receiver: v.TELEMETRY_RECEIVER,
      publicUrl: trimUrl(v.TELEMETRY_PUBLIC_URL),
      maxRequestBytes: v.TELEMETRY_MAX_REQUEST_BYTES,
      maxDataPoints: v.TELEMETRY_MAX_DATA_POINTS,
      maxAttributes: v.TELEMETRY_MAX_ATTRIBUTES,
      maxComponents: v.TELEMETRY_MAX_COMPONENTS,
      idleSeconds: v.TELEMETRY_IDLE_SECONDS,
      staleSeconds: v.TELEMETRY_STALE_SECONDS,
      exportFailingRatio: Number(v.TELEMETRY_EXPORT_FAILING_RATIO),
      exportFailingSeconds: v.TELEMETRY_EXPORT_FAILING_SECONDS,
    },
    auth: {
      agentAuth: v.OPAMP_AGENT_AUTH,
      agentTokenCacheSeconds: v.AGENT_TOKEN_CACHE_SECONDS,
      adminUsername: v.ADMIN_USERNAME,
      adminPassword: v.ADMIN_PASSWORD,
      jwtSecret: v.JWT_SECRET,
      accessTokenTtlSeconds: v.JWT_ACCESS_TTL_SECONDS,
      refreshTokenTtlSeconds: v.JWT_REFRESH_TTL_SECONDS,
      loginRateLimitPerUser: v.LOGIN_RATE_LIMIT_PER_USER,
      loginRateLimitPerAddress: v.LOGIN_RATE_LIMIT_PER_ADDRESS,
      publicUrl: trimUrl(v.PUBLIC_URL),
      github: {
        clientId: v.GITHUB_CLIENT_ID,
        clientSecret: v.GITHUB_CLIENT_SECRET,
        baseUrl: trimUrl(v.GITHUB_BASE_URL)!,
        apiUrl: trimUrl(v.GITHUB_API_URL)!,
        allowedOrgs: (v.GITHUB_ALLOWED_ORGS as string[]).map((o) => o.toLowerCase()),
        defaultRole: v.GITHUB_DEFAULT_ROLE,
      },
    },
    tls: { certFile: v.TLS_CERT_FILE, keyFile: v.TLS_KEY_FILE, clientCaFile: v.TLS_CLIENT_CA_FILE },
    corsOrigins: v.CORS_ORIGINS,
    trustProxy,
    auditRetentionDays: v.AUDIT_RETENTION_DAYS,
    enrollmentTokenTtlDays: v.ENROLLMENT_TOKEN_TTL_DAYS,
    source: { file },
  };
}

/** The configuration as it may be logged: secrets replaced by a marker. */
export function redactedSettings(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    if (env[key] === undefined) continue;
    out[key] = spec.secret ? '[redacted]' : String(env[key]);
  }
  return out;
}
