import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { ensureServerBuilt, Proc, startServerProcess, troubleLines } from './support/process';
import { TEST_ADMIN, TEST_JWT_SECRET } from './support/test-server';

const AGENTS = 300;
const GRACE_SECONDS = 10;

/**
 * `npm start` on its embedded FerretDB with 300 WebSocket agents connected, then SIGTERM: the
 * server closes the agents, records them disconnected and exits 0 within SHUTDOWN_GRACE_SECONDS,
 * logging nothing at warn or error from start to stop (no legacy route warning, no sweep against a
 * closed database client). The stop time is printed, not asserted.
 */
describe('shutdown with agents connected', () => {
  let dataDir: string;
  let server: Proc;
  const agents: RawWsAgent[] = [];

  beforeAll(() => {
    ensureServerBuilt();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-shutdown-'));
  }, 600_000);
  afterAll(() => {
    for (const a of agents) a.ws.terminate();
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`stops ${AGENTS} agents, exits 0 and logs no warning or error`, async () => {
    server = startServerProcess({
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      API_PORT: '0',
      OPAMP_PORT: '0',
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
      ADMIN_USERNAME: TEST_ADMIN.username,
      ADMIN_PASSWORD: TEST_ADMIN.password,
      JWT_SECRET: TEST_JWT_SECRET,
      OPAMP_AGENT_AUTH: 'none',
      SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
      // Sweeps and flushes every second, so that some are due while the server stops.
      OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
      REPLICA_HEARTBEAT_SECONDS: '1',
    });
    const [, opamp] = await server.waitFor(/OpAMP ws:\/\/[^:]+:(\d+)\/v1\/opamp/, 600_000);

    const connectStarted = Date.now();
    for (let i = 0; i < AGENTS; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, AGENTS - i) }, () => RawWsAgent.connect(Number(opamp))));
      await Promise.all(
        batch.map((a, j) =>
          a.exchange(
            agentMessage({
              instanceUid: newUid().bytes,
              sequenceNum: 0n,
              capabilities: 0x1n | 0x2n | 0x4n,
              agentDescription: description({ 'service.name': 'shutdown-spec', 'service.instance.id': `agent-${i + j}` }),
            }),
          ),
        ),
      );
      agents.push(...batch);
    }
    console.log(`shutdown: ${AGENTS} agents connected in ${Date.now() - connectStarted} ms`);
    // A few sweep and flush rounds with every agent connected.
    await new Promise((r) => setTimeout(r, 2500));

    const stopStarted = Date.now();
    server.child.kill('SIGTERM');
    const code = await server.exited;
    const stopMs = Date.now() - stopStarted;
    const closed = agents.filter((a) => a.closeCode !== undefined).length;
    console.log(
      `shutdown: SIGTERM to exit ${stopMs} ms with ${AGENTS} agents (grace ${GRACE_SECONDS} s), ${closed} sockets closed by the server, exit ${code}`,
    );

    // The one warning asked for: agents without credentials (the cheapest way to connect 300).
    expect(troubleLines(server.out).filter((l) => !l.includes('OPAMP_AGENT_AUTH=none'))).toEqual([]);
    expect(server.out).toMatch(/"msg":"Stopped"/);
    expect(code).toBe(0);
    expect(closed).toBe(AGENTS);
  }, 900_000);
});
