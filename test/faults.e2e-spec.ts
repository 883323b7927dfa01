import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../src/common/free-port';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { RawWsAgent } from './support/opamp-test-client';
import { ensureServerBuilt, Proc, startServerProcess } from './support/process';
import { ApiAnswer, rawRequest } from './support/rest-client';
import { TEST_ADMIN, TEST_JWT_SECRET } from './support/test-server';

const DATABASE_TIMEOUT_MS = 2000;
const DATABASE_OPERATION_TIMEOUT_MS = 3000;
const AGENTS = 3;

/** Pids of the live children of `pid` whose command line contains `name` (from /proc). */
function childrenNamed(pid: number, name: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start with the state, then the parent pid.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== pid || state === 'Z') continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(name)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls `fn` (its errors count as "not yet") until `ok` holds; throws after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await fn();
      if (ok(last as T)) return last as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify((last as { body?: unknown })?.body ?? last)?.slice(0, 1500)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The faults proof, on `npm start`'s embedded FerretDB with three real opamp-go agents:
 * (a) the database frozen (SIGSTOP): REST answers 503 + Retry-After after the deadline instead of
 *     hanging, /readyz is 503, a new agent's handshake is 503 + Retry-After (not 401); after
 *     SIGCONT everything is back by itself;
 * (b) the database killed (SIGKILL): the supervisor starts it again and the server recovers;
 * (c) the server killed (SIGKILL) right after a config rollout was acknowledged: started again on
 *     the same DATA_DIR, the group and config are there and every agent converges to the config.
 * Recovery times are printed, never asserted.
 */
