import { eventually, getAgent } from './support/agents-api';
import { InteropResults } from './support/interop-results';
import { jsonConfigRollback } from './support/json-config-rollback';
import { JsonLineAgent, pythonOpampInterpreter, pythonSkipReason, startPythonAgent } from './support/python-agent';
import { restClient } from './support/rest-client';
import { acrossServerRestart } from './support/server-restart';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Interop with the Python OpAMP client (`opentelemetry-opamp-client` from PyPI, plain HTTP only),
 * driven by test/interop/python-agent/agent.py. Skipped, with a printed line, where python3 with
 * venv is missing.
 */

const python = pythonOpampInterpreter();
if (!python) console.log(`python interop: skipped (${pythonSkipReason()})`);
const describeIf = python ? describe : describe.skip;

const FULL_STATE = 1;
const results = new InteropResults('python opentelemetry-opamp-client', '0.5b0');
// Not a test: the client sends no RequestInstanceUid and ignores agent_identification (its message handling reads
// only remote config), and over HTTP the server detects no clone to assign a uid to. Shown in the matrix all the same.
if (python) results.record('http', 'new instance uid', 'skip', 'not supported by the client: it cannot request a uid and reads no agent_identification');

describeIf('Python opentelemetry-opamp-client over plain HTTP', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const agents: JsonLineAgent[] = [];
  const url = () => `http://127.0.0.1:${server.opampPort}/v1/opamp`;
  const start = (...extra: string[]) => {
    const a = startPythonAgent(url(), ['--heartbeat', '1', ...extra]);
    agents.push(a);
    return a;
  };
  const scenario = (name: string, fn: () => Promise<void>, note?: string) => it(name, results.scenario('http', name.split(':')[0], fn, note));

  beforeAll(async () => {
    // Polls expected every 2 s (offline after 3 missed); a 1 s heartbeat is offered to every agent that reports heartbeats.
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '2', OPAMP_OFFER_HEARTBEAT_INTERVAL_SECONDS: '1' });
    api = restClient(server);
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });
  afterAll(() => server?.close());

  scenario('discovery: description, capabilities and effective config are stored', async () => {
    const agent = start('--service-name', 'py-shop', '--service-version', '3.1.0', '--host-name', 'py-box', '--effective-config', '{"sampling": 1.0}');
    const uid = await agent.uid();
    const stored = await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && !!r.body.status.effectiveConfig,
    );
    expect(stored.body.status).toMatchObject({
      connected: true,
      connection: { transport: 'http' },
      description: { identifyingAttributes: { 'service.name': 'py-shop', 'service.version': '3.1.0' }, nonIdentifyingAttributes: { 'host.name': 'py-box' } },
      capabilities: {
        names: expect.arrayContaining(['ReportsStatus', 'AcceptsRemoteConfig', 'ReportsRemoteConfig', 'ReportsEffectiveConfig', 'ReportsHeartbeat']),
      },
    });
    expect(JSON.parse(stored.body.status.effectiveConfig.configMap[''].body)).toEqual({ sampling: 1.0 });
    expect(stored.body.status.effectiveConfig.configMap[''].contentType).toBe('application/json');
    // Every answer echoes the uid and carries the server's capabilities (AcceptsStatus).
    const first = await agent.event('message');
    expect(first.instanceUid).toBe(uid);
    expect((first.capabilities as number) & 1).toBe(1);
  });

  scenario('status: what it reports once (description, effective config) is kept across the polls that omit it, and a change is stored', async () => {
    const agent = start('--service-name', 'py-status', '--effective-config', '{"a": 1}');
    const uid = await agent.uid();
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && !!r.body.status.effectiveConfig && !!r.body.status.description,
    );
    // Five more polls: the stored description and effective config stay whatever later polls carry.
    const mark = agent.events.length;
    await agent.waitFor(() => agent.count((e) => e.event === 'message', mark) >= 5, 15_000);
    const polls = agent.events.slice(mark).filter((e) => e.event === 'sent');
    const stored = await getAgent(server, uid);
    expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('py-status');
    expect(JSON.parse(stored.body.status.effectiveConfig.configMap[''].body)).toEqual({ a: 1 });
    expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, mark)).toBe(0);
    // The client compresses: later polls omit the description and the effective config.
    expect(polls.every((e) => e.hasDescription === false && e.hasEffectiveConfig === false)).toBe(true);
    // A change it reports (a group config it applies becomes its effective config) replaces what was stored.
    const rc = await api('POST', '/remoteconfigs', {
      kind: 'RemoteConfig',
      apiVersion: 'v1',
      metadata: { name: 'py-status-config' },
      spec: { contentType: 'application/json', body: '{"a": 2}' },
    });
    expect(rc.status).toBe(201);
    expect((await api('PUT', `/agents/${uid}/update-agent-config`, { configs: [{ fileName: '', remoteConfig: 'py-status-config' }] })).status).toBe(200);
    const changed = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.effectiveConfig && JSON.parse(r.body.status.effectiveConfig.configMap[''].body).a === 2,
      15_000,
    );
    expect(changed.body.status.description.identifyingAttributes['service.name']).toBe('py-status');
    expect(changed.body.status.remoteConfigStatus.status).toBe('APPLIED');
  });

  scenario('heartbeats: polls keep it connected, each answered, sequence numbers consecutive, no full-state requests', async () => {
    const agent = start();
    const uid = await agent.uid();
    const first = await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && r.body.status.connected,
    );
    const seenBefore = new Date(first.body.status.connection.lastSeenAt).getTime();
    const mark = agent.events.length;
    await new Promise((r) => setTimeout(r, 5000));
    const later = await getAgent(server, uid);
    expect(later.body.status.connected).toBe(true);
    expect(new Date(later.body.status.connection.lastSeenAt).getTime()).toBeGreaterThan(seenBefore);
    const sent = agent.events.filter((e) => e.event === 'sent');
    // 1 s polls for 5 s (plus the first): about 6; answered one for one.
    expect(agent.count((e) => e.event === 'sent', mark)).toBeGreaterThanOrEqual(3);
    expect(agent.count((e) => e.event === 'send_failed')).toBe(0);
    expect(agent.count((e) => e.event === 'message')).toBe(sent.length - (agent.events.at(-1)?.event === 'sent' ? 1 : 0));
    const seqs = sent.map((e) => e.sequenceNum as number);
    expect(seqs[0]).toBe(0); // the Python client starts at 0
    seqs.forEach((s, i) => expect(s).toBe(i));
    // One ReportFullState, in the answer to the very first message: the agent promises an effective
    // config and a remote config status and sent neither (it has none yet). Never again after that.
    const fullState = agent.events.filter((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0);
    expect(fullState.length).toBeLessThanOrEqual(1);
    if (fullState.length) expect(fullState[0]).toBe(agent.events.find((e) => e.event === 'message'));
  });

  scenario('config apply: a JSON remote config is applied, reported APPLIED, and the server shows the effective config', async () => {
    const agent = start('--service-name', 'py-config');
    const uid = await agent.uid();
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200,
    );
    const set = await api('PUT', `/agents/${uid}/update-agent-config`, {
      files: [{ fileName: 'settings.json', contentType: 'application/json', body: '{"sampling": 0.25, "features": ["a", "b"]}' }],
    });
    expect(set.status).toBe(200);
    const desired = await api('GET', `/agents/${uid}/desired-config`);
    const hash = desired.body.hash as string;
    const applied = await agent.event('config_applied', 10_000);
    expect(applied.hash).toBe(hash);
    expect(applied.config).toEqual({ 'settings.json': { sampling: 0.25, features: ['a', 'b'] } });
    const stored = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED',
    );
    expect(stored.body.status.remoteConfigStatus).toMatchObject({ status: 'APPLIED', lastRemoteConfigHash: hash });
    expect(JSON.parse(stored.body.status.effectiveConfig.configMap['settings.json'].body)).toEqual({ sampling: 0.25, features: ['a', 'b'] });
    // Delivered once: further polls carry no config.
    await new Promise((r) => setTimeout(r, 3000));
    expect(agent.count((e) => e.event === 'remote_config')).toBe(1);
  });

  scenario('failure: a config the client cannot parse (YAML) is reported FAILED with its message and not resent', async () => {
    const agent = start('--service-name', 'py-bad-config');
    const uid = await agent.uid();
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200,
    );
    expect(
      (
        await api('PUT', `/agents/${uid}/update-agent-config`, {
          files: [{ fileName: 'settings.yaml', contentType: 'application/yaml', body: 'sampling: 0.5\n' }],
        })
      ).status,
    ).toBe(200);
    const hash = (await api('GET', `/agents/${uid}/desired-config`)).body.hash as string;
    const failed = await agent.event('config_failed', 10_000);
    expect(failed.hash).toBe(hash);
    const stored = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.remoteConfigStatus?.status === 'FAILED',
    );
    expect(stored.body.status.remoteConfigStatus).toMatchObject({ status: 'FAILED', lastRemoteConfigHash: hash });
    expect(stored.body.status.remoteConfigStatus.errorMessage).toMatch(/Cannot parse settings\.yaml with content type application\/yaml/);
    await new Promise((r) => setTimeout(r, 3000));
    expect(agent.count((e) => e.event === 'remote_config')).toBe(1);
  });

  scenario('rollback: a group config fails on a new revision, and rolling back delivers revision 1, APPLIED again', async () => {
    const { first, back } = await jsonConfigRollback({
      server,
      api,
      name: 'py-rb',
      serviceName: 'py-rollback',
      fileName: 'settings.json',
      revision1: '{"sampling": 1}',
      revision2Yaml: 'sampling: 0.5\n',
      startAgent: async (serviceName) => {
        const agent = start('--service-name', serviceName);
        return { agent, uid: await agent.uid() };
      },
    });
    expect(first.config).toEqual({ 'settings.json': { sampling: 1 } });
    expect(back.config).toEqual({ 'settings.json': { sampling: 1 } });
    expect((await api('GET', '/agentgroups/py-rb')).body.status.config).toMatchObject({ applied: 1, failed: 0 });
  });

  scenario(
    'connection settings: the offered heartbeat interval arrives once and the client ignores it (keeps its own)',
    async () => {
      const agent = startPythonAgent(url(), ['--heartbeat', '2.5', '--service-name', 'py-settings']);
      agents.push(agent);
      const uid = await agent.uid();
      const first = await agent.event('message');
      expect(first).toMatchObject({ hasConnectionSettings: true, offeredHeartbeatSeconds: 1 });
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200,
      );
      const mark = agent.count((e) => e.event === 'sent');
      await new Promise((r) => setTimeout(r, 6000));
      // At its own 2.5 s interval: 2–3 polls in 6 s; had it taken the offered 1 s it would be about 6.
      const polls = agent.count((e) => e.event === 'sent') - mark;
      expect(polls).toBeGreaterThanOrEqual(1);
      expect(polls).toBeLessThanOrEqual(4);
      // The offer is sent when its hash changes, not on every poll.
      expect(agent.count((e) => e.event === 'message' && e.hasConnectionSettings === true)).toBe(1);
      expect((await getAgent(server, uid)).body.status.connected).toBe(true);
    },
    'the client reads no connection settings (its callbacks see only remote config)',
  );

  scenario('disconnect: a graceful stop sends agent_disconnect and the agent is offline at once', async () => {
    const agent = start('--service-name', 'py-stop');
    const uid = await agent.uid();
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && r.body.status.connected,
    );
    await agent.stop();
    agents.splice(agents.indexOf(agent), 1);
    // stop() sends it, and the library's atexit hook calls stop() again: a second agent_disconnect.
    expect(agent.count((e) => e.event === 'sent' && e.agentDisconnect === true)).toBeGreaterThanOrEqual(1);
    // Well before the 6 s (3 missed polls) after which a silent HTTP agent is marked offline.
    const gone = await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.connected === false,
      2000,
    );
    expect(gone.body.status.connected).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    expect((await getAgent(server, uid)).body.status.connected).toBe(false);
  });
});

