import { eventually, getAgent } from './support/agents-api';
import { InteropResults } from './support/interop-results';
import { jsonConfigRollback } from './support/json-config-rollback';
import { javaAgentClasspath, javaSkipReason, startJavaAgent } from './support/java-agent';
import { AgentEvent, JsonLineAgent } from './support/python-agent';
import { restClient } from './support/rest-client';
import { acrossServerRestart } from './support/server-restart';
import { freePort } from '../src/common/free-port';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';

/**
 * Interop with the OpenTelemetry Java contrib OpAMP client (io.opentelemetry.contrib:
 * opentelemetry-opamp-client 1.53.0-alpha from Maven), over WebSocket and plain HTTP, driven by
 * test/interop/java-agent. Skipped, with a printed line, where no JDK 17+ / Maven is here.
 */

const cp = javaAgentClasspath();
if (!cp) console.log(`java interop: skipped (${javaSkipReason()})`);
const describeIf = cp ? describe : describe.skip;

const results = new InteropResults('java opentelemetry-opamp-client', '1.53.0-alpha');
// Not a test: the library has no connection-settings handling and declares no capability for them
// (nor ReportsHeartbeat), so the server offers it nothing. Shown in the matrix all the same.
if (cp)
  for (const t of ['websocket', 'http'])
    results.record(t, 'connection settings', 'skip', 'not supported by the client: no capability for connection settings, nothing is offered');
// Over HTTP nothing can give the client a new uid: it has no way to send RequestInstanceUid, and the server detects
// clones only on a live connection (a WebSocket holds one; HTTP polls do not).
if (cp)
  results.record(
    'http',
    'new instance uid',
    'skip',
    'not reachable over HTTP: the client cannot request a uid, and clones are detected on live connections only',
  );
// Over WebSocket a restart cannot be observed: after the server closes the socket the client never reconnects
// (the reconnect row below proves it), so there is no second session in which to lose or recover state.
if (cp)
  results.record(
    'websocket',
    'restart (state lost)',
    'skip',
    'not reachable over WebSocket: after a server-initiated close the client never reconnects (see reconnect)',
  );
