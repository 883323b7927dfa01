import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomSecret } from './secret-compare';

/** Injection token of the key that signs access tokens and OAuth state. */
export const JWT_SIGNING_SECRET = Symbol('JWT_SIGNING_SECRET');

/**
 * The signing key: JWT_SECRET when set; else one generated at the first start and kept in
 * DATA_DIR/auth/jwt-secret (mode 0600), so that tokens survive restarts of a single server.
 * Several replicas must share JWT_SECRET: each replica's DATA_DIR would hold a different key.
 */
export function resolveJwtSecret(configured: string | undefined, dataDir: string, log: (message: string) => void): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'auth', 'jwt-secret');
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) {
      log(`JWT_SECRET is not set: signing tokens with the key kept in ${file} (set JWT_SECRET, the same on every replica, to run several)`);
      return kept;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const secret = randomSecret(48);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  log(`JWT_SECRET is not set: generated a signing key and kept it in ${file} (set JWT_SECRET, the same on every replica, to run several)`);
  return secret;
}
