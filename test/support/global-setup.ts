import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../../src/common/project-paths';
import { ensureFerretdbBinary, startFerretdb, EmbeddedDatabase } from '../../src/database/embedded-database';

/**
 * Starts one real MongoDB wire server (FerretDB) for the whole run, unless MONGODB_URI points
 * at one already. Each test file then uses its own database on it (test/support/test-server.ts).
 * Without a database the run fails here, loudly: it never skips.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const log = { info: (m: string) => console.log(`[test database] ${m}`), warn: (m: string) => console.warn(`[test database] ${m}`) };
  const bin = ensureFerretdbBinary(log);
  if (!bin) {
    throw new Error(
      'No database for the tests: MONGODB_URI is not set and FerretDB cannot be built (the Go toolchain `go` is not on PATH). ' +
        'Install Go or set MONGODB_URI=mongodb://HOST:27017/ to a MongoDB the tests may use.',
    );
  }
  const dataPath = cacheDir('test-db', `run-${process.pid}`);
  fs.rmSync(dataPath, { recursive: true, force: true });
  const db: EmbeddedDatabase = await startFerretdb(bin, dataPath);
  process.env.TEST_MONGODB_URI = db.uri;
  (globalThis as { __testDatabase?: EmbeddedDatabase }).__testDatabase = db;
  console.log(`[test database] FerretDB at ${db.uri} (data in ${path.relative(process.cwd(), dataPath)})`);
}
