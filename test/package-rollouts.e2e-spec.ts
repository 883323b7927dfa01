import { randomBytes } from 'node:crypto';
import { eventually } from './support/agents-api';
import { GoAgent, GoAgentEvent, goAgentBinary } from './support/go-agent';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { PACKAGE_CAPS, sha256Hex as sha, startFileHost, uploadPackageFile } from './support/package-fixtures';
import { Json, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Rollouts of packages with three real opamp-go agents (issues 19 and 21): a group's agents move
 * from otelcol 1.0.0 to 1.1.0 in stages, each stage counting INSTALLED reports; a version whose
 * file does not match its hash fails on the canary, the rollout rolls back on its own, the canary
 * is offered its previous version again (forced) and no other agent is ever offered the broken
 * one; undo after success puts the group and its agents back on the old version (an audited,
 * forced downgrade). PackagesAvailable messages are counted on the wire: nothing is offered twice.
 */
jest.setTimeout(180_000);

describe('rollouts of packages with real opamp-go agents', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let fileHost: Awaited<ReturnType<typeof startFileHost>>;
  const agents: GoAgent[] = [];
  const uids: string[] = [];
  const v1 = randomBytes(100_000);
  const v2 = randomBytes(120_000);

  const upload = async (id: string, file: string, body: Buffer) => expect(await uploadPackageFile(server, id, file, body)).toBe(200);

  const rollout = (name: string, spec: Json) =>
    api('POST', '/rollouts', { kind: 'Rollout', apiVersion: 'v1', metadata: { name }, spec: { target: { group: 'edge' }, ...spec } });
  const phaseOf = (name: string, phase: string) =>
    eventually(
      () => api('GET', `/rollouts/${name}`),
      (r) => r.body.status?.phase === phase,
      90_000,
    );
  /** The versions of otelcol an agent was offered, in order, as its PackagesAvailable messages said. */
  const offered = (a: GoAgent) =>
    (a.events.filter((e) => e.event === 'packages_available') as (GoAgentEvent & { packages: Json })[]).map((e) => e.packages.otelcol?.version as string);
  const installedOn = async (version: string) => {
    const list = await api('GET', '/agents?limit=100');
    return (list.body.items as Json[]).filter((a) =>
      (a.status?.packages?.installed ?? []).some((p: Json) => p.name === 'otelcol' && p.version === version && p.status === 'INSTALLED'),
    ).length;
  };
  const ctl = (...args: string[]) => runOpampctl(args, { env: { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: '/tmp' } });

  beforeAll(async () => {
    buildOpampctl();
    goAgentBinary();
    // 1.2.0's file is hosted elsewhere and the host serves other bytes than its catalogued hash.
    fileHost = await startFileHost(Buffer.from('not the catalogued bytes\n'));
    const { port: hostPort, caFile } = fileHost;

    server = await startTestServer({ OPAMP_AGENT_AUTH: 'token', OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
    api = restClient(server);
    const token = (await api('POST', '/enrollment-tokens', { kind: 'EnrollmentToken', apiVersion: 'v1', spec: { description: 'edge' } })).body.token as string;
    await upload('otelcol@1.0.0', 'otelcol.bin', v1);
    await upload('otelcol@1.1.0', 'otelcol.bin', v2);
    const broken = await api('POST', '/packages', {
      kind: 'AgentPackage',
      apiVersion: 'v1',
      metadata: { name: 'otelcol@1.2.0' },
      spec: {
        type: 'top-level',
        files: [{ name: 'otelcol.bin', url: `https://127.0.0.1:${hostPort}/otelcol.bin`, sha256: sha(Buffer.from('the real 1.2.0')) }],
      },
    });
    expect(broken.status).toBe(201);
    const group = await api('POST', '/agentgroups', {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'edge' },
      spec: { selector: 'tier=edge', packages: [{ name: 'otelcol', version: '1.0.0' }] },
    });
    expect(group.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const a = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, [
        '--heartbeat',
        '1',
        '--capabilities',
        PACKAGE_CAPS,
        '--attr',
        'tier=edge',
        '--header',
        `Authorization: Bearer ${token}`,
        '--download-ca',
        caFile,
      ]);
      agents.push(a);
      uids.push((await a.event('started')).uid as string);
    }
    await eventually(
      () => installedOn('1.0.0'),
      (n) => n === 3,
      60_000,
    );
    expect(await installedOn('1.0.0')).toBe(3);
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
    await fileHost?.close();
  });

  it('refuses a rollout of a version the catalogue lacks, or of nothing at all, naming the field, and stores nothing', async () => {
    const unknown = await rollout('nope', { packages: [{ name: 'otelcol', version: '9.9.9' }], stages: ['1', '100%'] });
    expect(unknown.status).toBe(400);
    expect(unknown.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.stringify(unknown.body)).toMatch(/spec\.packages\[0\].*no version 9\.9\.9 in the catalogue/);
    const nothing = await rollout('nope', { stages: ['1'] });
    expect(nothing.status).toBe(400);
    expect((nothing.body.errors as Json[]).map((e) => e.field)).toContain('spec.configs');
    expect((await rollout('nope', { packages: [{ name: 'otelcol', version: '1/1' }], stages: ['1'] })).status).toBe(400);
    expect((await api('GET', '/rollouts/nope')).status).toBe(404);
  });

  it('moves the group from 1.0.0 to 1.1.0 in stages 1 → 100%, counting installs; the group then names 1.1.0 and nothing is offered twice', async () => {
    expect((await rollout('up', { packages: [{ name: 'otelcol', version: '1.1.0' }], stages: ['1', '100%'] })).status).toBe(201);
    const done = await phaseOf('up', 'Succeeded');
    expect(done.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
    expect(done.body.status).toMatchObject({
      reached: 3,
      targetAgents: 3,
      stageCount: 2,
      packages: [{ name: 'otelcol', version: '1.1.0' }],
      previousPackages: [{ name: 'otelcol', version: '1.0.0' }],
    });
    expect(done.body.status.stages.map((s: Json) => [s.reached, s.applied, s.packages])).toEqual([
      [1, 1, { installed: 1, installing: 0, failed: 0, pending: 0 }],
      [3, 3, { installed: 3, installing: 0, failed: 0, pending: 0 }],
    ]);
    expect(done.body.status.conditions[done.body.status.conditions.length - 1].message).toMatch(/3 agents run the new packages/);
    expect(await installedOn('1.1.0')).toBe(3);
    expect((await api('GET', '/agentgroups/edge')).body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
    // Each agent was offered 1.0.0 (its group) and then 1.1.0 (the rollout), once each; the overlay
    // ending and the group naming 1.1.0 give the same offer, so nothing is sent again.
    await eventually(
      () => agents[0].stats(),
      (s) => s.received >= 3,
    );
    for (const a of agents) expect(offered(a)).toEqual(['1.0.0', '1.1.0']);

    const status = await ctl('rollout', 'status', 'up');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('stage 2: 3/3 applied, 0 failed, 0 pending; packages 3 installed, 0 installing, 0 failed, 0 pending');
  });

  it('a version whose file fails its hash fails on the canary and is rolled back: the canary keeps and counts as running 1.1.0, no other agent ever sees 1.2.0', async () => {
    expect((await rollout('broken', { packages: [{ name: 'otelcol', version: '1.2.0' }], stages: ['1', '100%'] })).status).toBe(201);
    const rolled = await phaseOf('broken', 'RolledBack');
    expect(rolled.body.status.conditions[rolled.body.status.conditions.length - 1].reason).toBe('GateTripped');
    expect(rolled.body.status.reached).toBe(1);
    expect(rolled.body.status.stages[0].packages).toMatchObject({ failed: 1, installed: 0 });
    expect(rolled.body.status.failedAgents).toEqual([{ uid: expect.any(String), error: expect.stringMatching(/^otelcol 1\.2\.0: .*hash/i) }]);
    const canaryUid = rolled.body.status.failedAgents[0].uid as string;
    const canary = agents[uids.indexOf(canaryUid)];
    // The rollback is due to give the canary the group's 1.1.0 again, which it still runs: it has
    // exactly that offer, so nothing is sent, and it counts as running it.
    await eventually(
      async () => (await api('GET', `/agents/${canaryUid}`)).body.status.packages,
      (p) => p.offer?.state === 'installed',
      30_000,
    );
    const onCanary = (await api('GET', `/agents/${canaryUid}`)).body.status.packages;
    expect(onCanary.offer).toMatchObject({ state: 'installed', origin: 'group/edge' });
    expect(onCanary.installed).toEqual([expect.objectContaining({ name: 'otelcol', version: '1.1.0', status: 'INSTALLED' })]);
    expect(offered(canary)).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    for (const a of agents) if (a !== canary) expect(offered(a)).toEqual(['1.0.0', '1.1.0']);
    await eventually(
      () => installedOn('1.1.0'),
      (n) => n === 3,
      30_000,
    );
    expect(await installedOn('1.1.0')).toBe(3);
    // The canary kept 1.1.0 through its failed install: it counts as current, not failed.
    const group = await api('GET', '/agentgroups/edge');
    expect(group.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
    expect(group.body.status.packages[0]).toMatchObject({ current: 3, failed: 0 });
    const audit = await api('GET', '/audit?kind=rollouts&name=broken&action=package-rollback');
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].summary).toMatch(/1 agents reached are offered otelcol 1\.1\.0 again instead of otelcol 1\.2\.0, forced/);
    // Deleting the rolled-back rollout ends its forced offer: the canary's group gives the same 1.1.0, nothing is sent.
    expect((await api('DELETE', '/rollouts/broken')).status).toBe(200);
    const received = (await canary.stats()).received;
    await eventually(
      () => canary.stats(),
      (s) => s.received >= received + 3,
      15_000,
    );
    expect(offered(canary)).toHaveLength(3);
  });

  it('undo after success puts the group back on 1.0.0 and its agents are offered 1.0.0 forced (an audited downgrade)', async () => {
    const undone = await api('POST', '/rollouts/up/undo');
    expect(undone.status).toBe(200);
    expect(undone.body.status.phase).toBe('RolledBack');
    expect(undone.body.status.conditions[undone.body.status.conditions.length - 1].message).toMatch(
      /previous packages \(packages forced: an explicit downgrade\)/,
    );
    expect((await api('GET', '/agentgroups/edge')).body.spec.packages).toEqual([{ name: 'otelcol', version: '1.0.0' }]);
    await eventually(
      () => installedOn('1.0.0'),
      (n) => n === 3,
      60_000,
    );
    expect(await installedOn('1.0.0')).toBe(3);
    const audit = await api('GET', '/audit?kind=rollouts&name=up&action=package-rollback');
    expect(audit.body.items).toHaveLength(1);
    const downgrades = await api(`GET`, `/audit?kind=agents&name=${uids[0]}`);
    expect(JSON.stringify(downgrades.body)).toContain('otelcol 1.1.0 → 1.0.0');
  });

  it("a group's rollout policy: a change of its package versions goes out as a rollout, the agents keep theirs until it reaches them", async () => {
    // The undone rollout's forced 1.0.0 ends with it.
    expect((await api('DELETE', '/rollouts/up')).status).toBe(200);
    const current = await api('GET', '/agentgroups/edge');
    const put = (packages: Json[], resourceVersion: string) =>
      api('PUT', '/agentgroups/edge', {
        kind: 'AgentGroup',
        apiVersion: 'v1',
        metadata: { name: 'edge', resourceVersion },
        spec: { selector: 'tier=edge', packages, rolloutPolicy: { stages: ['1', { stage: '100%', approval: true }] } },
      });
    const changed = await put([{ name: 'otelcol', version: '1.1.0' }], current.body.metadata.resourceVersion);
    expect(changed.status).toBe(200);
    expect(changed.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
    expect(changed.body.status.deliveredPackages).toEqual([{ name: 'otelcol', version: '1.0.0' }]);
    const name = `edge-v${changed.body.metadata.resourceVersion}`;
    const paused = await eventually(
      () => api('GET', `/rollouts/${name}`),
      (r) => r.body.status?.phase === 'Paused',
      60_000,
    );
    expect(paused.body.metadata.labels).toEqual({ 'opamp-commander/rollout-policy-of': 'edge' });
    expect(paused.body.spec).toMatchObject({ configs: [], packages: [{ name: 'otelcol', version: '1.1.0' }] });
    expect(paused.body.status.conditions[paused.body.status.conditions.length - 1].reason).toBe('AwaitingApproval');
    // Stage 1 reached the canary only: one agent runs 1.1.0, the others keep 1.0.0.
    expect(await installedOn('1.1.0')).toBe(1);
    expect(await installedOn('1.0.0')).toBe(2);
    // Another change of packages while it holds is refused, naming it.
    const again = await put([{ name: 'otelcol', version: '1.0.0' }], changed.body.metadata.resourceVersion);
    expect(again.status).toBe(409);
    expect(again.body.detail).toContain(name);
    expect((await api('POST', `/rollouts/${name}/approve`)).status).toBe(200);
    await phaseOf(name, 'Succeeded');
    await eventually(
      () => installedOn('1.1.0'),
      (n) => n === 3,
      60_000,
    );
    expect(await installedOn('1.1.0')).toBe(3);
    const settled = await api('GET', '/agentgroups/edge');
    expect(settled.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
    expect(settled.body.status.deliveredPackages).toBeUndefined();
  });
});
