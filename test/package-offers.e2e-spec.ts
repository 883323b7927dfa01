import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { eventually, getAgent } from './support/agents-api';
import { GoAgent, GoAgentEvent, goAgentBinary } from './support/go-agent';
import { PACKAGE_CAPS, sha256Hex as sha, startFileHost, uploadPackageFile } from './support/package-fixtures';
import { Json, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Package offers with the real opamp-go client (issue 21): packages uploaded to the catalogue,
 * named by a group, offered in PackagesAvailable, downloaded from this server's OpAMP port with
 * the agent's own enrollment token, installed and counted; forward-only upgrades, a downgrade
 * refused unless forced, a bad hash reported INSTALL_FAILED and never offered again, and no
 * offer repeated on heartbeats (the PackagesAvailable messages are counted on the wire).
 */

beforeAll(() => {
  goAgentBinary();
}, 600_000);

describe.each([
  ['websocket', 'ws'],
  ['http', 'http'],
])('package offers to a real opamp-go agent over %s', (_transport, scheme) => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let token: string;
  let fileHost: Awaited<ReturnType<typeof startFileHost>>;
  let fileHostPort: number;
  let caFile: string;
  const agents: GoAgent[] = [];
  const v1 = randomBytes(200_000);
  const v2 = randomBytes(300_000);
  const served = Buffer.from('the bytes the file host really serves\n');

  const upload = async (id: string, file: string, body: Buffer) => expect(await uploadPackageFile(server, id, file, body)).toBe(200);

  const group = async (packages: Json[], create = false) => {
    const current = create ? undefined : await api('GET', '/agentgroups/edge');
    const manifest = {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'edge', ...(current ? { resourceVersion: current.body.metadata.resourceVersion } : {}) },
      spec: { selector: 'tier=edge', packages },
    };
    return create ? api('POST', '/agentgroups', manifest) : api('PUT', '/agentgroups/edge', manifest);
  };
  const offers = (a: GoAgent) => a.count((e) => e.event === 'message' && e.hasPackagesAvailable === true);
  const statusOf = (body: Json, name: string) => (body.status.packages?.installed ?? []).find((p: Json) => p.name === name);

  beforeAll(async () => {
    // An external file host (https, as the catalogue requires) that serves other bytes than the catalogue says.
    fileHost = await startFileHost(served);
    ({ port: fileHostPort, caFile } = fileHost);

    server = await startTestServer({ OPAMP_AGENT_AUTH: 'token', OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
    api = restClient(server);
    const created = await api('POST', '/enrollment-tokens', { kind: 'EnrollmentToken', apiVersion: 'v1', spec: { description: 'edge agents' } });
    expect(created.status).toBe(201);
    token = created.body.token;
    await upload('otelcol@1.0.0', 'otelcol.bin', v1);
    await upload('otelcol@1.1.0', 'otelcol.bin', v2);
    const external = await api('POST', '/packages', {
      kind: 'AgentPackage',
      apiVersion: 'v1',
      metadata: { name: 'badpkg@1.0.0' },
      spec: {
        type: 'addon',
        files: [{ name: 'bad.bin', url: `https://127.0.0.1:${fileHostPort}/bad.bin`, sha256: sha(Buffer.from('what the catalogue was told')) }],
      },
    });
    expect(external.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
    await fileHost?.close();
  });

  it('refuses packages that are not catalogued, named twice or not versions, naming the field, and stores nothing', async () => {
    const missing = await group([{ name: 'otelcol', version: '9.9.9' }], true);
    expect(missing.status).toBe(400);
    expect(missing.type).toContain('application/problem+json');
    expect(JSON.stringify(missing.body)).toContain('spec.packages[0]');
    expect(JSON.stringify(missing.body)).toMatch(/no version 9\.9\.9 in the catalogue/);
    const twice = await group(
      [
        { name: 'otelcol', version: '1.0.0' },
        { name: 'otelcol', version: '1.1.0' },
      ],
      true,
    );
    expect(twice.status).toBe(400);
    expect(JSON.stringify(twice.body)).toMatch(/spec\.packages\[1\]\.name.*named twice/);
    expect((await group([{ name: 'otelcol', version: '1/0' }], true)).status).toBe(400);
    expect((await group([{ name: 'Not A Name', version: '1.0.0' }], true)).status).toBe(400);
    expect((await group([{ name: 'otelcol', version: '1.0.0', force: 'yes' }], true)).status).toBe(400);
    expect((await api('GET', '/agentgroups/edge')).status).toBe(404);
  });

  it('offers a group’s package, which the agent downloads from this server with its token and installs; counted per group and fleet-wide; never resent on heartbeats', async () => {
    expect((await group([{ name: 'otelcol', version: '1.0.0' }], true)).status).toBe(201);
    const agent = GoAgent.start(`${scheme}://127.0.0.1:${server.opampPort}/v1/opamp`, [
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
    agents.push(agent);
    const uid = (await agent.event('started')).uid as string;
    const offered = (await agent.event('packages_available', 30_000)) as GoAgentEvent & { packages: Json };
    expect(offered.packages.otelcol).toMatchObject({
      version: '1.0.0',
      contentHash: sha(v1),
      downloadUrl: `http://127.0.0.1:${server.opampPort}/v1/packages/otelcol/1.0.0/otelcol.bin`,
    });
    const installed = await eventually(
      () => getAgent(server, uid),
      (r) => statusOf(r.body, 'otelcol')?.status === 'INSTALLED' && r.body.status.packages.offer?.state === 'installed',
      30_000,
    );
    expect(statusOf(installed.body, 'otelcol')).toMatchObject({ name: 'otelcol', version: '1.0.0', status: 'INSTALLED', offeredVersion: '1.0.0' });
    expect(installed.body.status.packages.offer).toMatchObject({ state: 'installed', origin: 'group/edge', desiredHash: offered.allPackagesHash });
    expect(installed.body.status.packages.reportedAllPackagesHash).toBe(offered.allPackagesHash);

    const g = await api('GET', '/agentgroups/edge');
    expect(g.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.0.0' }]);
    expect(g.body.status.packages).toEqual([
      expect.objectContaining({
        name: 'otelcol',
        version: '1.0.0',
        current: 1,
        behind: 0,
        ahead: 0,
        notReported: 0,
        failed: 0,
        versions: [{ version: '1.0.0', agents: 1 }],
      }),
    ]);
    const fleet = await api('GET', '/fleet/packages');
    expect(fleet.status).toBe(200);
    expect(fleet.body.items).toEqual([
      expect.objectContaining({
        name: 'otelcol',
        agents: 1,
        versions: [{ version: '1.0.0', agents: 1 }],
        statuses: { INSTALLED: 1 },
        latest: '1.1.0',
        behindLatest: 1,
      }),
    ]);
    expect((await api('GET', '/fleet/packages/otelcol')).body.status).toMatchObject({ name: 'otelcol', agents: 1, behindLatest: 1 });
    expect((await api('GET', '/fleet/packages/nothing-here')).status).toBe(404);

    // Heartbeats every second: the offer is not repeated (one PackagesAvailable on the wire).
    const received = (await agent.stats()).received;
    await eventually(
      () => agent.stats(),
      (s) => s.received >= received + 3,
      15_000,
    );
    expect(offers(agent)).toBe(1);
  }, 90_000);

  it('upgrades at once when the group names a newer version; refuses a downgrade unless forced (audited)', async () => {
    const agent = agents[0];
    const uid = agent.events.find((e) => e.event === 'started')!.uid as string;
    expect((await group([{ name: 'otelcol', version: '1.1.0' }])).status).toBe(200);
    await eventually(
      () => getAgent(server, uid),
      (r) => statusOf(r.body, 'otelcol')?.version === '1.1.0' && r.body.status.packages.offer?.state === 'installed',
      30_000,
    );
    expect(offers(agent)).toBe(2);

    // Back to 1.0.0 without force: nothing is offered, the agent keeps 1.1.0, and its status says why.
    expect((await group([{ name: 'otelcol', version: '1.0.0' }])).status).toBe(200);
    const refused = await eventually(
      () => getAgent(server, uid),
      (r) => (r.body.status.packages.offer?.refused ?? []).length > 0,
      15_000,
    );
    expect(refused.body.status.packages.offer.refused).toEqual([
      { name: 'otelcol', version: '1.0.0', installedVersion: '1.1.0', reason: expect.stringMatching(/older than the installed 1\.1\.0.*force/) },
    ]);
    const desired = await api('GET', `/agents/${uid}/desired-packages`);
    expect(desired.body.packages).toEqual([
      expect.objectContaining({ name: 'otelcol', desiredVersion: '1.0.0', offeredVersion: '1.1.0', installedVersion: '1.1.0', refused: expect.any(String) }),
    ]);
    expect((await api('GET', '/agentgroups/edge')).body.status.packages[0]).toMatchObject({ current: 0, ahead: 1, behind: 0 });
    expect(statusOf((await getAgent(server, uid)).body, 'otelcol').version).toBe('1.1.0');
    expect(offers(agent)).toBe(2);

    // Forced: offered and installed, and the audit log says so.
    expect((await group([{ name: 'otelcol', version: '1.0.0', force: true }])).status).toBe(200);
    await eventually(
      () => getAgent(server, uid),
      (r) => statusOf(r.body, 'otelcol')?.version === '1.0.0' && r.body.status.packages.offer?.state === 'installed',
      30_000,
    );
    expect(offers(agent)).toBe(3);
    const audit = await api('GET', `/audit?kind=agents&name=${uid}`);
    expect(JSON.stringify(audit.body)).toContain('package-downgrade');
    expect(JSON.stringify(audit.body)).toContain('otelcol 1.1.0 → 1.0.0');
  }, 120_000);

  it('a file whose hash is wrong is reported INSTALL_FAILED, stored and counted, and that offer is never sent again', async () => {
    const agent = agents[0];
    const uid = agent.events.find((e) => e.event === 'started')!.uid as string;
    // The agent's own package, beside its group's.
    const own = await api('PUT', `/agents/${uid}/packages`, { packages: [{ name: 'badpkg', version: '1.0.0' }] });
    expect(own.status).toBe(200);
    expect(own.body.spec.assignedPackages.packages).toEqual([{ name: 'badpkg', version: '1.0.0' }]);
    const failed = await eventually(
      () => getAgent(server, uid),
      (r) => statusOf(r.body, 'badpkg')?.status === 'INSTALL_FAILED' && r.body.status.packages.offer?.state === 'failed',
      30_000,
    );
    expect(statusOf(failed.body, 'badpkg').errorMessage).toMatch(/hash/i);
    expect(failed.body.status.packages.offer).toMatchObject({ state: 'failed', origin: 'agent+group/edge', error: expect.stringContaining('badpkg') });
    expect(failed.body.status.packages.offer.failedHashes).toContain(failed.body.status.packages.offer.desiredHash);
    expect(offers(agent)).toBe(4);
    const fleet = await api('GET', '/fleet/packages/badpkg');
    expect(fleet.body.status).toMatchObject({ agents: 1, statuses: { INSTALL_FAILED: 1 } });

    // Heartbeats go on; the failed offer is not sent again.
    const received = (await agent.stats()).received;
    await eventually(
      () => agent.stats(),
      (s) => s.received >= received + 3,
      15_000,
    );
    expect(offers(agent)).toBe(4);

    const bad = await api('PUT', `/agents/${uid}/packages`, { packages: [{ name: 'badpkg', version: '7.0.0' }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('packages[0]');
  }, 90_000);
  it('opampctl sets the packages of one agent and of a group (update packages), and lists what runs where (get fleetpackages)', async () => {
    const uid = agents[0].events.find((e) => e.event === 'started')!.uid as string;
    buildOpampctl();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-packages-'));
    const env = { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, OPAMPCTL_CONFIG: path.join(home, 'config'), HOME: home };
    const ctl = (...args: string[]) => runOpampctl(args, { env });

    // The agent's own otelcol 1.1.0 beside its own badpkg (kept): it upgrades from the group's forced 1.0.0.
    const set = await ctl('update', 'packages', '--agent', uid, 'otelcol@1.1.0');
    expect([set.code, set.stdout.trim()]).toEqual([0, `agent/${uid} packages configured`]);
    expect((await getAgent(server, uid)).body.spec.assignedPackages.packages).toEqual([
      { name: 'badpkg', version: '1.0.0' },
      { name: 'otelcol', version: '1.1.0' },
    ]);
    await eventually(
      () => getAgent(server, uid),
      (r) => statusOf(r.body, 'otelcol')?.version === '1.1.0' && statusOf(r.body, 'otelcol')?.status === 'INSTALLED',
      30_000,
    );
    const fleet = await ctl('get', 'fleetpackages');
    expect(fleet.code).toBe(0);
    const rows = fleet.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows[0]).toEqual(['NAME', 'AGENTS', 'VERSIONS', 'LATEST', 'BEHIND', 'FAILED']);
    expect(rows.find((r) => r[0] === 'otelcol')).toEqual([
      'otelcol',
      expect.stringMatching(/^[1-9]/),
      expect.stringContaining('1.1.0=1'),
      '1.1.0',
      expect.any(String),
      '0',
    ]);
    expect(rows.find((r) => r[0] === 'badpkg')).toEqual(['badpkg', '1', '<none>', '1.0.0', expect.any(String), '1']);

    // Cleared: the agent follows its group again. The group's entry is replaced by name, without force.
    expect((await ctl('update', 'packages', '--agent', uid, '--clear')).code).toBe(0);
    expect((await getAgent(server, uid)).body.spec.assignedPackages).toBeUndefined();
    const grp = await ctl('update', 'packages', '--group', 'edge', 'otelcol@1.1.0');
    expect([grp.code, grp.stdout.trim()]).toEqual([0, 'agentgroup/edge packages configured']);
    expect((await api('GET', '/agentgroups/edge')).body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);

    // Usage errors exit 2 and change nothing; a version the catalogue lacks is the API's 400 (exit 1).
    expect((await ctl('update', 'packages', '--group', 'edge', 'otelcol')).code).toBe(2);
    expect((await ctl('update', 'packages', '--agent', uid)).code).toBe(2);
    const unknown = await ctl('update', 'packages', '--group', 'edge', 'otelcol@9.9.9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/packages\[0\]/);
    expect((await api('GET', '/agentgroups/edge')).body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
  }, 90_000);
});
