import { eventually } from './support/agents-api';
import { GoAgent, GoAgentEvent, goAgentBinary } from './support/go-agent';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { Json, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Rollouts of connection settings with three real opamp-go agents (issue 19): a group's agents
 * move to a new own-metrics destination in stages, each stage counting the ConnectionSettingsStatus
 * APPLIED the agents report; settings the canary refuses (FAILED) roll back on their own and the
 * canary gets the previous ones again, while no other agent is ever offered them; a new OpAMP
 * endpoint the canary follows and cannot reach (it disconnects) trips the `disconnected` gate, and
 * the previous settings reach it when it comes back; undo after success puts the group's settings
 * back; a group's rollout policy holds a change of its settings back and rolls it out.
 */
jest.setTimeout(180_000);

describe('rollouts of connection settings with real opamp-go agents', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let opampUrl: string;
  const agents: GoAgent[] = [];
  const uids: string[] = [];
  const metrics = (v: string) => `http://127.0.0.1:4318/${v}/metrics`;
  /** The group's settings: this server as the OpAMP endpoint, own metrics to `v`. */
  const settings = (v: string, opamp = opampUrl) => ({ opamp: { endpoint: opamp }, ownMetrics: { endpoint: metrics(v) } });

  const rollout = (name: string, spec: Json) =>
    api('POST', '/rollouts', { kind: 'Rollout', apiVersion: 'v1', metadata: { name }, spec: { target: { group: 'edge' }, ...spec } });
  const phaseOf = (name: string, phase: string) =>
    eventually(
      () => api('GET', `/rollouts/${name}`),
      (r) => r.body.status?.phase === phase,
      90_000,
    );
  /** The own-metrics endpoints an agent was offered, in order. */
  const ownMetricsOf = (a: GoAgent) =>
    (a.events.filter((e) => e.event === 'own_metrics') as (GoAgentEvent & { destinationEndpoint: string })[]).map((e) => e.destinationEndpoint);
  const opampOf = (a: GoAgent) =>
    (a.events.filter((e) => e.event === 'opamp_connection_settings') as (GoAgentEvent & { destinationEndpoint: string })[]).map((e) => e.destinationEndpoint);
  /** Agents whose last offer is the own-metrics endpoint `v` and that reported it APPLIED. */
  const appliedOn = async (v: string) => {
    let n = 0;
    for (let i = 0; i < agents.length; i++) {
      const s = (await api('GET', `/agents/${uids[i]}`)).body.status?.connectionSettingsStatus;
      if (ownMetricsOf(agents[i]).at(-1) === metrics(v) && s?.status === 'APPLIED' && s.current === true) n++;
    }
    return n;
  };
  const ctl = (...args: string[]) => runOpampctl(args, { env: { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: '/tmp' } });

  beforeAll(async () => {
    buildOpampctl();
    goAgentBinary();
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
    api = restClient(server);
    opampUrl = `ws://127.0.0.1:${server.opampPort}/v1/opamp`;
    const group = await api('POST', '/agentgroups', {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'edge' },
      spec: { selector: 'tier=edge', connectionSettings: settings('v1') },
    });
    expect(group.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const a = GoAgent.start(opampUrl, [
        '--heartbeat',
        '1',
        '--capabilities',
        'ReportsStatus,ReportsHeartbeat,AcceptsOpAMPConnectionSettings,ReportsOwnMetrics,ReportsConnectionSettingsStatus',
        '--attr',
        'tier=edge',
        '--follow-opamp-endpoint',
        '--fail-connection-settings-containing',
        'broken',
      ]);
      agents.push(a);
      uids.push((await a.event('started')).uid as string);
    }
    await eventually(
      () => appliedOn('v1'),
      (n) => n === 3,
      60_000,
    );
    expect(await appliedOn('v1')).toBe(3);
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
  });

  it('refuses bad connection settings naming the field, and settings that name nothing, and stores nothing', async () => {
    const bad = await rollout('nope', { connectionSettings: { ownMetrics: { endpoint: 'not a url' }, heartbeatIntervalSeconds: 0 }, stages: ['1'] });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    const fields = JSON.stringify(bad.body);
    expect(fields).toContain('spec.connectionSettings.ownMetrics.endpoint');
    expect(fields).toContain('spec.connectionSettings.heartbeatIntervalSeconds');
    const empty = await rollout('nope', { connectionSettings: {}, stages: ['1'] });
    expect(empty.status).toBe(400);
    expect((empty.body.errors as Json[]).map((e) => e.field)).toContain('spec.connectionSettings');
    expect((await rollout('nope', { connectionSettings: { bogus: 1 }, stages: ['1'] })).status).toBe(400);
    expect((await api('GET', '/rollouts/nope')).status).toBe(404);
  });

  it('moves the group to a new own-metrics destination in stages 1 → 100%, counting APPLIED; the group then holds the new settings', async () => {
    expect((await rollout('metrics', { connectionSettings: settings('v2'), stages: ['1', '100%'] })).status).toBe(201);
    const done = await phaseOf('metrics', 'Succeeded');
    expect(done.body.spec.connectionSettings).toEqual(settings('v2'));
    expect(done.body.status).toMatchObject({ reached: 3, targetAgents: 3, stageCount: 2, previousConnectionSettings: settings('v1') });
    expect(done.body.status.stages.map((s: Json) => [s.reached, s.applied, s.connectionSettings])).toEqual([
      [1, 1, { applied: 1, applying: 0, failed: 0, pending: 0 }],
      [3, 3, { applied: 3, applying: 0, failed: 0, pending: 0 }],
    ]);
    expect(done.body.status.conditions.at(-1).message).toMatch(/3 agents run the new connection settings/);
    expect((await api('GET', '/agentgroups/edge')).body.spec.connectionSettings).toEqual(settings('v2'));
    expect(await appliedOn('v2')).toBe(3);
    // Each agent was offered v1 (its group) then v2 (the rollout), once each: the overlay ending
    // and the group holding v2 make the same offer, so nothing is sent again.
    await eventually(
      () => agents[0].stats(),
      (s) => s.received >= 3,
    );
    for (const a of agents) expect(ownMetricsOf(a)).toEqual([metrics('v1'), metrics('v2')]);
    const status = await ctl('rollout', 'status', 'metrics');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('stage 2: 3/3 applied, 0 failed, 0 pending; connection settings 3 applied, 0 applying, 0 failed, 0 pending');
  });

  it('settings the canary reports FAILED for roll back: it gets the previous ones again, no other agent is ever offered them', async () => {
    expect((await rollout('broken', { connectionSettings: settings('broken'), stages: ['1', '100%'] })).status).toBe(201);
    const rolled = await phaseOf('broken', 'RolledBack');
    expect(rolled.body.status.conditions.at(-1).reason).toBe('GateTripped');
    expect(rolled.body.status.reached).toBe(1);
    expect(rolled.body.status.stages[0].connectionSettings).toEqual({ applied: 0, applying: 0, failed: 1, pending: 0 });
    expect(rolled.body.status.failedAgents).toEqual([
      { uid: expect.any(String), error: expect.stringMatching(/^connection settings: cannot use endpoint .*broken/) },
    ]);
    const canary = agents[uids.indexOf(rolled.body.status.failedAgents[0].uid as string)];
    // The rollback gives the canary the group's v2 again through the same hash-gated delivery.
    await eventually(
      async () => ownMetricsOf(canary),
      (m) => m.length === 4,
      30_000,
    );
    expect(ownMetricsOf(canary)).toEqual([metrics('v1'), metrics('v2'), metrics('broken'), metrics('v2')]);
    for (const a of agents) if (a !== canary) expect(ownMetricsOf(a)).toEqual([metrics('v1'), metrics('v2')]);
    await eventually(
      () => appliedOn('v2'),
      (n) => n === 3,
      30_000,
    );
    expect(await appliedOn('v2')).toBe(3);
    expect((await api('GET', '/agentgroups/edge')).body.spec.connectionSettings).toEqual(settings('v2'));
  });

  it('a new OpAMP endpoint the canary follows and cannot reach trips the disconnected gate; the previous settings reach it when it comes back', async () => {
    const nowhere = 'ws://127.0.0.1:1/v1/opamp';
    const created = await rollout('moved', {
      connectionSettings: settings('v2', nowhere),
      stages: [{ stage: '1', bakeSeconds: 30 }, '100%'],
      gates: [
        { metric: 'applyFailed', maxRatio: 0 },
        { metric: 'disconnected', maxRatio: 0 },
      ],
      applyTimeoutSeconds: 15,
    });
    expect(created.status).toBe(201);
    const rolled = await phaseOf('moved', 'RolledBack');
    expect(rolled.body.status.conditions.at(-1).reason).toBe('GateTripped');
    expect(rolled.body.status.reached).toBe(1);
    expect(rolled.body.status.failedAgents).toEqual([{ uid: expect.any(String), error: expect.stringMatching(/disconnected/) }]);
    const canaryUid = rolled.body.status.failedAgents[0].uid as string;
    const canary = agents[uids.indexOf(canaryUid)];
    expect((await canary.event('move')).to).toBe(nowhere);
    for (const a of agents) if (a !== canary) expect(opampOf(a)).not.toContain(nowhere);
    // The agent gives up on the endpoint it cannot reach and comes back: it is offered the group's settings again.
    const seen = canary.events.length;
    canary.command({ cmd: 'reconnect' });
    const back = await canary.waitFor((e) => e.event === 'opamp_connection_settings', 30_000, seen);
    expect(back.destinationEndpoint).toBe(opampUrl);
    const status = await eventually(
      async () => (await api('GET', `/agents/${canaryUid}`)).body.status,
      (s) => s.connected === true && s.connectionSettingsStatus?.current === true && s.connectionSettingsStatus.status === 'APPLIED',
      30_000,
    );
    expect(status.connected).toBe(true);
    expect(status.connectionSettingsStatus).toMatchObject({ status: 'APPLIED', current: true });
    expect(status.connectionSettingsOffer).toMatchObject({ origin: 'group/edge' });
    expect(status.connectionSettingsOffer.rollout).toBeUndefined();
    for (const a of agents) if (a !== canary) expect(opampOf(a)).not.toContain(nowhere);
  });

  it('undo after success puts the group back on its previous settings and its agents get them', async () => {
    const undone = await api('POST', '/rollouts/metrics/undo');
    expect(undone.status).toBe(200);
    expect(undone.body.status.phase).toBe('RolledBack');
    expect(undone.body.status.conditions.at(-1).message).toMatch(/previous connection settings/);
    expect((await api('GET', '/agentgroups/edge')).body.spec.connectionSettings).toEqual(settings('v1'));
    await eventually(
      () => appliedOn('v1'),
      (n) => n === 3,
      30_000,
    );
    expect(await appliedOn('v1')).toBe(3);
  });

  it("a group's rollout policy: a change of its connection settings goes out as a rollout of only them; another change while it holds is refused", async () => {
    const current = await api('GET', '/agentgroups/edge');
    const put = (connectionSettings: Json, resourceVersion: string) =>
      api('PUT', '/agentgroups/edge', {
        kind: 'AgentGroup',
        apiVersion: 'v1',
        metadata: { name: 'edge', resourceVersion },
        spec: { selector: 'tier=edge', connectionSettings, rolloutPolicy: { stages: ['1', { stage: '100%', approval: true }] } },
      });
    const changed = await put(settings('v3'), current.body.metadata.resourceVersion);
    expect(changed.status).toBe(200);
    expect(changed.body.spec.connectionSettings).toEqual(settings('v3'));
    expect(changed.body.status.deliveredConnectionSettings).toEqual(settings('v1'));
    const name = `edge-v${changed.body.metadata.resourceVersion}`;
    const paused = await eventually(
      () => api('GET', `/rollouts/${name}`),
      (r) => r.body.status?.phase === 'Paused',
      60_000,
    );
    expect(paused.body.metadata.labels).toEqual({ 'opamp-commander/rollout-policy-of': 'edge' });
    expect(paused.body.spec).toMatchObject({ configs: [], connectionSettings: settings('v3') });
    expect(paused.body.spec.packages).toBeUndefined();
    expect(paused.body.status.conditions.at(-1).reason).toBe('AwaitingApproval');
    // Stage 1 reached the canary only: one agent has v3, the others keep v1.
    expect(await appliedOn('v3')).toBe(1);
    expect(await appliedOn('v1')).toBe(2);
    const again = await put(settings('v4'), changed.body.metadata.resourceVersion);
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain(name);
    expect((await api('POST', `/rollouts/${name}/approve`)).status).toBe(200);
    await phaseOf(name, 'Succeeded');
    await eventually(
      () => appliedOn('v3'),
      (n) => n === 3,
      60_000,
    );
    expect(await appliedOn('v3')).toBe(3);
    const settled = await api('GET', '/agentgroups/edge');
    expect(settled.body.spec.connectionSettings).toEqual(settings('v3'));
    expect(settled.body.status.deliveredConnectionSettings).toBeUndefined();
  });
});
