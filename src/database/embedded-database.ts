import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { cacheDir, projectRoot } from '../common/project-paths';
import { freePort } from '../common/free-port';

/** FerretDB release the launcher builds; its SQLite backend keeps data in plain files. */
export const FERRETDB_VERSION = 'v1.24.2';

export type EmbeddedKind = 'mongod' | 'ferretdb' | 'mongodb-memory-server';

/** How a database process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A database process this server started because no MONGODB_URI was configured. */
export interface EmbeddedDatabase {
  kind: EmbeddedKind;
  uri: string;
  dataPath: string;
  /** Process id of the database (undefined for mongodb-memory-server, which runs its own). */
  pid?: number;
  /** Settles when the process ends, for whatever reason (a supervisor watches it). */
  exited?: Promise<ProcessExit>;
  /** Starts the same database again on the same port and data, after it died. */
  relaunch?: () => Promise<EmbeddedDatabase>;
  stop(): Promise<void>;
}

export interface LauncherLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** An error message as one line (library messages carry their details on further lines). */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/** No embedded database could be had: the message says how to configure one instead. */
export class NoDatabaseError extends Error {}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`exited with code ${child.exitCode}`));
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`not listening on port ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function exitOf(child: ChildProcess): Promise<ProcessExit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function portOf(uri: string): number {
  return Number(new URL(uri).port);
}

function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
    // A stopped (SIGSTOP) process only acts on SIGTERM once it runs again.
    child.kill('SIGCONT');
  });
}

async function startMongod(bin: string, dataDir: string, fixedPort?: number): Promise<EmbeddedDatabase> {
  const dataPath = path.join(dataDir, 'db', 'mongod');
  fs.mkdirSync(dataPath, { recursive: true });
  const port = fixedPort ?? (await freePort());
  const child = spawn(bin, ['--dbpath', dataPath, '--bind_ip', '127.0.0.1', '--port', String(port), '--quiet'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = exitOf(child);
  try {
    await waitForPort(port, child, 60_000);
  } catch (err) {
    await stopChild(child, 1000);
    throw err;
  }
  return {
    kind: 'mongod',
    uri: `mongodb://127.0.0.1:${port}/opamp-commander`,
    dataPath,
    pid: child.pid,
    exited,
    relaunch: () => startMongod(bin, dataDir, port),
    stop: () => stopChild(child),
  };
}

/**
 * Returns the FerretDB binary, building it once into the project cache from the Go module
 * proxy (scripts/ferretdb wraps FerretDB's embeddable package). Undefined when Go is missing.
 */
export function ensureFerretdbBinary(log: LauncherLog): string | undefined {
  const bin = cacheDir('ferretdb', FERRETDB_VERSION, 'ferretdb');
  if (fs.existsSync(bin)) return bin;
  const go = onPath('go');
  const source = path.join(projectRoot(), 'scripts', 'ferretdb');
  if (!go || !fs.existsSync(path.join(source, 'go.mod'))) return undefined;
  log.info(`Building FerretDB ${FERRETDB_VERSION} into ${path.dirname(bin)} (first start only; about 2 minutes on 2 cores)...`);
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  // Build to a private name and rename, so two processes building at once never run a half-written file.
  const tmp = `${bin}.${process.pid}.tmp`;
  const started = Date.now();
  execFileSync(go, ['build', '-o', tmp, '.'], { cwd: source, stdio: ['ignore', 'inherit', 'inherit'] });
  fs.renameSync(tmp, bin);
  log.info(`Built FerretDB in ${Math.round((Date.now() - started) / 1000)} s.`);
  return bin;
}

/** Starts the FerretDB binary on a loopback port (a free one unless given) with its SQLite files in `dataPath`. */
export function startFerretdb(bin: string, dataPath: string, port = 0): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataPath, { recursive: true });
  // stdin stays a pipe: when this process dies, the pipe closes and FerretDB exits with it.
  const child = spawn(bin, ['-listen', `127.0.0.1:${port}`, '-sqlite-dir', dataPath, '-log-level', 'error'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = exitOf(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('FerretDB did not report ready within 60 s'));
    }, 60_000);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`FerretDB exited with ${signal ?? `code ${code}`} before it was ready`));
    };
    child.once('exit', early);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /ready (mongodb:\/\/\S+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', early);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      const uri = m[1];
      resolve({
        kind: 'ferretdb',
        uri,
        dataPath,
        pid: child.pid,
        exited,
        relaunch: () => startFerretdb(bin, dataPath, portOf(uri)),
        stop: () => stopChild(child),
      });
    });
  });
}

/** FerretDB reports `mongodb://host:port/`; the server uses its own database name on it (also after a relaunch). */
function withDatabaseName(db: EmbeddedDatabase): EmbeddedDatabase {
  const relaunch = db.relaunch;
  return { ...db, uri: db.uri.replace(/\/$/, '/opamp-commander'), relaunch: relaunch && (async () => withDatabaseName(await relaunch())) };
}

async function startMemoryServer(dataDir: string): Promise<EmbeddedDatabase> {
  const dataPath = path.join(dataDir, 'db', 'mongodb-memory-server');
  fs.mkdirSync(dataPath, { recursive: true });
  // Loaded lazily: it is only the last resort, and it downloads mongod on first use.
  const { MongoBinary, MongoMemoryServer } = await import('mongodb-memory-server-core');
  // Fetch (or find) mongod first: MongoMemoryServer.create prints the whole stack of a failed
  // download itself, while this throws it to us to report in one line.
  await MongoBinary.getPath();
  const server = await MongoMemoryServer.create({ instance: { dbPath: dataPath, storageEngine: 'wiredTiger', ip: '127.0.0.1' } });
  return {
    kind: 'mongodb-memory-server',
    uri: server.getUri('opamp-commander'),
    dataPath,
    stop: async () => {
      await server.stop({ doCleanup: false, force: false });
    },
  };
}

/**
 * Starts a local database for a server without MONGODB_URI: a mongod on PATH, else FerretDB
 * (built on first use), else mongodb-memory-server's downloaded mongod. Data lives under
 * DATA_DIR/db and survives restarts.
 */
export async function startEmbeddedDatabase(dataDir: string, log: LauncherLog): Promise<EmbeddedDatabase> {
  const failures: string[] = [];
  const mongod = onPath('mongod');
  if (mongod) {
    try {
      return await startMongod(mongod, dataDir);
    } catch (err) {
      failures.push(`mongod: ${(err as Error).message}`);
    }
  } else {
    failures.push('mongod: not on PATH');
  }
  try {
    const bin = ensureFerretdbBinary(log);
    if (bin) {
      return withDatabaseName(await startFerretdb(bin, path.join(dataDir, 'db', 'ferretdb')));
    }
    failures.push('FerretDB: the Go toolchain (go) is not on PATH to build it');
  } catch (err) {
    failures.push(`FerretDB: ${(err as Error).message}`);
  }
  try {
    log.info('Trying mongodb-memory-server (downloads mongod on first use)...');
    return await startMemoryServer(dataDir);
  } catch (err) {
    failures.push(`mongodb-memory-server: ${oneLine((err as Error).message)}`);
  }
  throw new NoDatabaseError(
    `No database: MONGODB_URI is not set and no local database could be started (${failures.join('; ')}). ` +
      'Set MONGODB_URI=mongodb://HOST:27017/opamp-commander to use an existing MongoDB.',
  );
}
