import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { passwordProblem } from '../common/password-policy';
import { SETTINGS, SettingKey, SettingsConfig, SettingSpec } from './config.schema';

/** Typed, validated configuration of one server process: every setting at its `at` path (config.schema.ts). */
export type AppConfig = SettingsConfig & {
  /** Where the values came from, for the start-up log line. */
  source: { file?: string };
};

/**
 * What one report may make the server store (OPAMP_MAX_ATTRIBUTES and its siblings), applied by
 * src/opamp-gateway/protocol/report-limits.ts.
 */
export type ReportLimits = AppConfig['opamp']['reportLimits'];

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
    case 'number':
      return `a number between ${t.min} and ${t.max}`;
    case 'url':
      return 'an http(s) URL';
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
    case 'number': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^-?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n) || n < t.min || n > t.max) throw bad();
      return n;
    }
    case 'url':
      if (typeof text !== 'string' || !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(text)) throw bad();
      return text.replace(/\/+$/, '');
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
  if (!/^[a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?$/.test(v.ADMIN_USERNAME as string)) {
    throw new ConfigError(
      `Invalid configuration: ADMIN_USERNAME must be 1-64 lower-case letters, digits, ".", "_", "@" or "-", got ${JSON.stringify(v.ADMIN_USERNAME)}`,
    );
  }
  const sigstorePolicy = [v.PACKAGE_SIGSTORE_IDENTITY, v.PACKAGE_SIGSTORE_IDENTITY_REGEXP, v.PACKAGE_SIGSTORE_OIDC_ISSUER];
  if (v.PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE !== undefined) {
    if ((v.PACKAGE_SIGSTORE_IDENTITY === undefined && v.PACKAGE_SIGSTORE_IDENTITY_REGEXP === undefined) || v.PACKAGE_SIGSTORE_OIDC_ISSUER === undefined) {
      // A Fulcio certificate is given to anyone who signs in to its issuer: without a signer to expect, any would pass.
      throw new ConfigError(
        'Invalid configuration: PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE needs PACKAGE_SIGSTORE_OIDC_ISSUER and PACKAGE_SIGSTORE_IDENTITY or PACKAGE_SIGSTORE_IDENTITY_REGEXP (the signer keyless bundles must name)',
      );
    }
  } else if (sigstorePolicy.some((s) => s !== undefined)) {
    throw new ConfigError(
      'Invalid configuration: PACKAGE_SIGSTORE_IDENTITY, PACKAGE_SIGSTORE_IDENTITY_REGEXP and PACKAGE_SIGSTORE_OIDC_ISSUER need PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE (keyless bundles are verified against it)',
    );
  }
  const adminPasswordProblem = v.ADMIN_PASSWORD === undefined ? undefined : passwordProblem(v.ADMIN_PASSWORD, v.ADMIN_USERNAME);
  if (adminPasswordProblem) {
    throw new ConfigError(`Invalid configuration: ADMIN_PASSWORD ${adminPasswordProblem} (value hidden); unset it to have a random one generated`);
  }
  const config: Record<string, unknown> = { source: { file } };
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    let value = values[key];
    if (spec.refine) {
      try {
        value = (spec.refine as (value: unknown) => unknown)(value);
      } catch (err) {
        throw new ConfigError(`Invalid configuration: ${key} ${(err as Error).message}`);
      }
    }
    placeAt(config, spec.at, value);
  }
  return config as AppConfig;
}

/** Puts `value` at the dotted `at` path of `target`, making the objects on the way. */
function placeAt(target: Record<string, unknown>, at: string, value: unknown): void {
  const parts = at.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
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