describeIf('Python opentelemetry-opamp-client across a server restart', () => {
  it(
    'restart: polls resume; with the database lost, full state is requested and the description and effective config are stored again',
    results.scenario(
      'http',
      'restart (state lost)',
      () =>
        acrossServerRestart({
          name: 'py-restart',
          keepDatabase: false,
          // Polls fail while the server is down (each heartbeat is retried once, then dropped).
          noticed: 'send_failed',
          start: (url) => startPythonAgent(url, ['--heartbeat', '1', '--service-name', 'py-survivor', '--effective-config', '{"keep": true}']),
          check: async (agent, { server, uid, mark }) => {
            const stored = await eventually(
              () => getAgent(server, uid),
              (r) => r.status === 200 && !!r.body.status.effectiveConfig && !!r.body.status.description,
              20_000,
            );
            expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('py-survivor');
            expect(JSON.parse(stored.body.status.effectiveConfig.configMap[''].body)).toEqual({ keep: true });
            // Asked at least once. It can be asked again: the client numbers a failed send too (a retried
            // heartbeat repeats its number, the next message skips one), and its full-state answer has no
            // remote config status (it never had a config) although ReportsRemoteConfig promises one, so a
            // gap plus that "missing" field asks again, until the numbers run consecutively. Then never.
            await new Promise((r) => setTimeout(r, 3000));
            const requests = agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, mark);
            expect(requests).toBeGreaterThanOrEqual(1);
            expect(requests).toBeLessThanOrEqual(3);
            const settled = agent.events.length;
            await new Promise((r) => setTimeout(r, 3000));
            expect(agent.count((e) => e.event === 'message', settled)).toBeGreaterThanOrEqual(2);
            expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, settled)).toBe(0);
          },
        }),
      'full state may be requested up to 3 times: seq gaps from failed sends + no remote config status in the answer',
    ),
    60_000,
  );
});

