import { eventually, getAgent } from './support/agents-api';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { freePort } from '../src/common/free-port';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';
import { InteropResults } from './support/interop-results';
import { restClient } from './support/rest-client';

/** Interop with the opamp-go client library (the library inside the OpenTelemetry Collector). */

const FULL_STATE = 1;
/** Rows of the interop matrix (scripts/interop-matrix.js); config delivery rows come from fleet-delivery. */
const results = new InteropResults('go opamp-go', 'v0.23.0', 'protocol');

beforeAll(() => {
  goAgentBinary(); // build once up front (cached across runs)
}, 600_000);

describe.each([
  ['websocket', 'ws'],
  ['http', 'http'],
])('opamp-go over %s', (transport, scheme) => {
  let server: TestServer;
  const agents: GoAgent[] = [];
  beforeAll(async () => {
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(() => server?.close());

  const start = (...extra: string[]) => {
    const a = GoAgent.start(`${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', ...extra]);
    agents.push(a);
    return a;
  };

  it(
    'is discovered with description, health and effective config, and stays connected on heartbeats',
    results.scenario(transport, 'discovery', async () => {
      const agent = start(
        '--service-name',
        `interop-${transport}`,
        '--service-version',
        '2.0.0',
        '--host-name',
        'box-1',
        '--effective-config',
        'receivers:\n  otlp:\n    protocols:\n      grpc: {}\n',
      );
      const started = await agent.event('started');
      const uid = started.uid as string;
      agent.command({ cmd: 'set_health', healthy: true, status: 'StatusOK' });
      const stored = await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.health?.status === 'StatusOK',
      );
      expect(stored.body.status).toMatchObject({
        connected: true,
        connection: { transport },
        description: {
          identifyingAttributes: { 'service.name': `interop-${transport}`, 'service.version': '2.0.0' },
          nonIdentifyingAttributes: { 'host.name': 'box-1' },
        },
        capabilities: { names: expect.arrayContaining(['ReportsStatus', 'ReportsHealth', 'ReportsEffectiveConfig', 'ReportsHeartbeat']) },
        health: { healthy: true, status: 'StatusOK' },
        effectiveConfig: { configMap: { '': { body: expect.stringContaining('otlp') } } },
      });
      // The first answer carried the server's capabilities with AcceptsStatus, and echoed the uid.
      const first = (await agent.event('message')) as unknown as { capabilities: number; instanceUid: string };
      expect(first.capabilities & 1).toBe(1);
      expect(first.instanceUid).toBe(uid);

      // Heartbeats for a few intervals: still connected, last-seen moving.
      const seenBefore = new Date(stored.body.status.connection.lastSeenAt).getTime();
      await new Promise((r) => setTimeout(r, 3500));
      const later = await getAgent(server, uid);
      expect(later.body.status.connected).toBe(true);
      expect(new Date(later.body.status.connection.lastSeenAt).getTime()).toBeGreaterThan(seenBefore);
    }),
  );

  it(
    'is answered once per message with no request loops in a quiet period',
    results.scenario(transport, 'heartbeats', async () => {
      const agent = start();
      const uid = (await agent.event('started')).uid as string;
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const a = await agent.stats();
      await new Promise((r) => setTimeout(r, 6000));
      const b = await agent.stats();
      const sent = b.sent - a.sent;
      const received = b.received - a.received;
      // 1 s heartbeats: about 6 messages in 6 s, every one answered, nothing more.
      expect(sent).toBeGreaterThanOrEqual(4);
      expect(sent).toBeLessThanOrEqual(8);
      expect(received).toBe(sent);
      const fullStateRequests = agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0);
      expect(fullStateRequests).toBe(0);
    }),
  );

  it(
    'applies a group config, reports FAILED for a broken revision with its message, and APPLIED again after a rollback',
    results.scenario(
      transport,
      'config apply',
      results.scenario(
        transport,
        'failure',
        results.scenario(transport, 'rollback', async () => {
          const api = restClient(server);
          const name = `go-rb-${transport}`;
          expect(
            (await api('POST', '/remoteconfigs', { metadata: { name }, spec: { contentType: 'application/yaml', body: 'receivers:\n  otlp: {}\n' } })).status,
          ).toBe(201);
          const group = await api('POST', '/agentgroups', {
            metadata: { name },
            spec: { selector: `service.name=${name}`, configs: [{ fileName: '', remoteConfig: name }] },
          });
          expect(group.status).toBe(201);
          const agent = start('--service-name', name, '--fail-configs-containing', 'BROKEN');
          const uid = (await agent.event('started')).uid as string;
          const first = await agent.event('remote_config', 15_000);
          await eventually(
            () => getAgent(server, uid),
            (r) => r.body.status?.remoteConfigStatus?.status === 'APPLIED' && r.body.status.remoteConfigStatus.lastRemoteConfigHash === first.hash,
          );

          const cur = (await api('GET', `/remoteconfigs/${name}`)).body;
          expect((await api('PUT', `/remoteconfigs/${name}`, { ...cur, spec: { ...cur.spec, body: 'receivers:\n  otlp: {}\n# BROKEN\n' } })).status).toBe(200);
          const broken = await agent.waitFor((e) => e.event === 'remote_config' && e.hash !== first.hash, 15_000);
          const failed = await eventually(
            () => getAgent(server, uid),
            (r) => r.body.status.remoteConfigStatus?.status === 'FAILED',
          );
          expect(failed.body.status.remoteConfigStatus).toMatchObject({ status: 'FAILED', lastRemoteConfigHash: broken.hash });
          expect(failed.body.status.remoteConfigStatus.errorMessage).toMatch(/BROKEN/);

          expect((await api('POST', `/remoteconfigs/${name}/rollback`, { revision: 1 })).status).toBe(200);
          const back = await agent.waitFor((e) => e.event === 'remote_config' && e.hash !== broken.hash, 15_000);
          const applied = await eventually(
            () => getAgent(server, uid),
            (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED' && r.body.status.remoteConfigStatus.lastRemoteConfigHash === back.hash,
          );
          expect(applied.body.status.remoteConfigStatus.lastRemoteConfigHash).toBe(back.hash);
          // Each revision reached the agent once, however many polls or heartbeats went by.
          await new Promise((r) => setTimeout(r, 2500));
          expect(agent.count((e) => e.event === 'remote_config')).toBe(3);
        }),
      ),
    ),
  );

  it(
    'honours RequestInstanceUid: the agent moves to the new uid',
    results.scenario(transport, 'new instance uid', async () => {
      const agent = start('--request-new-uid', '--service-name', `renamed-${transport}`);
      const oldUid = (await agent.event('started')).uid as string;
      const fresh = (await agent.event('new_instance_uid')).uid as string;
      expect(fresh).not.toBe(oldUid);
      const stored = await eventually(
        () => getAgent(server, fresh),
        (r) => r.status === 200 && r.body.status.connection.sequenceNum > 1,
      );
      expect(stored.body.status.description.identifyingAttributes['service.name']).toBe(`renamed-${transport}`);
      expect((await getAgent(server, oldUid)).status).toBe(404);
    }),
  );

  it(
    'notices a disconnect: a WebSocket at once, an HTTP agent after 3 missed polls',
    results.scenario(transport, 'disconnect', async () => {
      const agent = start();
      const uid = (await agent.event('started')).uid as string;
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.connected,
      );
      await agent.kill(); // no agent_disconnect: the process is gone
      agents.splice(agents.indexOf(agent), 1);
      const gone = await eventually(
        () => getAgent(server, uid),
        (r) => r.body.status.connected === false,
        10_000,
      );
      expect(gone.body.status.connected).toBe(false);
    }),
  );

  it(
    'a graceful stop ends the session at once (agent_disconnect)',
    results.scenario(transport, 'disconnect', async () => {
      const agent = start();
      const uid = (await agent.event('started')).uid as string;
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.connected,
      );
      await agent.stop();
      agents.splice(agents.indexOf(agent), 1);
      const stopped = agent.events.find((e) => e.event === 'stopped');
      expect(stopped?.agentDisconnect).toBe(transport === 'http' ? 'manual' : 'library');
      expect(
        (
          await eventually(
            () => getAgent(server, uid),
            (r) => !r.body.status.connected,
            3000,
          )
        ).body.status.connected,
      ).toBe(false);
    }),
  );
});

describe('opamp-go across a server restart', () => {
  it(
    'reconnects; with the database kept nothing is re-requested, with it lost full state is requested once and stored',
    results.scenario('websocket', 'restart (state lost)', async () => {
      const port = await freePort();
      const db = testDatabaseUri('restart');
      const env = { OPAMP_PORT: String(port), OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' };
      let server = await startTestServer(env, db);
      const agent = GoAgent.start(`ws://127.0.0.1:${port}/v1/opamp`, [
        '--heartbeat',
        '1',
        '--service-name',
        'survivor',
        '--effective-config',
        'exporters:\n  debug: {}\n',
      ]);
      const step = (m: string) => process.env.TEST_DEBUG && console.log(`[restart test] ${m}`);
      try {
        const uid = (await agent.event('started')).uid as string;
        agent.command({ cmd: 'set_health', healthy: true, status: 'up' });
        await eventually(
          () => getAgent(server, uid),
          (r) => r.status === 200 && r.body.status.health?.status === 'up',
        );

        // 1. Restart against the same database: the gap is noticed, nothing promised is missing, no request.
        step('closing 1');
        await server.close();
        step('closed 1');
        const mark1 = agent.events.length;
        server = await startTestServer(env, db);
        step('restarted 1');
        await agent.waitFor((e) => e.event === 'message', 60_000, mark1);
        step('agent answered after restart 1');
        const back = await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.connected === true,
          20_000,
        );
        expect(back.body.status.description.identifyingAttributes['service.name']).toBe('survivor');
        await new Promise((r) => setTimeout(r, 2000));
        expect(agent.events.slice(mark1).filter((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0)).toHaveLength(0);

        // 2. Restart against an empty database (state lost): full state requested exactly once, then stored.
        step('closing 2');
        await server.close();
        step('closed 2');
        const mark2 = agent.events.length;
        server = await startTestServer(env, testDatabaseUri('restart-empty'));
        const stored = await eventually(
          () => getAgent(server, uid),
          (r) => r.status === 200 && r.body.status.health?.status === 'up' && !!r.body.status.effectiveConfig,
          30_000,
        );
        expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('survivor');
        expect(stored.body.status.effectiveConfig.configMap[''].body).toContain('debug');
        await new Promise((r) => setTimeout(r, 3000));
        const requests = agent.events.slice(mark2).filter((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0);
        expect(requests).toHaveLength(1);
      } finally {
        await agent.stop();
        await server.close();
      }
    }),
    180_000,
  );
});
