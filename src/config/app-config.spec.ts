import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, redactedSettings } from './app-config';
import { SETTINGS, SettingKey, SettingSpec } from './config.schema';

function tmpFile(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'occ-config-')), 'config.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({}, []);
    expect(c.apiPort).toBe(8080);
    expect(c.opampPort).toBe(4320);
    expect(c.grpcPort).toBe(4321);
    expect(c.host).toBe('0.0.0.0');
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.logFormat).toBe('json');
    expect(c.mongodbUri).toBeUndefined();
    expect(c.opamp.maxMessageBytes).toBe(4 * 1024 * 1024);
    expect(c.opamp.reportLimits).toEqual({
      maxAttributes: 256,
      maxAttributeKeyBytes: 256,
      maxAttributeValueBytes: 16 * 1024,
      maxEffectiveConfigFileBytes: 1024 * 1024,
      maxEffectiveConfigBytes: 2 * 1024 * 1024,
      maxHealthDepth: 8,
      maxHealthComponents: 2000,
      maxAvailableComponents: 5000,
    });
  });

  it('reads a YAML file named by --config and lets the environment override it', () => {
    const file = tmpFile('API_PORT: 9000\nLOG_FORMAT: pretty\nOPAMP_PORT: 5000\n');
    const c = loadConfig({ OPAMP_PORT: '6000' }, ['--config', file]);
    expect(c.apiPort).toBe(9000);
    expect(c.logFormat).toBe('pretty');
    expect(c.opampPort).toBe(6000);
    expect(c.source.file).toBe(file);
  });

  it('takes the file from OPAMP_COMMANDER_CONFIG', () => {
    const file = tmpFile('GRPC_PORT: 7001\n');
    expect(loadConfig({ OPAMP_COMMANDER_CONFIG: file }, []).grpcPort).toBe(7001);
  });

  it.each([
    ['API_PORT', 'abc', 'API_PORT must be a port number between 0 and 65535, got "abc"'],
    ['API_PORT', '70000', 'API_PORT must be a port number between 0 and 65535'],
    ['LOG_FORMAT', 'xml', 'LOG_FORMAT must be one of json, pretty, got "xml"'],
    ['OPAMP_MAX_MESSAGE_BYTES', '12', 'OPAMP_MAX_MESSAGE_BYTES must be an integer between 1024'],
  ])('refuses %s=%s with one line naming the key', (key, value, expected) => {
    let err: unknown;
    try {
      loadConfig({ [key]: value }, []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(expected);
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses unknown keys and non-mapping files', () => {
    expect(() => loadConfig({}, ['--config', tmpFile('API_PROT: 1\n')])).toThrow(/unknown key API_PROT/);
    expect(() => loadConfig({}, ['--config', tmpFile('- a\n- b\n')])).toThrow(/must be a mapping/);
    expect(() => loadConfig({}, ['--config', '/nonexistent/x.yaml'])).toThrow(/cannot read config file/);
  });

  it('never shows a secret, not even in an error', () => {
    expect(redactedSettings({ MONGODB_URI: 'mongodb://user:hunter2@db/x', API_PORT: '1' })).toEqual({
      MONGODB_URI: '[redacted]',
      API_PORT: '1',
    });
    const file = tmpFile('MONGODB_URI: [1, 2]\n');
    expect(() => loadConfig({}, ['--config', file])).toThrow(/MONGODB_URI must be a string, got \(secret value hidden\)/);
  });
});