describe('faults: a frozen and a killed database, a killed server', () => {
  let dataDir: string;
  let server: Proc;
  let ports: { api: number; opamp: number; grpc: number };
  let env: Record<string, string>;
  let token: string;
  let agentToken: string;
  let unusedAgentToken: string;
  const agents: GoAgent[] = [];
  const uids: string[] = [];
  const times: Record<string, number> = {};

  const api = (method: string, p: string, body?: unknown, bearer: string | null = token): Promise<ApiAnswer> =>
    rawRequest(`http://127.0.0.1:${ports.api}${p.startsWith('/readyz') || p.startsWith('/healthz') ? '' : '/api/v1'}${p}`, {
      method,
      body,
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    });
  const signIn = () => api('POST', '/auth/login', { username: TEST_ADMIN.username, password: TEST_ADMIN.password }, null);
  const database = (): number => {
    const pids = childrenNamed(server.child.pid!, 'ferretdb');
    if (pids.length !== 1) throw new Error(`expected one FerretDB child of the server, found ${pids.length}`);
    return pids[0];
  };
  const start = async (): Promise<number> => {
    const started = Date.now();
    server = startServerProcess(env);
    await server.waitFor(/OpAMP Commander is up/, 600_000);
    return Date.now() - started;
  };

  beforeAll(async () => {
    ensureServerBuilt();
    goAgentBinary();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-faults-'));
    ports = { api: await freePort(), opamp: await freePort(), grpc: await freePort() };
    env = {
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      API_PORT: String(ports.api),
      OPAMP_PORT: String(ports.opamp),
      GRPC_PORT: String(ports.grpc),
      LOG_LEVEL: 'info',
      ADMIN_USERNAME: TEST_ADMIN.username,
      ADMIN_PASSWORD: TEST_ADMIN.password,
      JWT_SECRET: TEST_JWT_SECRET,
      OPAMP_AGENT_AUTH: 'token',
      OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
      DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS),
      DATABASE_OPERATION_TIMEOUT_MS: String(DATABASE_OPERATION_TIMEOUT_MS),
    };
    times['first start'] = await start();
    token = (await signIn()).body.accessToken;
    agentToken = (await api('POST', '/enrollment-tokens', { spec: { description: 'faults agents' } })).body.token;
    unusedAgentToken = (await api('POST', '/enrollment-tokens', { spec: { description: 'never used before the freeze' } })).body.token;
    expect(agentToken).toBeDefined();
    expect(unusedAgentToken).toBeDefined();
    for (let i = 0; i < AGENTS; i++) {
      const a = GoAgent.start(`ws://127.0.0.1:${ports.opamp}/v1/opamp`, [
        '--heartbeat',
        '1',
        '--service-name',
        'faults',
        '--header',
        `Authorization: Bearer ${agentToken}`,
      ]);
      agents.push(a);
      uids.push((await a.event('started')).uid as string);
    }
    await until(
      'agents connected',
      () => api('GET', '/agents?limit=10'),
      (r) => r.status === 200 && r.body.items.filter((x: { status: { connected: boolean } }) => x.status.connected).length === AGENTS,
    );
  }, 900_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    if (Object.keys(times).length)
      console.log(
        `faults (embedded FerretDB): ${Object.entries(times)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(', ')}`,
      );
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('(a) a frozen database: 503 + Retry-After for REST, /readyz and a new agent; all back after SIGCONT', async () => {
    const db = database();
    process.kill(db, 'SIGSTOP');
    try {
      let t = Date.now();
      const list = await api('GET', '/agents?limit=5');
      times['REST 503 during freeze'] = Date.now() - t;
      expect(list.status).toBe(503);
      expect(Number(list.headers['retry-after'])).toBeGreaterThan(0);
      expect(list.type).toMatch(/problem\+json/);

      t = Date.now();
      const ready = await api('GET', '/readyz');
      times['readyz 503 during freeze'] = Date.now() - t;
      expect(ready.status).toBe(503);

      t = Date.now();
      const handshake = await RawWsAgent.connect(ports.opamp, '/v1/opamp', { authorization: `Bearer ${unusedAgentToken}` }).then(
        (a) => {
          a.ws.terminate();
          return { status: 101, headers: {} as Record<string, string> };
        },
        (err: { status?: number; headers?: Record<string, string> }) => ({ status: err.status, headers: err.headers ?? {} }),
      );
      times['new agent handshake 503 during freeze'] = Date.now() - t;
      expect(handshake.status).toBe(503);
      expect(Number(handshake.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      process.kill(db, 'SIGCONT');
    }
    const thawed = Date.now();
    await until(
      '/readyz after SIGCONT',
      () => api('GET', '/readyz'),
      (r) => r.status === 200,
    );
    times['readyz back after SIGCONT'] = Date.now() - thawed;
    await until('sign-in after SIGCONT', signIn, (r) => r.status === 200);
    times['sign-in back after SIGCONT'] = Date.now() - thawed;
    expect((await api('GET', '/agents?limit=5')).status).toBe(200);
  }, 300_000);

  it('(b) a killed database is started again by the supervisor; /readyz and sign-in come back by themselves', async () => {
    const db = database();
    process.kill(db, 'SIGKILL');
    const killed = Date.now();
    const next = await until(
      'FerretDB restarted',
      async () => database(),
      (pid) => pid !== db,
    );
    times['database restarted'] = Date.now() - killed;
    expect(next).not.toBe(db);
    await server.waitFor(/Embedded ferretdb restarted/, 60_000);
    await until(
      '/readyz after the restart',
      () => api('GET', '/readyz'),
      (r) => r.status === 200,
    );
    times['readyz back after database kill'] = Date.now() - killed;
    await until('sign-in after the restart', signIn, (r) => r.status === 200);
    times['sign-in back after database kill'] = Date.now() - killed;
  }, 300_000);

  it('(c) the server killed mid-rollout: after a restart on the same data the rollout is there and every agent converges', async () => {
    const body = 'receivers:\n  otlp: {}\n# faults rollout\n';
    expect((await api('POST', '/remoteconfigs', { metadata: { name: 'faults-config' }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    const group = await api('POST', '/agentgroups', {
      metadata: { name: 'faults-group' },
      spec: { selector: 'service.name=faults', priority: 10, configs: [{ fileName: '', remoteConfig: 'faults-config' }] },
    });
    expect(group.status).toBe(201);
    // Killed right after the rollout was acknowledged: agents may or may not have got it yet.
    const db = database();
    server.child.kill('SIGKILL');
    await server.exited;
    // FerretDB's stdin was the server's pipe: it ends with the server.
    await until(
      'FerretDB gone with the server',
      async () => alive(db),
      (a) => !a,
      30_000,
    );

    times['server restart'] = await start();
    const restarted = Date.now();
    token = (await until('sign-in after the server restart', signIn, (r) => r.status === 200)).body.accessToken;
    expect((await api('GET', '/agentgroups/faults-group')).status).toBe(200);
    expect((await api('GET', '/remoteconfigs/faults-config')).status).toBe(200);
    const hashes = await Promise.all(
      uids.map(
        async (uid) =>
          (
            await until(
              `desired config of ${uid}`,
              () => api('GET', `/agents/${uid}/desired-config`),
              (r) => r.status === 200 && !!r.body.hash,
            )
          ).body.hash as string,
      ),
    );
    expect(new Set(hashes).size).toBe(1);
    const hash = hashes[0];
    await Promise.all(agents.map((a) => a.waitFor((e) => e.event === 'config_status' && e.status === 'APPLIED' && e.hash === hash, 120_000)));
    // The server learns what each agent runs now (a report it may have lost with the crash) by
    // asking a reconnecting agent for its full state.
    for (const uid of uids) {
      await until(
        `${uid} applied`,
        () => api('GET', `/agents/${uid}`),
        (r) => r.status === 200 && r.body.status.remoteConfig?.state === 'applied' && r.body.status.remoteConfig?.desiredHash === hash,
      );
    }
    times['agents converged after server restart'] = Date.now() - restarted;
    const status = await until(
      'group status',
      () => api('GET', '/agentgroups/faults-group'),
      (r) => r.body.status?.config?.applied === AGENTS,
    );
    expect(status.body.status.config).toMatchObject({ applied: AGENTS, failed: 0 });
  }, 600_000);
});
