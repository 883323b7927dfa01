import { freePort } from '../src/common/free-port';
import { eventually } from './support/agents-api';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { Json, restClient } from './support/rest-client';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';

/**
 * Staged rollouts end to end, with six real opamp-go agents in one group: stages reach the
 * agents in order, a config the agents reject stops at the canary and is rolled back, an
 * approval stage waits, pause holds, and a rollout goes on after the server restarts on the
 * same database. The agents reject any config containing BROKEN (--fail-configs-containing).
 */
jest.setTimeout(180_000);

describe('rollouts with real agents', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let uri: string;
  let ports: Record<string, string>;
  const agents: GoAgent[] = [];
  const uids: string[] = [];
  const ENV = { OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' };
  const bodies: Record<string, string> = {
    'web-v1': 'receivers:\n  otlp: {}\n',
    'web-v2': 'receivers:\n  otlp: {}\n# v2\n',
    'web-broken': 'receivers:\n  otlp: {}\n# BROKEN\n',
    // A second rejected config: the server never pushes an agent a hash it reported FAILED, so a
    // scenario that needs a fresh rejection cannot reuse web-broken on the same agents.
    'web-broken-2': 'receivers:\n  otlp: {}\n# BROKEN, again\n',
    'web-v3': 'receivers:\n  otlp: {}\n# v3\n',
    'web-v4': 'receivers:\n  otlp: {}\n# v4\n',
    'web-v5': 'receivers:\n  otlp: {}\n# v5\n',
    'web-v6': 'receivers:\n  otlp: {}\n# v6\n',
    'web-v7': 'receivers:\n  otlp: {}\n# v7\n',
  };

  const configEvents = (a: GoAgent) =>
    a.events.filter((e) => e.event === 'remote_config') as unknown as { hash: string; config: Record<string, { body: string }> }[];
  const received = (a: GoAgent, body: string) => configEvents(a).filter((e) => e.config['']?.body === body);
  const rollout = (name: string, config: string, stages: unknown, extra: Json = {}) =>
    api('POST', '/rollouts', {
      kind: 'Rollout',
      apiVersion: 'v1',
      metadata: { name },
      spec: { target: { group: 'web' }, configs: [{ fileName: '', remoteConfig: config }], stages, ...extra },
    });
  const phaseOf = (name: string, phase: string, timeoutMs = 60_000) =>
    eventually(
      () => api('GET', `/rollouts/${name}`),
      (r) => r.body.status?.phase === phase,
      timeoutMs,
    );
  const lastReason = (r: Json) => r.body.status.conditions[r.body.status.conditions.length - 1]?.reason;

  const ctl = (...args: string[]) => runOpampctl(args, { env: { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: '/tmp' } });

  beforeAll(async () => {
    buildOpampctl();
    goAgentBinary();
    uri = testDatabaseUri();
    ports = { API_PORT: String(await freePort()), OPAMP_PORT: String(await freePort()), GRPC_PORT: String(await freePort()) };
    server = await startTestServer({ ...ENV, ...ports }, uri);
    api = restClient(server);
    for (const [name, body] of Object.entries(bodies)) {
      expect((await api('POST', '/remoteconfigs', { metadata: { name }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    }
    const group = await api('POST', '/agentgroups', {
      metadata: { name: 'web' },
      spec: { selector: 'service.name=web', configs: [{ fileName: '', remoteConfig: 'web-v1' }] },
    });
    expect(group.status).toBe(201);
    for (let i = 0; i < 6; i++) {
      const a = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, [
        '--heartbeat',
        '1',
        '--service-name',
        'web',
        '--fail-configs-containing',
        'BROKEN',
      ]);
      agents.push(a);
      uids.push((await a.event('started')).uid as string);
    }
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status?.config?.applied === 6,
      60_000,
    );
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
  });

  it('refuses a rollout naming what does not exist, field by field', async () => {
    const bad = await api('POST', '/rollouts', {
      metadata: { name: 'bad' },
      spec: { target: { group: 'nope' }, configs: [{ fileName: '', remoteConfig: 'missing' }], stages: ['1', '150%', { stage: '2', colour: 'red' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    const fields = (bad.body.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.stages[1]', 'spec.stages[2].colour']));
    const bad2 = await api('POST', '/rollouts', {
      metadata: { name: 'bad' },
      spec: { target: { group: 'nope' }, configs: [{ fileName: '', remoteConfig: 'missing' }], stages: ['1'] },
    });
    expect((bad2.body.errors as { field: string }[]).map((e) => e.field)).toEqual(
      expect.arrayContaining(['spec.target.group', 'spec.configs[0].remoteConfig']),
    );
  });

  it('a good config goes 1 → 50% → 100% and succeeds; the group then says it', async () => {
    const created = await rollout('good', 'web-v2', ['1', '50%', '100%']);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'Rollout',
      metadata: { name: 'good' },
      spec: { stages: ['1', '50%', '100%'], applyTimeoutSeconds: 300, onGateTrip: 'rollback', gates: [{ metric: 'applyFailed', maxRatio: 0 }] },
      status: { phase: 'Pending' },
    });
    const done = await phaseOf('good', 'Succeeded');
    expect(done.body.status).toMatchObject({ phase: 'Succeeded', reached: 6, stageCount: 3, targetAgents: 6 });
    // 50%: at least 3 of 6, more when more uids hash below one half (the order is a hash of the uids, which are random here).
    const sizes = done.body.status.stages.map((s: Json) => s.reached);
    expect(sizes[0]).toBe(1);
    expect(sizes[1]).toBeGreaterThanOrEqual(3);
    expect(sizes[2]).toBe(6);
    expect(done.body.status.stages[2]).toMatchObject({ applied: 6, failed: 0 });
    const reasons = done.body.status.conditions.map((c: Json) => c.reason);
    expect(reasons).toEqual(['Created', 'Started', 'StageStarted', 'StagePassed', 'StageStarted', 'StagePassed', 'StageStarted', 'AllStagesPassed']);
    for (const a of agents) expect(received(a, bodies['web-v2'])).toHaveLength(1);
    const group = await api('GET', '/agentgroups/web');
    expect(group.body.spec.configs).toEqual([{ fileName: '', remoteConfig: 'web-v2', revision: 1 }]);
    // The overlay ended and the group gives the same map: nothing is sent again.
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status.config.applied === 6,
    );
    for (const a of agents) expect(received(a, bodies['web-v2'])).toHaveLength(1);
    const audit = await api('GET', '/audit?limit=100');
    expect(JSON.stringify(audit.body.items)).toContain('phase/Succeeded');
  });

  it('a config the agents reject fails on the canary and is rolled back; no other agent ever gets it', async () => {
    expect((await rollout('broken', 'web-broken', ['1', '100%'])).status).toBe(201);
    const rolled = await phaseOf('broken', 'RolledBack');
    expect(rolled.body.status.reached).toBe(1);
    expect(lastReason(rolled)).toBe('GateTripped');
    expect(rolled.body.status.failedAgents).toHaveLength(1);
    expect(rolled.body.status.failedAgents[0].error).toMatch(/BROKEN/);
    const canaryUid = rolled.body.status.failedAgents[0].uid as string;
    const canary = agents[uids.indexOf(canaryUid)];
    // The canary gets the group's config (v2) back through hash-gated delivery.
    await canary.waitFor(
      (e) =>
        e.event === 'remote_config' &&
        (e.config as Json)['']?.body === bodies['web-v2'] &&
        configEvents(canary).some((x) => x.config['']?.body === bodies['web-broken']),
      20_000,
    );
    expect(received(canary, bodies['web-broken'])).toHaveLength(1);
    for (const a of agents) if (a !== canary) expect(received(a, bodies['web-broken'])).toHaveLength(0);
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status.config.applied === 6,
      20_000,
    );
    expect((await api('GET', '/agentgroups/web')).body.spec.configs[0].remoteConfig).toBe('web-v2');
    // opampctl: wait exits 1 on RolledBack, status names the gate and the failed agent, get shows the row.
    const wait = await ctl('wait', 'rollout', 'broken', '--for', 'succeeded', '--timeout', '30s');
    expect(wait.code).toBe(1);
    expect(wait.stderr).toMatch(/RolledBack \(GateTripped\)/);
    const status = await ctl('rollout', 'status', 'broken');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('TRIP applyFailed 1/1 = 100%, max 0%');
    expect(status.stdout).toContain(`${canaryUid}: `);
    const table = await ctl('get', 'rollouts');
    expect(table.stdout).toMatch(/^NAME\s+GROUP\s+PHASE\s+STAGE\s+REACHED\s+REASON\s+AGE\n/);
    expect(table.stdout).toMatch(/broken\s+web\s+RolledBack\s+1\/2\s+1\/6\s+GateTripped/);

    // Retry: the canary forgets that it failed this config, gets it again (the same canary: a
    // stable order), fails again and the rollout rolls back again; no other agent ever gets it.
    const failedOnCanary = async () => ((await api('GET', `/agents/${canaryUid}`)).body.status.remoteConfig?.failedHashes ?? []) as string[];
    const remembered = await failedOnCanary();
    expect(remembered).toHaveLength(1);
    expect((await api('POST', '/rollouts/broken/approve')).status).toBe(409); // not active
    const retried = await ctl('rollout', 'retry', 'broken');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/rollout\/broken Progressing: retried by admin from stage 1/);
    expect(await failedOnCanary()).toEqual([]);
    const again = await phaseOf('broken', 'RolledBack');
    expect(again.body.status.failedAgents.map((f: Json) => f.uid)).toEqual([canaryUid]);
    await eventually(
      async () => received(canary, bodies['web-broken']).length,
      (n) => n >= 2,
      10_000,
    );
    expect(received(canary, bodies['web-broken'])).toHaveLength(2);
    for (const a of agents) if (a !== canary) expect(received(a, bodies['web-broken'])).toHaveLength(0);
    expect(await failedOnCanary()).toEqual(remembered);
    const audit = await api('GET', '/audit?kind=rollouts&name=broken&action=retry');
    expect(audit.body.items).toHaveLength(1);

    expect((await ctl('delete', 'rollout', 'broken')).code).toBe(0);
    expect((await api('GET', '/rollouts/broken')).status).toBe(404);
  });

  it('an approval stage waits until approved; pause holds a rollout and resume lets it go on', async () => {
    expect((await rollout('approved', 'web-v3', ['1', { stage: '100%', approval: true }])).status).toBe(201);
    const waiting = await eventually(
      () => api('GET', '/rollouts/approved'),
      (r) => r.body.status?.phase === 'Paused' && lastReason(r) === 'AwaitingApproval',
      60_000,
    );
    expect(waiting.body.status).toMatchObject({ stage: 1, reached: 1 });
    expect(agents.filter((a) => received(a, bodies['web-v3']).length > 0)).toHaveLength(1);
    // A second rollout of the same group is refused while this one runs.
    expect((await rollout('second', 'web-v4', ['100%'])).status).toBe(409);
    // Deleting a rollout in progress is refused too.
    expect((await api('DELETE', '/rollouts/approved')).status).toBe(409);
    const approved = await ctl('rollout', 'approve', 'approved');
    expect(approved.code).toBe(0);
    const waited = await ctl('wait', 'rollout', 'approved', '--timeout', '60s');
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain('rollout/approved condition met: Succeeded (AllStagesPassed)');
    const done = await phaseOf('approved', 'Succeeded');
    expect(done.body.status.reached).toBe(6);
    for (const a of agents) expect(received(a, bodies['web-v3'])).toHaveLength(1);

    // With every gate: the agents' effective config (reported back) hashes to what they were sent.
    const gates = ['applyFailed', 'disconnected', 'unhealthy', 'effectiveMismatch'].map((metric) => ({ metric, maxRatio: 0 }));
    expect((await rollout('paused', 'web-v4', ['1', '100%'], { gates })).status).toBe(201);
    const paused = await api('POST', '/rollouts/paused/pause');
    expect(paused.status).toBe(200);
    expect(paused.body.status.phase).toBe('Paused');
    // Several driver ticks (one a second) while paused: nothing moves.
    await new Promise((r) => setTimeout(r, 3000));
    const still = await api('GET', '/rollouts/paused');
    expect(still.body.status).toMatchObject({ phase: 'Paused', reached: 0 });
    for (const a of agents) expect(received(a, bodies['web-v4'])).toHaveLength(0);
    expect((await api('POST', '/rollouts/paused/pause')).status).toBe(409);
    expect((await api('POST', '/rollouts/paused/resume')).status).toBe(200);
    const ok = await phaseOf('paused', 'Succeeded');
    expect(ok.body.status.gates.find((g: Json) => g.metric === 'effectiveMismatch')).toMatchObject({ of: 6, agents: 0, passed: true });
    for (const a of agents) expect(received(a, bodies['web-v4'])).toHaveLength(1);
  });

  it('abort leaves the reached agents as they are until the rollout is deleted; undo after success restores the group', async () => {
    expect((await rollout('aborted', 'web-v6', ['1', { stage: '100%', approval: true }])).status).toBe(201);
    await eventually(
      () => api('GET', '/rollouts/aborted'),
      (r) => lastReason(r) === 'AwaitingApproval',
      60_000,
    );
    const [canary] = agents.filter((a) => received(a, bodies['web-v6']).length > 0);
    expect(agents.filter((a) => received(a, bodies['web-v6']).length > 0)).toHaveLength(1);
    const aborted = await api('POST', '/rollouts/aborted/abort');
    expect(aborted.body.status.phase).toBe('Aborted');
    expect((await api('POST', '/rollouts/aborted/resume')).status).toBe(409);
    // The canary keeps v6 (its desired config is still the rollout's); the group's config reaches it again on delete.
    const canaryUid = uids[agents.indexOf(canary)];
    expect((await api('GET', `/agents/${canaryUid}/desired-config`)).body).toMatchObject({ origin: { kind: 'group', group: 'web', rollout: 'aborted' } });
    const seen = canary.events.length;
    expect((await api('DELETE', '/rollouts/aborted')).status).toBe(200);
    await canary.waitFor((e) => e.event === 'remote_config' && (e.config as Json)['']?.body === bodies['web-v4'], 20_000, seen);
    for (const a of agents) expect(received(a, bodies['web-v6']).length).toBeLessThanOrEqual(1);

    // undo of the Succeeded rollout "paused" (v3 → v4): the group says v3 again and every agent gets it back.
    const before = agents.map((a) => received(a, bodies['web-v3']).length);
    const undone = await api('POST', '/rollouts/paused/undo');
    expect(undone.status).toBe(200);
    expect(undone.body.status.phase).toBe('RolledBack');
    expect((await api('GET', '/agentgroups/web')).body.spec.configs).toEqual([{ fileName: '', remoteConfig: 'web-v3', revision: 1 }]);
    for (const [i, a] of agents.entries()) {
      const n = await eventually(
        async () => received(a, bodies['web-v3']).length,
        (k) => k > before[i],
        20_000,
      );
      expect(n).toBe(before[i] + 1);
    }
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status.config.applied === 6,
      20_000,
    );
  });

  it('a rollout goes on after the server restarts on the same database, resending nothing', async () => {
    expect((await rollout('restarted', 'web-v5', ['1', { stage: '100%', approval: true }])).status).toBe(201);
    const waiting = await eventually(
      () => api('GET', '/rollouts/restarted'),
      (r) => r.body.status?.phase === 'Paused' && lastReason(r) === 'AwaitingApproval',
      60_000,
    );
    expect(waiting.body.status.reached).toBe(1);
    await server.close();
    server = await startTestServer({ ...ENV, ...ports }, uri);
    api = restClient(server);
    // Every agent reconnects to the new server (same ports) and reports what it runs.
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status?.connected === 6,
      60_000,
    );
    const after = await api('GET', '/rollouts/restarted');
    expect(after.body.status).toMatchObject({ phase: 'Paused', reached: 1, stage: 1 });
    expect((await api('POST', '/rollouts/restarted/approve')).status).toBe(200);
    await phaseOf('restarted', 'Succeeded');
    // Each agent got v5 once: the canary was not sent it again by the new server.
    for (const a of agents) expect(received(a, bodies['web-v5'])).toHaveLength(1);
    expect((await api('GET', '/agentgroups/web')).body.spec.configs[0].remoteConfig).toBe('web-v5');
    expect((await api('GET', '/agentgroups/web')).body.spec.configs[0].revision).toBe(1);
  });

  it("a group's rollout policy: a change of its configs goes out as a rollout, the agents keep their configs until it reaches them", async () => {
    const putGroup = async (spec: Json) => {
      const current = (await api('GET', '/agentgroups/web')).body;
      return api('PUT', '/agentgroups/web', {
        metadata: { name: 'web', resourceVersion: current.metadata.resourceVersion },
        spec: { selector: 'service.name=web', ...spec },
      });
    };
    const policyRollouts = async () =>
      ((await api('GET', '/rollouts?limit=100')).body.items as Json[]).filter((r) => r.metadata.labels?.['opamp-commander/rollout-policy-of'] === 'web');
    const rolloutPolicy = { stages: ['1', { stage: '100%', approval: true }] };
    const v5 = [{ fileName: '', remoteConfig: 'web-v5', revision: 1 }];

    // A policy refused field by field; a policy with unchanged configs starts nothing.
    const bad = await putGroup({ configs: v5, rolloutPolicy: { stages: ['150%'] } });
    expect(bad.status).toBe(400);
    expect((bad.body.errors as Json[]).map((e) => e.field)).toContain('spec.rolloutPolicy.stages[0]');
    const withPolicy = await putGroup({ configs: v5, rolloutPolicy });
    expect(withPolicy.status).toBe(200);
    expect(withPolicy.body.spec.rolloutPolicy).toEqual({
      stages: ['1', { stage: '100%', approval: true }],
      applyTimeoutSeconds: 300,
      gates: [{ metric: 'applyFailed', maxRatio: 0 }],
      onGateTrip: 'rollback',
    });
    expect(withPolicy.body.status.deliveredConfigs).toBeUndefined();
    expect(await policyRollouts()).toEqual([]);

    // A change of configs: the spec says v7 at once, the agents keep v5 until the rollout reaches them.
    const changed = await putGroup({ configs: [{ fileName: '', remoteConfig: 'web-v7' }], rolloutPolicy });
    expect(changed.status).toBe(200);
    expect(changed.body.spec.configs).toEqual([{ fileName: '', remoteConfig: 'web-v7' }]);
    expect(changed.body.status.deliveredConfigs).toEqual(v5);
    const [started] = await policyRollouts();
    expect(started.metadata.name).toBe(`web-v${changed.body.metadata.resourceVersion}`);
    const name = started.metadata.name as string;
    await eventually(
      () => api('GET', `/rollouts/${name}`),
      (r) => lastReason(r) === 'AwaitingApproval',
      60_000,
    );
    expect(
      await eventually(
        async () => agents.filter((a) => received(a, bodies['web-v7']).length > 0).length,
        (n) => n >= 1,
        10_000,
      ),
    ).toBe(1);
    // The same replace again (what an apply loop sends) changes nothing and starts nothing.
    const again = await putGroup({ configs: [{ fileName: '', remoteConfig: 'web-v7' }], rolloutPolicy });
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(changed.body.metadata.resourceVersion);
    expect(await policyRollouts()).toHaveLength(1);
    // Another change of configs while it runs is refused, naming it.
    const other = await putGroup({ configs: [{ fileName: '', remoteConfig: 'web-v6' }], rolloutPolicy });
    expect(other.status).toBe(409);
    expect(other.body.detail).toContain(`rollout "${name}"`);

    expect((await api('POST', `/rollouts/${name}/approve`)).status).toBe(200);
    await phaseOf(name, 'Succeeded');
    const settled = await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status.config.applied === 6 && r.body.status.deliveredConfigs === undefined,
      20_000,
    );
    // The group's configs stay as written (following the latest revision), not pinned by the rollout.
    expect(settled.body.spec.configs).toEqual([{ fileName: '', remoteConfig: 'web-v7' }]);
    for (const a of agents) expect(received(a, bodies['web-v7'])).toHaveLength(1);

    // A change the canary rejects is rolled back; the agents stay on v7, and sending the same
    // replace again does not start it again.
    const brokenBefore = agents.map((a) => received(a, bodies['web-broken-2']).length);
    const broken = await putGroup({ configs: [{ fileName: '', remoteConfig: 'web-broken-2' }], rolloutPolicy });
    expect(broken.status).toBe(200);
    const brokenRollout = `web-v${broken.body.metadata.resourceVersion}`;
    await phaseOf(brokenRollout, 'RolledBack');
    // The agents' events arrive through their stdout pipes, which may lag behind the server under load.
    const brokenReceived = () => agents.map((a, i) => received(a, bodies['web-broken-2']).length - brokenBefore[i]).reduce((x, y) => x + y, 0);
    expect(
      await eventually(
        async () => brokenReceived(),
        (n) => n >= 1,
        10_000,
      ),
    ).toBe(1);
    const held = (await api('GET', '/agentgroups/web')).body;
    // Held back with the revision pinned, so a new revision of web-v7 cannot slip in.
    expect(held.status.deliveredConfigs).toEqual([{ fileName: '', remoteConfig: 'web-v7', revision: 1 }]);
    expect((await putGroup({ configs: [{ fileName: '', remoteConfig: 'web-broken-2' }], rolloutPolicy })).status).toBe(200);
    expect((await policyRollouts()).map((r) => r.metadata.name).sort()).toEqual([brokenRollout, name].sort());
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status.config.applied === 6,
      20_000,
    );

    // Back to v7 (what the agents run): nothing to roll out, nothing held back.
    const back = await putGroup({ configs: [{ fileName: '', remoteConfig: 'web-v7' }], rolloutPolicy });
    expect(back.body.status.deliveredConfigs).toBeUndefined();
    // A new revision of the config the group follows goes out as a rollout too.
    const revisedBody = 'receivers:\n  otlp: {}\n# v7, revision 2\n';
    const head = (await api('GET', '/remoteconfigs/web-v7')).body;
    expect(
      (
        await api('PUT', '/remoteconfigs/web-v7', {
          metadata: { name: 'web-v7', resourceVersion: head.metadata.resourceVersion },
          spec: { contentType: 'application/yaml', body: revisedBody },
        })
      ).status,
    ).toBe(200);
    const held2 = (await api('GET', '/agentgroups/web')).body;
    expect(held2.status.deliveredConfigs).toEqual([{ fileName: '', remoteConfig: 'web-v7', revision: 1 }]);
    const byRevision = `web-v${held2.metadata.resourceVersion}`;
    await eventually(
      () => api('GET', `/rollouts/${byRevision}`),
      (r) => lastReason(r) === 'AwaitingApproval',
      60_000,
    );
    expect(agents.filter((a) => received(a, revisedBody).length > 0)).toHaveLength(1);
    expect((await api('POST', `/rollouts/${byRevision}/approve`)).status).toBe(200);
    await phaseOf(byRevision, 'Succeeded');
    await eventually(
      () => api('GET', '/agentgroups/web'),
      (r) => r.body.status.config.applied === 6 && r.body.status.deliveredConfigs === undefined,
      20_000,
    );
    for (const a of agents) expect(received(a, revisedBody)).toHaveLength(1);
  });
});