describe('loadConfig: authentication settings', () => {
  it('defaults to token agent auth, the admin user, 15 min / 7 day tokens, no CORS, no trusted proxy', () => {
    const c = loadConfig({}, []);
    expect(c.auth).toMatchObject({
      agentAuth: 'token',
      adminUsername: 'admin',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 604_800,
      loginRateLimitPerUser: 10,
      loginRateLimitPerAddress: 30,
    });
    expect(c.auth.adminPassword).toBeUndefined();
    expect(c.auth.jwtSecret).toBeUndefined();
    expect(c.auth.github).toEqual({
      clientId: undefined,
      clientSecret: undefined,
      baseUrl: 'https://github.com',
      apiUrl: 'https://api.github.com',
      allowedOrgs: [],
      defaultRole: 'viewer',
    });
    expect(c.corsOrigins).toEqual([]);
    expect(c.trustProxy).toBe(false);
    expect(c.auditRetentionDays).toBe(90);
    expect(loadConfig({ TRUST_PROXY: '*' }, []).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }, []).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback' }, []).trustProxy).toEqual(['10.0.0.0/8', 'loopback']);
    expect(loadConfig({ GITHUB_ALLOWED_ORGS: 'Acme, other', GITHUB_BASE_URL: 'https://ghe.example.com/' }, []).auth.github).toMatchObject({
      allowedOrgs: ['acme', 'other'],
      baseUrl: 'https://ghe.example.com',
    });
  });

  it.each([
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET must be a string of at least 32 characters, got 5 (value hidden)'],
    [{ ADMIN_PASSWORD: 'admin' }, 'ADMIN_PASSWORD must be at least 12 characters (value hidden)'],
    [{ ADMIN_PASSWORD: 'Admin-2024-2025' }, 'ADMIN_PASSWORD must not be the user name (value hidden)'],
    [{ OPAMP_AGENT_AUTH: 'off' }, 'OPAMP_AGENT_AUTH must be one of token, none'],
    [{ TLS_CERT_FILE: '/x.crt' }, 'TLS_CERT_FILE and TLS_KEY_FILE must be set together'],
    [{ TLS_CLIENT_CA_FILE: '/ca.crt' }, 'TLS_CLIENT_CA_FILE needs TLS_CERT_FILE'],
    [{ GITHUB_CLIENT_ID: 'x' }, 'GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET must be set together'],
    [{ GITHUB_API_URL: 'ftp://x' }, 'GITHUB_API_URL must be an http(s) URL'],
    [
      { PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE: '/root.json', PACKAGE_SIGSTORE_IDENTITY: 'a@b.c' },
      'PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE needs PACKAGE_SIGSTORE_OIDC_ISSUER',
    ],
    [
      { PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE: '/root.json', PACKAGE_SIGSTORE_OIDC_ISSUER: 'https://i' },
      'and PACKAGE_SIGSTORE_IDENTITY or PACKAGE_SIGSTORE_IDENTITY_REGEXP',
    ],
    [{ PACKAGE_SIGSTORE_IDENTITY: 'a@b.c' }, 'need PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE'],
    [
      { PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE: '/root.json', PACKAGE_SIGSTORE_OIDC_ISSUER: 'https://i', PACKAGE_SIGSTORE_IDENTITY_REGEXP: '(' },
      'PACKAGE_SIGSTORE_IDENTITY_REGEXP is not a regular expression',
    ],
    [{ GITHUB_DEFAULT_ROLE: 'root' }, 'GITHUB_DEFAULT_ROLE must be one of viewer, operator, admin'],
    [{ TRUST_PROXY: 'proxy.local' }, 'TRUST_PROXY not an address, CIDR or loopback/linklocal/uniquelocal: "proxy.local"'],
  ])('refuses %j with one line that never shows a secret', (env, expected) => {
    let err: unknown;
    try {
      loadConfig(env as Record<string, string>, []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(expected);
    expect((err as Error).message).not.toContain('\n');
    for (const [k, v] of Object.entries(env)) if (k === 'JWT_SECRET' || k === 'ADMIN_PASSWORD') expect((err as Error).message).not.toContain(`"${v}"`);
  });

  it('redacts the new secrets in the start-up settings', () => {
    expect(redactedSettings({ JWT_SECRET: 'x'.repeat(40), ADMIN_PASSWORD: 'p', GITHUB_CLIENT_SECRET: 's', GITHUB_CLIENT_ID: 'id' })).toEqual({
      JWT_SECRET: '[redacted]',
      ADMIN_PASSWORD: '[redacted]',
      GITHUB_CLIENT_SECRET: '[redacted]',
      GITHUB_CLIENT_ID: 'id',
    });
  });
});

describe('the settings table drives the configuration', () => {
  /** A value of each setting's type that differs from its default. */
  function sample(key: SettingKey, spec: SettingSpec): string {
    const special: Partial<Record<SettingKey, string>> = {
      ADMIN_PASSWORD: 'Correct-Horse-Battery-9',
      REPLICA_HEARTBEAT_SECONDS: '2',
      NATS_URL: 'nats://a:4222,nats://b:4222',
      TRUST_PROXY: '10.0.0.0/8',
    };
    if (special[key]) return special[key];
    const t = spec.type;
    switch (t.kind) {
      case 'port':
        return '12345';
      case 'int':
        return String(spec.default === t.max ? t.min : t.max);
      case 'number':
        return String(spec.default === t.max ? t.min : t.max);
      case 'enum':
        return t.values.find((v) => v !== spec.default)!;
      case 'bool':
        return String(!spec.default);
      case 'list':
        return 'Alpha,beta';
      case 'url':
        return 'https://sample.example.com/base/';
      default:
        return 'x'.repeat(Math.max(t.minLength ?? 1, 40));
    }
  }
  /** Settings that must come in pairs are given their partner, so that each is tried alone. */
  const partners = {
    TLS_CERT_FILE: '/c.pem',
    TLS_KEY_FILE: '/k.pem',
    GRPC_TLS_CERT_FILE: '/gc.pem',
    GRPC_TLS_KEY_FILE: '/gk.pem',
    GITHUB_CLIENT_ID: 'id',
    GITHUB_CLIENT_SECRET: 'secret',
    PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE: '/trusted_root.json',
    PACKAGE_SIGSTORE_OIDC_ISSUER: 'https://issuer.example.com',
    PACKAGE_SIGSTORE_IDENTITY: 'release@example.com',
  };
  const valueAt = (config: unknown, at: string) => at.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)?.[part], config);

  it('gives every setting a place of its own (no two share one, none lies inside another)', () => {
    const places = Object.values(SETTINGS).map((s) => s.at);
    expect(new Set(places).size).toBe(places.length);
    for (const a of places) for (const b of places) if (a !== b) expect(b.startsWith(`${a}.`)).toBe(false);
  });

  it.each(Object.entries(SETTINGS) as [SettingKey, SettingSpec][])('puts %s, set in the environment, at its place, checked and refined', (key, spec) => {
    const raw = sample(key, spec);
    const config = loadConfig({ ...partners, [key]: raw }, []);
    const t = spec.type;
    const checked =
      t.kind === 'port' || t.kind === 'int' || t.kind === 'number'
        ? Number(raw)
        : t.kind === 'bool'
          ? raw === 'true'
          : t.kind === 'list'
            ? raw.split(',')
            : t.kind === 'url'
              ? raw.replace(/\/+$/, '')
              : raw;
    const expected = spec.refine ? (spec.refine as (v: unknown) => unknown)(checked) : checked;
    expect(valueAt(config, spec.at)).toEqual(expected);
    expect(valueAt(config, spec.at)).not.toEqual(valueAt(loadConfig(partners, []), spec.at));
  });

  it('refuses a number outside its range and a URL that is not http(s), naming the key', () => {
    expect(() => loadConfig({ TELEMETRY_EXPORT_FAILING_RATIO: '1.5' }, [])).toThrow(
      'TELEMETRY_EXPORT_FAILING_RATIO must be a number between 0 and 1, got "1.5"',
    );
    expect(() => loadConfig({ TELEMETRY_EXPORT_FAILING_RATIO: 'half' }, [])).toThrow('TELEMETRY_EXPORT_FAILING_RATIO must be a number between 0 and 1');
    expect(loadConfig({ TELEMETRY_EXPORT_FAILING_RATIO: '0.25' }, []).telemetry.exportFailingRatio).toBe(0.25);
    expect(() => loadConfig({ PUBLIC_URL: 'opamp.example.com' }, [])).toThrow('PUBLIC_URL must be an http(s) URL, got "opamp.example.com"');
  });
});