describeIf('Python opentelemetry-opamp-client across a server restart that keeps the database', () => {
  it(
    'reconnect: polls resume against the restarted server, which knows the agent and asks for nothing it already has',
    results.scenario(
      'http',
      'reconnect',
      () =>
        acrossServerRestart({
          name: 'py-reconnect',
          keepDatabase: true,
          noticed: 'send_failed',
          start: (url) => startPythonAgent(url, ['--heartbeat', '1', '--service-name', 'py-reconnect', '--effective-config', '{"keep": 1}']),
          check: async (agent, { server, uid, mark }) => {
            const back = await eventually(
              () => getAgent(server, uid),
              (r) => r.status === 200 && r.body.status.connected === true && agent.count((e) => e.event === 'message', mark) >= 3,
              20_000,
            );
            expect(back.body.status.connected).toBe(true);
            expect(back.body.status.description.identifyingAttributes['service.name']).toBe('py-reconnect');
            expect(JSON.parse(back.body.status.effectiveConfig.configMap[''].body)).toEqual({ keep: 1 });
            // Its failed sends leave a gap in its sequence numbers, which costs at most one full-state request
            // (the state was kept, so that is the only reason to ask); then polls go on undisturbed.
            const settled = agent.events.length;
            await new Promise((r) => setTimeout(r, 3000));
            expect(agent.count((e) => e.event === 'message', settled)).toBeGreaterThanOrEqual(2);
            expect(agent.count((e) => e.event === 'message' && ((e.flags as number) & FULL_STATE) !== 0, settled)).toBe(0);
          },
        }),
      'HTTP has no connection to restore: its polls fail while the server is down and resume when it is back',
    ),
    60_000,
  );
});

