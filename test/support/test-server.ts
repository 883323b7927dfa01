import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/app-config';
import { RunningServer, startServer } from '../../src/server';

/** A database name of its own for each test file (and each call), on the run's one server. */
export function testDatabaseUri(label = 'test'): string {
  const base = process.env.TEST_MONGODB_URI;
  if (!base) throw new Error('TEST_MONGODB_URI is not set: the Jest global setup did not start a database');
  const file = path.basename(expect.getState().testPath ?? label).replace(/\W+/g, '_').slice(0, 30);
  const name = `t_${file}_${randomBytes(3).toString('hex')}`;
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Boots the real application on ephemeral loopback ports against the test database.
 * `env` overrides settings exactly as environment variables would.
 */
export async function startTestServer(env: Record<string, string> = {}, mongodbUri = testDatabaseUri()): Promise<RunningServer> {
  const config = loadConfig(
    { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', HOST: '127.0.0.1', API_PORT: '0', OPAMP_PORT: '0', GRPC_PORT: '0', MONGODB_URI: mongodbUri, ...env },
    [],
  );
  return startServer(config);
}