const sent = (a: JsonLineAgent, from = 0) => a.events.slice(from).filter((e) => e.event === 'sent');
const FULL_STATE = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIf.each([
  ['websocket', 'ws'],
  ['http', 'http'],
])('Java opentelemetry-opamp-client over %s', (transport, scheme) => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const agents: JsonLineAgent[] = [];
  const start = (...extra: string[]) => {
    const a = startJavaAgent(`${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', ...extra]);
    agents.push(a);
    return a;
  };
  const scenario = (name: string, fn: () => Promise<void>, note?: string) => it(name, results.scenario(transport, name.split(':')[0], fn, note));
  /** Waits until the server has the agent with its description (over WebSocket that takes a first state change, see discovery). */
  const discovered = async (agent: JsonLineAgent, uid: string) => {
    if (transport === 'websocket') {
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200,
      );
      agent.command({ cmd: 'set_attribute', key: 'host.arch', value: 'amd64' });
    }
    return eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && !!r.body.status.description,
    );
  };

  beforeAll(async () => {
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '2', OPAMP_WS_PING_INTERVAL_SECONDS: '1' });
    api = restClient(server);
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(() => server?.close());

  const ws = transport === 'websocket';
  scenario(
    ws
      ? 'discovery: the first message is lost before the socket opens; full state is requested once and arrives with the first change'
      : 'discovery: description, capabilities and effective config are stored',
    async () => {
      const agent = start(
        '--service-name',
        `java-${transport}`,
        '--service-version',
        '4.2.0',
        '--host-name',
        'jvm-box',
        '--effective-config',
        '{"exporter": "otlp"}',
      );
      const uid = await agent.uid();
      let stored = await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && (ws || !!r.body.status.effectiveConfig),
      );
      expect(stored.body.status).toMatchObject({
        connected: true,
        connection: { transport },
        capabilities: { names: expect.arrayContaining(['AcceptsRemoteConfig', 'ReportsRemoteConfig', 'ReportsEffectiveConfig']) },
      });
      // The client never declares ReportsStatus (the spec says every agent MUST) nor ReportsHeartbeat.
      expect(stored.body.status.capabilities.names).not.toContain('ReportsStatus');
      expect(stored.body.status.capabilities.names).not.toContain('ReportsHeartbeat');
      const first = await agent.event('message');
      expect(first.instanceUid).toBe(uid);
      expect((first.capabilities as number) & 1).toBe(1);
      if (ws) {
        // The client builds its first request (sequence 1, with every field) before the socket is
        // open, fails to send it and drops it; what goes out on open is sequence 2 with the required
        // fields only. The server sees a gap with nothing known and asks for full state, once; the
        // client marks its fields for the next message but sends none until something changes.
        expect(agent.count((e) => e.event === 'send_deferred')).toBe(1);
        expect(sent(agent)[0]).toMatchObject({ sequenceNum: 2, hasDescription: false, hasEffectiveConfig: false });
        expect(((first.flags as number) & FULL_STATE) !== 0).toBe(true);
        await sleep(1500);
        expect(sent(agent)).toHaveLength(1);
        expect((await getAgent(server, uid)).body.status.description).toBeUndefined();
        agent.command({ cmd: 'set_attribute', key: 'host.arch', value: 'amd64' });
        stored = await eventually(
          () => getAgent(server, uid),
          (r) => !!r.body.status.description && !!r.body.status.effectiveConfig,
        );
        expect(sent(agent)[1]).toMatchObject({ sequenceNum: 3, hasDescription: true, hasEffectiveConfig: true, hasRemoteConfigStatus: true });
      } else {
        expect(sent(agent)[0]).toMatchObject({ sequenceNum: 1, hasDescription: true }); // the Java client starts at 1
      }
      expect(stored.body.status.description).toMatchObject({
        identifyingAttributes: { 'service.name': `java-${transport}`, 'service.version': '4.2.0' },
        nonIdentifyingAttributes: { 'host.name': 'jvm-box' },
      });
      expect(JSON.parse(stored.body.status.effectiveConfig.configMap[''].body)).toEqual({ exporter: 'otlp' });
      expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0)).toBe(ws ? 1 : 0);
    },
    ws ? 'the client drops its first message; description and effective config arrive only with its first state change' : undefined,
  );

  scenario('status: compressed status (fields sent once, a change re-sent alone) and the server keeps what was omitted', async () => {
    const agent = start('--service-name', `java-status-${transport}`, '--effective-config', '{"a": 1}');
    const uid = await agent.uid();
    await discovered(agent, uid);
    await eventually(
      () => getAgent(server, uid),
      (r) => !!r.body.status.effectiveConfig,
    );
    const mark = agent.events.length;
    agent.command({ cmd: 'set_attribute', key: 'deployment.environment', value: 'staging' });
    const changed = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.description?.identifyingAttributes?.['deployment.environment'] === 'staging',
    );
    // The change carried the description alone: the effective config was omitted, and kept.
    const change = sent(agent, mark).find((e) => e.hasDescription === true)!;
    expect(change).toMatchObject({ hasDescription: true, hasEffectiveConfig: false });
    expect(changed.body.status.description.identifyingAttributes['service.name']).toBe(`java-status-${transport}`);
    expect(JSON.parse(changed.body.status.effectiveConfig.configMap[''].body)).toEqual({ a: 1 });
    if (transport === 'http') {
      // Later polls carry neither; nothing is read as cleared.
      const m2 = agent.events.length;
      await agent.waitFor((e) => e.event === 'sent', 5000, m2);
      await sleep(1500);
      expect(sent(agent, m2).every((e) => !e.hasDescription && !e.hasEffectiveConfig)).toBe(true);
      const after = await getAgent(server, uid);
      expect(after.body.status.description.identifyingAttributes['deployment.environment']).toBe('staging');
      expect(after.body.status.effectiveConfig.configMap['']).toBeDefined();
    }
  });

  if (transport === 'http') {
    scenario('heartbeats: polls keep it connected, each answered, sequence numbers consecutive', async () => {
      const agent = start();
      const uid = await agent.uid();
      const first = await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.connected,
      );
      const seenBefore = new Date(first.body.status.connection.lastSeenAt).getTime();
      await sleep(5000);
      const later = await getAgent(server, uid);
      expect(later.body.status.connected).toBe(true);
      expect(new Date(later.body.status.connection.lastSeenAt).getTime()).toBeGreaterThan(seenBefore);
      const s = sent(agent);
      expect(s.length).toBeGreaterThanOrEqual(4);
      s.forEach((e, i) => expect(e.sequenceNum).toBe(i + 1));
      expect(agent.count((e) => e.event === 'http_response' && e.status !== 200)).toBe(0);
      expect(agent.count((e) => e.event === 'message')).toBeGreaterThanOrEqual(s.length - 1);
    });
  } else {
    scenario('heartbeats: it sends no heartbeats over WebSocket; the server keeps the quiet socket connected (pings)', async () => {
      const agent = start();
      const uid = await agent.uid();
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.connected,
      );
      const mark = sent(agent).length;
      await sleep(5000);
      expect(sent(agent).length).toBe(mark); // nothing sent in 5 s: the WebSocket service only sends on change
      expect((await getAgent(server, uid)).body.status.connected).toBe(true);
    });
  }

  scenario('config apply: a JSON remote config is applied, reported APPLIED, and the server shows the effective config', async () => {
    const agent = start('--service-name', `java-config-${transport}`);
    const uid = await agent.uid();
    await discovered(agent, uid);
    expect(
      (
        await api('PUT', `/agents/${uid}/update-agent-config`, {
          files: [{ fileName: 'agent.json', contentType: 'application/json', body: '{"sampler": "parentbased_always_on"}' }],
        })
      ).status,
    ).toBe(200);
    const hash = (await api('GET', `/agents/${uid}/desired-config`)).body.hash as string;
    expect((await agent.event('config_applied', 10_000)).hash).toBe(hash);
    const stored = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED' && !!r.body.status.effectiveConfig?.configMap?.['agent.json'],
    );
    expect(stored.body.status.remoteConfigStatus).toMatchObject({ status: 'APPLIED', lastRemoteConfigHash: hash });
    expect(JSON.parse(stored.body.status.effectiveConfig.configMap['agent.json'].body)).toEqual({ sampler: 'parentbased_always_on' });
    await sleep(2500);
    expect(agent.count((e) => e.event === 'remote_config')).toBe(1);
  });

  scenario('failure: a config it cannot apply (not JSON) is reported FAILED with its message and not resent', async () => {
    const agent = start('--service-name', `java-bad-${transport}`);
    const uid = await agent.uid();
    await discovered(agent, uid);
    expect(
      (
        await api('PUT', `/agents/${uid}/update-agent-config`, {
          files: [{ fileName: 'agent.yaml', contentType: 'application/yaml', body: 'sampler: always_on\n' }],
        })
      ).status,
    ).toBe(200);
    const hash = (await api('GET', `/agents/${uid}/desired-config`)).body.hash as string;
    expect((await agent.event('config_failed', 10_000)).hash).toBe(hash);
    const stored = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.remoteConfigStatus?.status === 'FAILED',
    );
    expect(stored.body.status.remoteConfigStatus).toMatchObject({
      status: 'FAILED',
      lastRemoteConfigHash: hash,
      errorMessage: 'cannot apply agent.yaml: content type application/yaml is not JSON',
    });
    await sleep(2500);
    expect(agent.count((e) => e.event === 'remote_config')).toBe(1);
  });

  scenario('rollback: a group config fails on a new revision, and rolling back delivers revision 1, APPLIED again', async () => {
    await jsonConfigRollback({
      server,
      api,
      name: `java-rb-${transport}`,
      serviceName: `java-rb-${transport}`,
      fileName: 'agent.json',
      revision1: '{"sampler": "always_on"}',
      revision2Yaml: 'sampler: always_off\n',
      startAgent: async (serviceName) => {
        const agent = start('--service-name', serviceName);
        const uid = await agent.uid();
        await discovered(agent, uid);
        return { agent, uid };
      },
    });
  });

  if (ws)
    scenario('new instance uid: a clone (its uid, other identifying attributes) is given a uid of its own and moves to it', async () => {
      const original = start('--service-name', 'java-original');
      const uid = await original.uid();
      await discovered(original, uid);
      const clone = start('--service-name', 'java-clone', '--instance-uid', uid);
      // Its first message carries no description (see discovery), so the server asks it for its full state before it
      // may take the uid over. The client keeps the request for its next message, which a change of state sends; the
      // description in it names another service: a clone, given a uid of its own.
      await clone.waitFor((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, 15_000);
      expect((await getAgent(server, uid)).body.status.description.identifyingAttributes['service.name']).toBe('java-original');
      clone.command({ cmd: 'set_attribute', key: 'host.arch', value: 'amd64' });
      const assigned = await clone.waitFor((e) => e.event === 'message' && typeof e.newInstanceUid === 'string', 15_000);
      const fresh = assigned.newInstanceUid as string;
      expect(fresh).not.toBe(uid);
      expect(clone.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0)).toBe(1);
      // It sends only on a change of state (no heartbeats): its next message speaks for the new uid.
      clone.command({ cmd: 'set_attribute', key: 'host.arch', value: 'arm64' });
      await clone.waitFor((e) => e.event === 'sent' && e.uid === fresh, 15_000);
      const moved = await eventually(
        () => getAgent(server, fresh),
        (r) => r.status === 200 && !!r.body.status.description,
      );
      expect(moved.body.status.description.identifyingAttributes['service.name']).toBe('java-clone');
      const kept = await getAgent(server, uid);
      expect(kept.body.status.description.identifyingAttributes['service.name']).toBe('java-original');
      expect(kept.body.status.connected).toBe(true);
    });

  scenario(
    ws
      ? 'disconnect: close() sends agent_disconnect and the agent is offline at once'
      : 'disconnect: close() sends nothing over HTTP; the agent goes offline after 3 missed polls',
    async () => {
      const agent = start('--service-name', `java-stop-${transport}`);
      const uid = await agent.uid();
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.connected,
      );
      await agent.stop();
      agents.splice(agents.indexOf(agent), 1);
      if (ws) {
        expect(agent.count((e) => e.event === 'sent' && e.agentDisconnect === true)).toBe(1);
        const gone = await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.connected === false,
          2000,
        );
        expect(gone.body.status.connected).toBe(false);
      } else {
        // close() marks agent_disconnect for the next request and stops the poller, so it never goes out.
        expect(agent.count((e) => e.event === 'sent' && e.agentDisconnect === true)).toBe(0);
        expect((await getAgent(server, uid)).body.status.connected).toBe(true);
        const gone = await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.connected === false,
          12_000,
        );
        expect(gone.body.status.connected).toBe(false);
      }
    },
    ws ? undefined : 'no agent_disconnect over HTTP: offline only after 3 missed polls',
  );
});

describeIf('Java opentelemetry-opamp-client against admission control (503 + Retry-After)', () => {
  let server: TestServer;
  const agents: JsonLineAgent[] = [];
  const url = (scheme: string) => `${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`;
  const start = (scheme: string, ...extra: string[]) => {
    const a = startJavaAgent(url(scheme), ['--heartbeat', '1', ...extra]);
    agents.push(a);
    return a;
  };
  const rejections = (a: JsonLineAgent) => a.events.filter((e) => (e.event === 'http_response' || e.event === 'ws_handshake') && e.status === 503);
  const gaps = (ev: AgentEvent[]) => ev.slice(1).map((e, i) => (e.t as number) - (ev[i].t as number));

  beforeAll(async () => {
    // One connection at a time; the one holding it is a WebSocket agent, so the slot frees at once when it leaves.
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '2', OPAMP_MAX_CONNECTIONS: '1', OPAMP_RETRY_AFTER_SECONDS: '2' });
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(() => server?.close());

  const holdTheSlot = async () => {
    const holder = start('ws', '--service-name', 'slot-holder');
    const uid = await holder.uid();
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && r.body.status.connected,
    );
    return holder;
  };

  it(
    'retry over HTTP: it waits the Retry-After between attempts and, once admitted, reports what the refused requests carried',
    results.scenario(
      'http',
      'retry (503)',
      async () => {
        const holder = await holdTheSlot();
        // Its own backoff starts at 200 ms: only Retry-After makes it wait 2 s.
        const agent = start('http', '--service-name', 'java-retry-http', '--retry-initial-ms', '200');
        const uid = await agent.uid();
        await agent.waitFor(() => rejections(agent).length >= 3, 20_000);
        expect(rejections(agent)[0].retryAfter).toBe('2');
        for (const g of gaps(rejections(agent))) expect(g).toBeGreaterThanOrEqual(1900);
        await holder.stop();
        const stored = await eventually(
          () => getAgent(server, uid),
          (r) => r.status === 200 && r.body.status.connected,
          10_000,
        );
        // The refused requests' fields were kept for the next one: the description arrived.
        expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('java-retry-http');
      },
      'Retry-After (seconds) honoured between attempts',
    ),
    60_000,
  );

  it(
    'retry over WebSocket: a refused handshake is retried on its own backoff (Retry-After is not read), then it connects and reports',
    results.scenario(
      'websocket',
      'retry (503)',
      async () => {
        const holder = await holdTheSlot();
        const agent = start('ws', '--service-name', 'java-retry-ws', '--retry-initial-ms', '200');
        await agent.waitFor(() => rejections(agent).length >= 3, 20_000);
        expect(rejections(agent)[0].retryAfter).toBe('2');
        // 200 ms, then doubling: the first retry comes well before the 2 s the server asked for.
        expect(gaps(rejections(agent))[0]).toBeLessThan(1500);
        await holder.stop();
        await agent.event('ws_open', 20_000);
        const uid = await agent.uid();
        await eventually(
          () => getAgent(server, uid),
          (r) => r.status === 200 && r.body.status.connected,
          10_000,
        );
        // As at any first connect over WebSocket, its state arrives with its first change.
        agent.command({ cmd: 'set_attribute', key: 'host.arch', value: 'amd64' });
        const stored = await eventually(
          () => getAgent(server, uid),
          (r) => !!r.body.status.description,
          10_000,
        );
        expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('java-retry-ws');
      },
      'Retry-After on a refused handshake is not read: the client backs off on its own schedule',
    ),
    60_000,
  );
});

describeIf('Java opentelemetry-opamp-client across a server restart', () => {
  it(
    'restart over HTTP: polls resume; with the database lost, full state is requested once and everything is stored again',
    results.scenario('http', 'restart (state lost)', () =>
      acrossServerRestart({
        name: 'java-restart',
        keepDatabase: false,
        noticed: 'connect_failed',
        start: (url) =>
          startJavaAgent(url, ['--heartbeat', '1', '--retry-initial-ms', '300', '--service-name', 'java-survivor', '--effective-config', '{"keep": true}']),
        check: async (agent, { server, uid, mark }) => {
          const stored = await eventually(
            () => getAgent(server, uid),
            (r) => r.status === 200 && !!r.body.status.effectiveConfig && !!r.body.status.description,
            20_000,
          );
          expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('java-survivor');
          expect(JSON.parse(stored.body.status.effectiveConfig.configMap[''].body)).toEqual({ keep: true });
          await sleep(2500);
          expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, mark)).toBe(1);
        },
      }),
    ),
    60_000,
  );

  it(
    'reconnect over HTTP: polls resume against the restarted server, which knows the agent; the poll lost while it was down costs one full-state request',
    results.scenario(
      'http',
      'reconnect',
      () =>
        acrossServerRestart({
          name: 'java-reconnect-http',
          keepDatabase: true,
          noticed: 'connect_failed',
          start: (url) =>
            startJavaAgent(url, [
              '--heartbeat',
              '1',
              '--retry-initial-ms',
              '300',
              '--service-name',
              'java-reconnect-http',
              '--effective-config',
              '{"keep": 1}',
            ]),
          check: async (agent, { server, uid, mark }) => {
            const back = await eventually(
              () => getAgent(server, uid),
              (r) => r.status === 200 && r.body.status.connected === true && agent.count((e) => e.event === 'message', mark) >= 3,
              20_000,
            );
            expect(back.body.status.description.identifyingAttributes['service.name']).toBe('java-reconnect-http');
            expect(JSON.parse(back.body.status.effectiveConfig.configMap[''].body)).toEqual({ keep: 1 });
            // The state was kept. A poll sent while the server was down is lost with its sequence number, and the next
            // one that arrives shows the gap: that costs one full-state request (the spec's rule), and then none.
            const lost = agent.count((e) => e.event === 'transport_error', mark);
            expect(lost).toBeGreaterThanOrEqual(1);
            expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, mark)).toBe(1);
            const settled = agent.events.length;
            await sleep(3000);
            expect(agent.count((e) => e.event === 'message', settled)).toBeGreaterThanOrEqual(2);
            expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, settled)).toBe(0);
          },
        }),
      'HTTP has no connection to restore: polls fail while the server is down and resume; a gap in its sequence numbers costs one full-state request',
    ),
    60_000,
  );

  it(
    'reconnect over WebSocket: after the server closes the socket (1001 at shutdown) the client never reconnects',
    results.scenario(
      'websocket',
      'reconnect',
      async () => {
        const port = await freePort();
        const env = { OPAMP_PORT: String(port), OPAMP_HEARTBEAT_INTERVAL_SECONDS: '2' };
        const db = testDatabaseUri('java-reconnect');
        let server = await startTestServer(env, db);
        const agent = startJavaAgent(`ws://127.0.0.1:${port}/v1/opamp`, ['--retry-initial-ms', '300', '--service-name', 'java-reconnect']);
        try {
          const uid = await agent.uid();
          await eventually(
            () => getAgent(server, uid),
            (r) => r.status === 200 && r.body.status.connected,
          );
          const mark = agent.events.length;
          await server.close();
          // OkHttp reports the server's close frame (onClosing) and stops reading until the application
          // answers with close(); the library's onClosing does nothing, so the socket never finishes
          // closing, no onClosed/onFailure comes, and its reconnect logic never runs.
          await agent.event('ws_closing', 10_000, mark);
          server = await startTestServer(env, db);
          await sleep(4000);
          expect(agent.count((e) => e.event === 'ws_closed' || e.event === 'ws_failure' || e.event === 'ws_handshake', mark)).toBe(0);
          expect((await getAgent(server, uid)).body.status.connected).toBe(false);
          // A state change cannot go out either: the library sees the socket as not running and keeps it pending.
          agent.command({ cmd: 'set_attribute', key: 'host.arch', value: 'arm64' });
          await agent.event('send_deferred', 5000, mark);
          expect(agent.count((e) => e.event === 'sent', mark)).toBe(0);
        } finally {
          await agent.stop();
          await server.close();
        }
      },
      'client bug: a server-initiated close leaves it in CLOSING for good (no reconnect, nothing sent)',
    ),
    60_000,
  );
});
