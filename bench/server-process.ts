import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEmbeddedDatabase } from '../src/database/embedded-database';
import { childrenOf } from './proc-stats';
import { freePort } from '../src/common/free-port';
export { freePort } from '../src/common/free-port';

/** The project root (dist/bench/*.js -> ../..). */
export const ROOT = path.resolve(__dirname, '..', '..');

export interface DatabaseHandle {
  uri: string;
  kind: string;
  pid?: number;
  stop(): Promise<void>;
}

export interface ServerHandle {
  kind: 'opamp-commander' | 'ws-echo';
  pid: number;
  opampPort: number;
  apiPort?: number;
  grpcPort?: number;
  logFile: string;
  /** Password the bench set for the server's administrator (ADMIN_PASSWORD), for REST calls. */
  adminPassword?: string;
  /** Resolves when the process ends (for whatever reason). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * The database for a bench run: the given MongoDB, or the project's embedded one (mongod on
 * PATH, else FerretDB) under the run's temporary data dir. Started here rather than by the
 * server so that its process is measured separately and api-list can write to it directly.
 */
export async function startDatabase(dataDir: string, externalUri?: string, kind: 'embedded' | 'memory' = 'embedded'): Promise<DatabaseHandle> {
  if (externalUri) return { uri: externalUri, kind: 'external', stop: async () => undefined };
  if (kind === 'memory') return startMiniMongo();
  const db = await startEmbeddedDatabase(dataDir, { info: () => undefined, warn: (m) => process.stderr.write(`database: ${m}\n`) });
  const pid = childrenOf(process.pid, /ferretdb|mongod/)[0];
  return { uri: db.uri, kind: db.kind, pid, stop: () => db.stop() };
}

/** The bench's in-memory MongoDB stand-in (bench/mini-mongo.ts), for --db memory. */
async function startMiniMongo(): Promise<DatabaseHandle> {
  const child = spawn(process.execPath, [path.join(__dirname, 'mini-mongo.js')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = watchExit(child);
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('mini-mongo did not start within 10 s')), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /ready (mongodb:\/\/\S+)\n/.exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout!.resume();
        resolve(`${m[1]}opamp-commander`);
      }
    });
    child.once('exit', (code) => reject(new Error(`mini-mongo exited with ${code}`)));
  });
  return { uri, kind: 'memory (bench/mini-mongo.ts)', pid: child.pid, stop: () => stopChild(child, exited, 5000) };
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function watchExit(child: ChildProcess): ServerHandle['exited'] {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function stopChild(child: ChildProcess, exited: ServerHandle['exited'], graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  child.kill('SIGTERM');
  await exited;
  clearTimeout(t);
}

export function httpGet(
  port: number,
  pathname: string,
  agent?: http.Agent,
  timeoutMs = 60_000,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, agent, timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface OpampServerOptions {
  dbUri: string;
  dataDir: string;
  heartbeatSeconds: number;
  /** Extra settings (--server-env KEY=VALUE), applied last. */
  env: Record<string, string>;
  /** Node flags for the server, e.g. --cpu-prof. */
  nodeArgs: string[];
  logFile: string;
}

/** Starts `node dist/src/main.js` as a child (its own pid, so /proc figures are its alone) and waits for /readyz. */
export async function startOpampServer(o: OpampServerOptions): Promise<ServerHandle> {
  const [apiPort, opampPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const entry = path.join(ROOT, 'dist', 'src', 'main.js');
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  const log = fs.openSync(o.logFile, 'a');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGODB_URI: o.dbUri,
    API_PORT: String(apiPort),
    OPAMP_PORT: String(opampPort),
    GRPC_PORT: String(grpcPort),
    HOST: '127.0.0.1',
    DATA_DIR: o.dataDir,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    REPLICA_ID: 'bench',
    OPAMP_HEARTBEAT_INTERVAL_SECONDS: String(o.heartbeatSeconds),
    ...o.env,
  };
  delete env.OPAMP_COMMANDER_CONFIG;
  // Agent credentials are not what is measured: admit every agent unless --server-env says otherwise.
  env.OPAMP_AGENT_AUTH ??= 'none';
  // A known administrator password, so that the bench can sign in to the REST API when it requires it.
  env.ADMIN_USERNAME ??= 'admin';
  env.ADMIN_PASSWORD ??= `bench-${randomBytes(18).toString('base64url')}`;
  // The V8 flag the Dockerfile and `npm start` run the server with, so the bench measures what ships.
  const child = spawn(process.execPath, ['--max-semi-space-size=32', ...o.nodeArgs, entry], { cwd: ROOT, env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = watchExit(child);
  const handle: ServerHandle = {
    kind: 'opamp-commander',
    pid: child.pid!,
    apiPort,
    opampPort,
    grpcPort,
    logFile: o.logFile,
    adminPassword: env.ADMIN_PASSWORD,
    exited,
    stop: () => stopChild(child, exited, 30_000),
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before it was ready; last log lines:\n${tail(o.logFile)}`);
    }
    try {
      const r = await httpGet(apiPort, '/readyz', undefined, 2000);
      if (r.status === 200) return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`the server was not ready within 120 s; last log lines:\n${tail(o.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the bare `ws` echo server (bench/echo-server.ts) used as the platform baseline. */
export async function startEchoServer(logFile: string, nodeArgs: string[] = []): Promise<ServerHandle> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, path.join(__dirname, 'echo-server.js')], { cwd: ROOT, stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  const exited = watchExit(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('the echo server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        child.stdout!.resume();
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the echo server exited with ${code}`)));
  });
  return { kind: 'ws-echo', pid: child.pid!, opampPort: port, logFile, exited, stop: () => stopChild(child, exited, 5000) };
}

/**
 * The REST API of a started server, signed in as its administrator when the API requires it
 * (POST /api/v1/auth/login; a server without that route is used without a token).
 */
export class ApiClient {
  private token?: string;
  private signedIn = false;
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    private readonly port: number,
    private readonly username = 'admin',
    private readonly password?: string,
  ) {}

  async headers(): Promise<Record<string, string>> {
    if (!this.signedIn) await this.signIn();
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async signIn(): Promise<void> {
    this.signedIn = true;
    this.token = undefined;
    if (!this.password) return;
    const r = await this.send('POST', '/api/v1/auth/login', { username: this.username, password: this.password }, {});
    if (r.status === 200) this.token = (JSON.parse(r.text) as { accessToken?: string }).accessToken;
  }

  /** A request with the session's token; signs in again once on a 401. */
  async request(method: string, pathname: string, body?: unknown): Promise<{ status: number; text: string }> {
    let r = await this.send(method, pathname, body, await this.headers());
    if (r.status === 401) {
      await this.signIn();
      r = await this.send(method, pathname, body, await this.headers());
    }
    return r;
  }

  private send(method: string, pathname: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: pathname,
          method,
          agent: this.agent,
          timeout: 120_000,
          headers: { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${pathname} timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
