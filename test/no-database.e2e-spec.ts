import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureServerBuilt, startServerProcess } from './support/process';

/**
 * Without MONGODB_URI, a mongod on PATH, a built FerretDB or a Go toolchain to build it, and with
 * mongod's download failing (its mirror is a closed loopback port), `npm start` says so in one
 * clear line and exits non-zero: no library stack trace before it.
 */
describe('npm start with no database to be had', () => {
  beforeAll(() => ensureServerBuilt(), 600_000);

  it('prints the clear line only and exits non-zero', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-nodb-'));
    // PATH holds node and nothing else: no go, no mongod.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    for (const d of ['cache', 'data', 'downloads']) fs.mkdirSync(path.join(tmp, d));
    const proc = startServerProcess({
      PATH: bin,
      OPAMP_COMMANDER_CACHE_DIR: path.join(tmp, 'cache'),
      DATA_DIR: path.join(tmp, 'data'),
      MONGOMS_DOWNLOAD_DIR: path.join(tmp, 'downloads'),
      MONGOMS_DOWNLOAD_MIRROR: 'http://127.0.0.1:9',
      API_PORT: '0',
      OPAMP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
    });
    const code = await proc.exited;
    const out = proc.out;
    try {
      expect(code).not.toBe(0);
      expect(out).toMatch(/No database: MONGODB_URI is not set and no local database could be started/);
      expect(out).toMatch(/Set MONGODB_URI=/);
      expect(out).not.toMatch(/DownloadError/);
      expect(out).not.toMatch(/^\s+at /m);
      expect(out).not.toMatch(/enable debug log/);
      // Every line is a JSON log line: nothing printed past the logger.
      for (const line of out.split('\n').filter(Boolean)) expect(() => JSON.parse(line) as unknown).not.toThrow();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
