import * as diagnostics from 'node:diagnostics_channel';
import { eventually, getAgent } from './support/agents-api';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { restClient } from './support/rest-client';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';
import { InteropResults } from './support/interop-results';

/** Rows of the interop matrix (scripts/interop-matrix.js) that this spec proves. */
const goResults = new InteropResults('go opamp-go', 'v0.23.0', 'delivery');
const elasticResults = new InteropResults('node @elastic/opamp-client-node', '0.5.0');

/**
 * Fleet management end to end: configuration assigned through the REST API reaches real OpAMP
 * clients (opamp-go over WebSocket at once, the Elastic client over HTTP on its next poll),
 * their reports are recorded, and nothing is resent in a loop.
 */
describe('remote configuration delivery to real agents', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const agents: GoAgent[] = [];

  beforeAll(async () => {
    goAgentBinary();
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
    api = restClient(server);
    expect(
      (
        await api('POST', '/remoteconfigs', {
          metadata: { name: 'collector-base' },
          spec: { contentType: 'application/yaml', body: 'receivers:\n  otlp: {}\n' },
        })
      ).status,
    ).toBe(201);
    const group = await api('POST', '/agentgroups', {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'checkout' },
      spec: { selector: 'service.name=checkout', priority: 10, configs: [{ fileName: '', remoteConfig: 'collector-base' }] },
    });
    expect(group.status).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
  });

  const start = (...extra: string[]) => {
    const a = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', ...extra]);
    agents.push(a);
    return a;
  };
  const configEvents = (a: GoAgent) =>
    a.events.filter((e) => e.event === 'remote_config') as unknown as { hash: string; config: Record<string, { body: string; contentType: string }> }[];

  async function revise(name: string, body: string) {
    const cur = (await api('GET', `/remoteconfigs/${name}`)).body;
    const res = await api('PUT', `/remoteconfigs/${name}`, { ...cur, spec: { ...cur.spec, body } });
    expect(res.status).toBe(200);
    return res.body;
  }

  it(
    'a group config reaches a WebSocket agent, APPLIED is recorded, and nothing is resent',
    goResults.scenario('websocket', 'config apply', async () => {
      const agent = start('--service-name', 'checkout');
      const uid = (await agent.event('started')).uid as string;
      const rc = (await agent.event('remote_config')) as unknown as { hash: string; config: Record<string, { body: string }> };
      expect(rc.config['']).toMatchObject({ body: 'receivers:\n  otlp: {}\n' });
      const applied = await eventually(
        () => getAgent(server, uid),
        (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED',
      );
      expect(applied.body.status.remoteConfigStatus).toMatchObject({ status: 'APPLIED', lastRemoteConfigHash: rc.hash });
      expect(
        (
          await eventually(
            () => getAgent(server, uid),
            (r) => r.body.status.remoteConfig?.state === 'applied',
          )
        ).body.status.remoteConfig,
      ).toMatchObject({ state: 'applied', desiredHash: rc.hash, origin: 'group/checkout' });
      const desired = await api('GET', `/agents/${uid}/desired-config`);
      expect(desired.body).toMatchObject({
        hash: rc.hash,
        origin: { kind: 'group', group: 'checkout' },
        configMap: { '': { source: { kind: 'group', group: 'checkout', remoteConfig: 'collector-base', revision: 1 } } },
      });
      const status = await eventually(
        () => api('GET', '/agentgroups/checkout'),
        (r) => r.body.status.config.applied >= 1,
      );
      expect(status.body.status).toMatchObject({ config: { applied: 1, failed: 0 } });
      // Heartbeats for a while: the config is not sent again.
      await new Promise((r) => setTimeout(r, 3000));
      expect(configEvents(agent)).toHaveLength(1);
    }),
  );

  it(
    'a new revision is pushed at once; FAILED is recorded with its message; rollback delivers the older revision',
    goResults.scenario(
      'websocket',
      'failure',
      goResults.scenario('websocket', 'rollback', async () => {
        const agent = start('--service-name', 'checkout', '--fail-configs-containing', 'BROKEN');
        const uid = (await agent.event('started')).uid as string;
        await agent.event('remote_config');
        await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED',
        );

        await revise('collector-base', 'receivers:\n  otlp: {}\n# BROKEN on purpose\n');
        const broken = await agent.waitFor((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('BROKEN'), 10_000);
        const failed = await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.remoteConfigStatus?.status === 'FAILED',
        );
        expect(failed.body.status.remoteConfigStatus.lastRemoteConfigHash).toBe(broken.hash);
        expect(failed.body.status.remoteConfigStatus.errorMessage).toMatch(/BROKEN/);
        const counts = await eventually(
          () => api('GET', '/agentgroups/checkout'),
          (r) => r.body.status.config.failed >= 1,
        );
        expect(counts.body.status.config.failed).toBeGreaterThanOrEqual(1);
        // The overview's "config FAILED" list is this filter.
        const failing = await api('GET', '/agents?configState=failed');
        expect(failing.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toContain(uid);
        // FAILED with the same hash is not a reason to resend.
        await new Promise((r) => setTimeout(r, 2000));
        expect(configEvents(agent).filter((e) => e.hash === broken.hash)).toHaveLength(1);

        const rolled = await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 1 });
        expect(rolled.status).toBe(200);
        const back = await agent.waitFor((e) => e.event === 'remote_config' && e.hash !== broken.hash && !JSON.stringify(e.config).includes('BROKEN'), 10_000);
        expect((back as unknown as { config: Record<string, { body: string }> }).config[''].body).toBe('receivers:\n  otlp: {}\n');
        await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED' && r.body.status.remoteConfigStatus.lastRemoteConfigHash === back.hash,
        );
      }),
    ),
  );

  it('an agent whose description changes into the selector receives the group config', async () => {
    const agent = start('--service-name', 'billing');
    const uid = (await agent.event('started')).uid as string;
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(configEvents(agent)).toHaveLength(0);
    agent.command({ cmd: 'set_attr', key: 'service.name', value: 'checkout' });
    const rc = await agent.event('remote_config', 10_000);
    expect(JSON.stringify(rc.config)).toContain('otlp');
  });

  it('a per-agent assignment overrides the group, and clearing it falls back', async () => {
    const agent = start('--service-name', 'checkout');
    const uid = (await agent.event('started')).uid as string;
    const fromGroup = await agent.event('remote_config');
    const set = await api('PUT', `/agents/${uid}/update-agent-config`, {
      files: [{ fileName: '', contentType: 'application/yaml', body: 'exporters:\n  debug: {}\n' }],
    });
    expect(set.status).toBe(200);
    const own = await agent.waitFor((e) => e.event === 'remote_config' && e.hash !== fromGroup.hash, 10_000);
    expect((own as unknown as { config: Record<string, { body: string }> }).config[''].body).toBe('exporters:\n  debug: {}\n');
    const desired = await api('GET', `/agents/${uid}/desired-config`);
    expect(desired.body).toMatchObject({ origin: { kind: 'agent' }, hash: own.hash, configMap: { '': { source: { kind: 'agent-inline' } } } });
    const bad = await api('PUT', `/agents/${uid}/update-agent-config`, { configs: [{ fileName: '', remoteConfig: 'no-such-config' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('configs[0]');
    const cleared = await api('PUT', `/agents/${uid}/update-agent-config`, {});
    expect(cleared.status).toBe(200);
    await agent.waitFor((e) => e.event === 'remote_config' && e.hash === fromGroup.hash, 10_000, agent.events.indexOf(own) + 1);
  });

  it('ConfigDrift: an agent that reports APPLIED but runs no pipeline of its config is flagged, shown and filterable; one running it is not', async () => {
    const body =
      'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n';
    expect((await api('POST', '/remoteconfigs', { metadata: { name: 'drift-base' }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    const group = { metadata: { name: 'drifty' }, spec: { selector: 'service.name=drifty', configs: [{ fileName: '', remoteConfig: 'drift-base' }] } };
    expect((await api('POST', '/agentgroups', group)).status).toBe(201);
    const faithful = start('--service-name', 'drifty');
    // A supervisor whose merge left an empty pipeline set: it says APPLIED and runs nothing of it.
    const emptied = start('--service-name', 'drifty', '--applied-effective-config', 'receivers: {}\nexporters: {}\nservice:\n  pipelines: {}\n');
    const [good, bad] = await Promise.all([faithful, emptied].map(async (a) => (await a.event('started')).uid as string));
    const conditionOf = async (uid: string) =>
      (
        await eventually(
          () => getAgent(server, uid),
          (r) => (r.body.status.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'ConfigDrift' && c.status !== 'Unknown'),
          15_000,
        )
      ).body.status.conditions.find((c: { type: string }) => c.type === 'ConfigDrift');
    expect(await conditionOf(good)).toMatchObject({ status: 'False', reason: 'RunsDesiredConfig' });
    const drift = await conditionOf(bad);
    expect(drift).toMatchObject({ status: 'True', reason: 'EmptyPipelines', since: expect.any(String) });
    expect(drift.message).toContain('traces');
    expect((await getAgent(server, bad)).body.status.remoteConfigStatus.status).toBe('APPLIED');
    const flagged = await api('GET', '/agents?condition=ConfigDrift&selector=service.name%3Ddrifty');
    expect(flagged.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([bad]);
    expect(flagged.body.items[0].status.conditions.find((c: { type: string }) => c.type === 'ConfigDrift')).toMatchObject({ status: 'True' });
    expect((await api('GET', '/agents?condition=Nope')).status).toBe(400);
    // The group no longer says only "applied: 2": one of the two runs none of it.
    expect((await api('GET', '/agentgroups/drifty')).body.status.config).toEqual({ applied: 2, applying: 0, failed: 0, pending: 0, drifted: 1 });
    // The fleet gauge counts it, so an alert can fire on drift (it is cached for 15 s, hence the wait).
    await eventually(
      async () => (await (await fetch(`${server.baseUrl}/metrics`)).text()).match(/^opamp_agents_config_drift (\d+)$/m)?.[1],
      (n) => n === '1',
      30_000,
    );
  });

  it(
    'restart reaches an agent that accepts it, and is refused for one that does not',
    goResults.scenario('websocket', 'restart command', async () => {
      const agent = start('--service-name', 'restartable');
      const uid = (await agent.event('started')).uid as string;
      await eventually(
        () => getAgent(server, uid),
        (r) => r.status === 200 && r.body.status.connected,
      );
      const res = await api('POST', `/agents/${uid}/restart`);
      expect(res.status).toBe(202);
      expect((await agent.event('command', 10_000)).type).toBe('Restart');

      const stubborn = start('--service-name', 'stubborn', '--capabilities', 'ReportsStatus,ReportsHeartbeat');
      const uid2 = (await stubborn.event('started')).uid as string;
      await eventually(
        () => getAgent(server, uid2),
        (r) => r.status === 200,
      );
      const refused = await api('POST', `/agents/${uid2}/restart`);
      expect(refused.status).toBe(409);
      expect(refused.type).toMatch(/problem\+json/);
    }),
  );

  it(
    'connection settings from a group are offered once by capability, and again only when they change',
    goResults.scenario('websocket', 'connection settings', async () => {
      const settings = (endpoint: string) => ({
        kind: 'AgentGroup',
        apiVersion: 'v1',
        metadata: { name: 'telemetry' },
        spec: {
          selector: 'service.name=telemetry',
          connectionSettings: { heartbeatIntervalSeconds: 2, ownMetrics: { endpoint, headers: { 'x-tenant': 'blue' } } },
        },
      });
      expect((await api('POST', '/agentgroups', settings('http://127.0.0.1:4318/v1/metrics'))).status).toBe(201);
      const agent = start('--service-name', 'telemetry', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics');
      const offer = await agent.event('connection_settings', 10_000);
      expect(offer).toMatchObject({ ownMetrics: { destinationEndpoint: 'http://127.0.0.1:4318/v1/metrics', headers: { 'x-tenant': 'blue' } } });
      // The heartbeat interval travels in `opamp` to an agent that reports heartbeats (never 0).
      const hb = agent.events.find((e) => e.event === 'message' && e.hasConnectionSettings);
      expect(hb).toBeDefined();
      await new Promise((r) => setTimeout(r, 2500));
      expect(agent.count((e) => e.event === 'connection_settings')).toBe(1);
      const cur = (await api('GET', '/agentgroups/telemetry')).body;
      const changed = settings('http://127.0.0.1:14318/v1/metrics');
      expect(
        (await api('PUT', '/agentgroups/telemetry', { ...changed, metadata: { ...changed.metadata, resourceVersion: cur.metadata.resourceVersion } })).status,
      ).toBe(200);
      const second = await agent.waitFor((e) => e.event === 'connection_settings' && e.hash !== offer.hash, 10_000);
      expect((second.ownMetrics as { destinationEndpoint: string }).destinationEndpoint).toBe('http://127.0.0.1:14318/v1/metrics');
    }),
  );

  it(
    'proxy connection settings reach opamp-go as offered, and the status it reports for them is stored and shown',
    goResults.scenario('websocket', 'connection settings', async () => {
      const proxy = { url: 'http://proxy.internal:3128', connectHeaders: { 'Proxy-Authorization': 'Basic b3BhbXA6c2VjcmV0' } };
      const group = {
        kind: 'AgentGroup',
        apiVersion: 'v1',
        metadata: { name: 'behind-proxy' },
        spec: {
          selector: 'service.name=behind-proxy',
          connectionSettings: {
            opamp: { endpoint: `ws://127.0.0.1:${server.opampPort}/v1/opamp`, proxy },
            ownMetrics: { endpoint: 'http://127.0.0.1:4318/v1/metrics', proxy: { url: 'https://egress.internal:8443' } },
          },
        },
      };
      expect((await api('POST', '/agentgroups', group)).status).toBe(201);
      const stored = (await api('GET', '/agentgroups/behind-proxy')).body;
      expect(stored.spec.connectionSettings.opamp.proxy).toEqual(proxy);
      const caps = 'ReportsStatus,ReportsHeartbeat,AcceptsOpAMPConnectionSettings,ReportsOwnMetrics,ReportsConnectionSettingsStatus,AcceptsRestartCommand';
      const agent = start('--service-name', 'behind-proxy', '--capabilities', caps);
      const opamp = await agent.event('opamp_connection_settings', 10_000);
      expect(opamp.proxy).toEqual(proxy);
      const offer = await agent.event('connection_settings', 10_000);
      expect(offer).toMatchObject({ ownMetrics: { proxy: { url: 'https://egress.internal:8443', connectHeaders: {} } } });
      // opamp-go v0.23 reports a ConnectionSettingsStatus only when it starts: restart it.
      const uid = (await agent.event('started', 5_000)).uid as string;
      expect((await api('POST', `/agents/${uid}/restart`)).status).toBe(202);
      const seen = await eventually(
        () => getAgent(server, uid),
        (r) => r.body?.status?.connectionSettingsStatus?.status === 'APPLIED',
        15_000,
      );
      expect(seen.body.status.connectionSettingsStatus).toMatchObject({ lastConnectionSettingsHash: offer.hash, status: 'APPLIED', current: true });
      // A bad proxy URL is refused with the field named, nothing stored.
      const bad = await api('PUT', '/agentgroups/behind-proxy', {
        ...group,
        metadata: { ...group.metadata, resourceVersion: stored.metadata.resourceVersion },
        spec: { ...group.spec, connectionSettings: { opamp: { endpoint: group.spec.connectionSettings.opamp.endpoint, proxy: { url: 'proxy:3128' } } } },
      });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('spec.connectionSettings.opamp.proxy.url');
    }),
  );

  it(
    'the Elastic client (HTTP) gets the config on its next poll and reports APPLIED',
    elasticResults.scenario('http', 'config apply', async () => {
      const { createOpAMPClient, AgentCapabilities, RemoteConfigStatuses, DIAG_CH_SEND_SUCCESS } = require('@elastic/opamp-client-node');
      const received: { configHash: Uint8Array; config: { configMap: Record<string, { body: Uint8Array }> } }[] = [];
      const exchanges: unknown[] = [];
      const onExchange = (m: unknown) => exchanges.push(m);
      diagnostics.subscribe(DIAG_CH_SEND_SUCCESS, onExchange);
      const client = createOpAMPClient({
        endpoint: `http://127.0.0.1:${server.opampPort}/v1/opamp`,
        heartbeatIntervalSeconds: 0.3,
        diagEnabled: true,
        capabilities: AgentCapabilities.AgentCapabilities_AcceptsRemoteConfig | AgentCapabilities.AgentCapabilities_ReportsRemoteConfig,
        onMessage: ({ remoteConfig }: { remoteConfig?: (typeof received)[number] }) => {
          if (!remoteConfig) return;
          received.push(remoteConfig);
          client.setRemoteConfigStatus({ status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED, lastRemoteConfigHash: remoteConfig.configHash });
        },
      });
      client.setAgentDescription({ identifyingAttributes: { 'service.name': 'checkout' } });
      client.start();
      try {
        const uid = Buffer.from(client.getInstanceUid() as Uint8Array)
          .toString('hex')
          .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
        await eventually(
          async () => received.length,
          (n) => n >= 1,
          10_000,
        );
        expect(Buffer.from(received[0].config.configMap[''].body).toString()).toContain('otlp');
        const applied = await eventually(
          () => getAgent(server, uid),
          (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED',
        );
        expect(applied.body.status.remoteConfigStatus.lastRemoteConfigHash).toBe(Buffer.from(received[0].configHash).toString('hex'));
        // Several more polls: still exactly one delivery.
        const seen = exchanges.length;
        await eventually(
          async () => exchanges.length,
          (n) => n >= seen + 5,
          10_000,
        );
        expect(received).toHaveLength(1);
      } finally {
        await client.shutdown();
        diagnostics.unsubscribe(DIAG_CH_SEND_SUCCESS, onExchange);
      }
    }),
  );
});

/**
 * Two replicas on one database, without an event bus between them: a label change made through
 * one reaches an agent held by the other at that replica's periodic reconcile.
 */
describe('two replicas', () => {
  let a: TestServer;
  let b: TestServer;
  let agent: GoAgent | undefined;

  beforeAll(async () => {
    goAgentBinary();
    const uri = testDatabaseUri();
    a = await startTestServer({ REPLICA_ID: 'replica-a', OPAMP_RECONCILE_INTERVAL_SECONDS: '1', OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' }, uri);
    b = await startTestServer({ REPLICA_ID: 'replica-b' }, uri);
  }, 600_000);
  afterAll(async () => {
    await agent?.stop();
    await a?.close();
    await b?.close();
  });

  it('labels set through replica B select an agent held by replica A, which then gets the group config', async () => {
    const api = restClient(b);
    expect(
      (
        await api('POST', '/remoteconfigs', {
          metadata: { name: 'canary-config' },
          spec: { contentType: 'application/yaml', body: 'exporters:\n  debug: {}\n' },
        })
      ).status,
    ).toBe(201);
    const group = await api('POST', '/agentgroups', {
      metadata: { name: 'canary' },
      spec: { selector: 'ring=canary', configs: [{ fileName: '', remoteConfig: 'canary-config' }] },
    });
    expect(group.status).toBe(201);
    agent = GoAgent.start(`ws://127.0.0.1:${a.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'payments']);
    const uid = (await agent.event('started')).uid as string;
    await eventually(
      () => getAgent(a, uid),
      (r) => r.status === 200 && r.body.status.connected === true,
    );
    expect(agent.count((e) => e.event === 'remote_config')).toBe(0);

    expect((await api('PATCH', `/agents/${uid}`, { metadata: { labels: { ring: 'canary' } } })).status).toBe(200);
    const rc = (await agent.event('remote_config', 15_000)) as unknown as { config: Record<string, { body: string }> };
    expect(rc.config['']).toMatchObject({ body: 'exporters:\n  debug: {}\n' });
    // Both replicas select it by the new label.
    for (const s of [a, b]) {
      const list = await restClient(s)('GET', '/agents?selector=ring%3Dcanary');
      expect(list.body.items.map((i: { metadata: { uid?: string; name?: string } }) => i.metadata.uid ?? i.metadata.name)).toEqual([uid]);
    }
  });
});
