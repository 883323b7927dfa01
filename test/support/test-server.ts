import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/app-config';
import { RunningServer, startServer } from '../../src/server';
import { freePort } from '../../src/common/free-port';
import { Proc, startServerProcess } from './process';
import { rawRequest } from './rest-client';

/** The administrator every test server bootstraps (ADMIN_USERNAME / ADMIN_PASSWORD). */
export const TEST_ADMIN = { username: 'admin', password: 'test-admin-passphrase-7f3a' };
/** JWT_SECRET of test servers (two servers on one database share it, as replicas must). */
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789abcdef';

/** A running test server, signed in as the admin. */
export interface TestServer extends RunningServer {
  /** An access token of TEST_ADMIN. */
  token: string;
  /** `{ authorization: 'Bearer <token>' }`, for fetch and the test clients. */
  authHeaders: Record<string, string>;
  /** http or https base URL of the API port (…/api/v1 not included). */
  baseUrl: string;
}

/** A database name of its own for each test file (and each call), on the run's one server. */
export function testDatabaseUri(label = 'test'): string {
  const base = process.env.TEST_MONGODB_URI;
  if (!base) throw new Error('TEST_MONGODB_URI is not set: the Jest global setup did not start a database');
  const file = path
    .basename(expect.getState().testPath ?? label)
    .replace(/\W+/g, '_')
    .slice(0, 30);
  const name = `t_${file}_${randomBytes(3).toString('hex')}`;
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Boots the real application on ephemeral loopback ports against the test database and signs
 * in as TEST_ADMIN. `env` overrides settings exactly as environment variables would. Agents
 * connect without credentials (OPAMP_AGENT_AUTH=none) unless `env` says otherwise: tests of
 * agent authentication pass OPAMP_AGENT_AUTH=token.
 */
export async function startTestServer(env: Record<string, string> = {}, mongodbUri = testDatabaseUri()): Promise<TestServer> {
  const config = loadConfig(
    {
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      HOST: '127.0.0.1',
      API_PORT: '0',
      OPAMP_PORT: '0',
      GRPC_PORT: '0',
      MONGODB_URI: mongodbUri,
      ADMIN_USERNAME: TEST_ADMIN.username,
      ADMIN_PASSWORD: TEST_ADMIN.password,
      JWT_SECRET: TEST_JWT_SECRET,
      OPAMP_AGENT_AUTH: 'none',
      // Counts read fresh for every request, so a test may assert a count right after a change;
      // the bounded lag of the default (10 s) has its own tests (database-budget, count-freshness).
      COUNT_SNAPSHOT_MAX_AGE_MS: '0',
      ...env,
    },
    [],
  );
  const server = await startServer(config);
  const baseUrl = `${config.tls.certFile ? 'https' : 'http'}://127.0.0.1:${server.apiPort}`;
  try {
    const ca = config.tls.certFile ? fs.readFileSync(config.tls.certFile) : undefined;
    const login = await rawRequest(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      body: { username: TEST_ADMIN.username, password: TEST_ADMIN.password },
      ca,
    });
    if (login.status !== 200) throw new Error(`test login failed: ${login.status} ${JSON.stringify(login.body)}`);
    const token = login.body.accessToken as string;
    return Object.assign(server, { token, authHeaders: { authorization: `Bearer ${token}` }, baseUrl });
  } catch (err) {
    await server.close();
    throw err;
  }
}

/**
 * A replica as its own process (`npm start`'s entry) on the given database, with the test admin
 * and secret, so that a test can kill it with SIGKILL; resolves once it is up.
 */
export async function startReplicaProcess(replicaId: string, mongodbUri: string, env: Record<string, string> = {}): Promise<{ proc: Proc; opampPort: number }> {
  const [api, opamp, grpc] = [await freePort(), await freePort(), await freePort()];
  const proc = startServerProcess({
    COUNT_SNAPSHOT_MAX_AGE_MS: '0',
    ...env,
    MONGODB_URI: mongodbUri,
    REPLICA_ID: replicaId,
    HOST: '127.0.0.1',
    API_PORT: String(api),
    OPAMP_PORT: String(opamp),
    GRPC_PORT: String(grpc),
    ADMIN_USERNAME: TEST_ADMIN.username,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    JWT_SECRET: TEST_JWT_SECRET,
    OPAMP_AGENT_AUTH: 'none',
    LOG_FORMAT: 'json',
  });
  await proc.waitFor(/OpAMP Commander is up/, 300_000);
  return { proc, opampPort: opamp };
}