describeIf('Python opentelemetry-opamp-client against admission control (503 + Retry-After)', () => {
  it(
    "retry: a refused first message is retried on the client's own backoff (Retry-After is not read) until admitted",
    results.scenario(
      'http',
      'retry (503)',
      async () => {
        // One connection at a time (an HTTP agent counts while it polls); Retry-After 5 s.
        const server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '2', OPAMP_MAX_CONNECTIONS: '1', OPAMP_RETRY_AFTER_SECONDS: '5' });
        const url = `http://127.0.0.1:${server.opampPort}/v1/opamp`;
        const holder = startPythonAgent(url, ['--heartbeat', '1', '--service-name', 'py-slot-holder']);
        let agent: JsonLineAgent | undefined;
        try {
          const holderUid = await holder.uid();
          await eventually(
            () => getAgent(server, holderUid),
            (r) => r.status === 200 && r.body.status.connected,
          );
          agent = startPythonAgent(url, ['--heartbeat', '1', '--service-name', 'py-retry']);
          const uid = await agent.uid();
          // Its backoff starts at 0.5 s and doubles: two refusals come well within the 5 s asked for.
          const refused = (a: JsonLineAgent) => a.count((e) => e.event === 'send_failed' && /503/.test(e.error as string));
          await agent.waitFor(() => refused(agent!) >= 2, 4000);
          expect(agent.count((e) => e.event === 'message')).toBe(0);
          await holder.stop(); // agent_disconnect frees the slot at once
          const stored = await eventually(
            () => getAgent(server, uid),
            (r) => r.status === 200 && r.body.status.connected,
            20_000,
          );
          expect(stored.body.status.description.identifyingAttributes['service.name']).toBe('py-retry');
        } finally {
          await Promise.all([holder.stop(), agent?.stop()]);
          await server.close();
        }
      },
      'Retry-After is not read: its own exponential backoff from 0.5 s (the first message is retried 10 times, a heartbeat once)',
    ),
    60_000,
  );
});
