import mongoose from 'mongoose';
import { eventually, getAgent } from './support/agents-api';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';
import { DATABASE_PROFILE, DatabaseProfile } from '../src/database/database-profile';

/**
 * A group's status counts the agents it governs (those whose desired config comes from it), not
 * every agent it matches: an agent matched by `checkout` (priority 10) and `edge-agents`
 * (priority 5) runs checkout's config, so edge-agents must not call it applied — in the REST
 * resource, in `opampctl get`/`describe`, and for `opampctl wait agentgroup … --for applied`.
 * Two real opamp-go agents.
 */
describe('group status counts the agents the group governs', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let env: Record<string, string>;
  const agents: GoAgent[] = [];

  const group = (name: string, selector: string, priority: number, config: string) => ({
    kind: 'AgentGroup',
    apiVersion: 'v1',
    metadata: { name },
    spec: { selector, priority, configs: [{ fileName: '', remoteConfig: config }] },
  });
  const status = async (name: string) => (await api('GET', `/agentgroups/${name}`)).body.status;
  const start = async (service: string) => {
    const a = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', service, '--attr', 'tier=edge']);
    agents.push(a);
    const uid = (await a.event('started')).uid as string;
    await a.event('remote_config');
    await eventually(
      () => getAgent(server, uid),
      (r) => r.body.status.remoteConfig?.state === 'applied',
    );
    return uid;
  };

  beforeAll(async () => {
    goAgentBinary();
    buildOpampctl();
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
    api = restClient(server);
    env = { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: '/nonexistent' };
    for (const name of ['collector-base', 'fleet-base']) {
      const body = `receivers:\n  otlp: {}\n# ${name}\n`;
      expect((await api('POST', '/remoteconfigs', { metadata: { name }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    }
    expect((await api('POST', '/agentgroups', group('checkout', 'service.name=checkout', 10, 'collector-base'))).status).toBe(201);
    expect((await api('POST', '/agentgroups', group('edge-agents', 'tier=edge', 5, 'fleet-base'))).status).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
  });

  let checkoutAgent: string;

  it('an agent matched by two groups counts only in the group that governs it', async () => {
    checkoutAgent = await start('checkout');
    expect((await api('GET', `/agents/${checkoutAgent}/desired-config`)).body.origin).toEqual({ kind: 'group', group: 'checkout' });
    expect(await status('checkout')).toEqual({
      agents: 1,
      connected: 1,
      healthy: 1,
      config: { applied: 1, applying: 0, failed: 0, pending: 0, drifted: 0 },
      matchedNotGoverned: 0,
      overriddenBy: [],
      ownTelemetry: { conditions: { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 }, acceptedPerSecond: 0, sentPerSecond: 0 },
    });
    // fleet-base reached no agent: edge-agents governs none, and says who governs the one it matches.
    expect(await status('edge-agents')).toEqual({
      agents: 0,
      connected: 0,
      healthy: 0,
      config: { applied: 0, applying: 0, failed: 0, pending: 0, drifted: 0 },
      matchedNotGoverned: 1,
      overriddenBy: [{ kind: 'group', group: 'checkout', agents: 1 }],
      ownTelemetry: { conditions: { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 }, acceptedPerSecond: 0, sentPerSecond: 0 },
    });
    const listed = (await api('GET', '/agentgroups')).body.items.find((g: { metadata: { name: string } }) => g.metadata.name === 'edge-agents');
    expect(listed.status).toEqual(await status('edge-agents'));
  });

  it('opampctl wait agentgroup does not succeed on a config another group delivered', async () => {
    const wait = await runOpampctl(['wait', 'agentgroup', 'edge-agents', '--for', 'applied', '--timeout', '2s', '--interval', '200ms'], { env });
    expect(wait.code).toBe(1);
    expect(wait.stderr).toMatch(
      /timed out after 2s waiting for agentgroup\/edge-agents to be applied: no agents governed by this group \(1 matched but governed by another group or their own config\)/,
    );
    const ok = await runOpampctl(['wait', 'agentgroup', 'checkout', '--for', 'applied', '--timeout', '20s'], { env });
    expect(ok.stdout).toBe('agentgroup/checkout condition met: 1/1 applied\n');
  });

  it('a second agent only edge-agents matches gets fleet-base, and edge-agents counts it', async () => {
    const edgeAgent = await start('cart');
    expect((await api('GET', `/agents/${edgeAgent}/desired-config`)).body.origin).toEqual({ kind: 'group', group: 'edge-agents' });
    const s = await eventually(
      () => status('edge-agents'),
      (x) => x.config.applied === 1,
    );
    expect(s).toEqual({
      agents: 1,
      connected: 1,
      healthy: 1,
      config: { applied: 1, applying: 0, failed: 0, pending: 0, drifted: 0 },
      matchedNotGoverned: 1,
      overriddenBy: [{ kind: 'group', group: 'checkout', agents: 1 }],
      ownTelemetry: { conditions: { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 }, acceptedPerSecond: 0, sentPerSecond: 0 },
    });
    const wait = await runOpampctl(['wait', 'agentgroup', 'edge-agents', '--for', 'applied', '--timeout', '20s'], { env });
    expect(wait.stdout).toBe('agentgroup/edge-agents condition met: 1/1 applied (1 matched but governed by another group or their own config)\n');

    // The table shows the governed count and the overridden ones; describe says where each agent's config comes from.
    const table = (await runOpampctl(['get', 'grp', 'edge-agents', '-o', 'wide'], { env })).stdout.split('\n');
    const cells = (line: string) => line.trim().split(/\s{2,}/);
    const row = Object.fromEntries(cells(table[0]).map((h, i) => [h, cells(table[1])[i]]));
    expect(row).toMatchObject({ AGENTS: '1', OVERRIDDEN: '1', 'OVERRIDDEN BY': 'checkout=1', APPLIED: '1' });
    const described = (await runOpampctl(['describe', 'grp', 'edge-agents'], { env })).stdout;
    expect(described).toMatch(/Matched Not Governed: +1\n/);
    expect(described).toMatch(new RegExp(`\\n {2}${checkoutAgent}\\s+checkout\\s+true\\s+true\\s+-\\s+group checkout\\s`));
    expect(described).toMatch(new RegExp(`\\n {2}${edgeAgent}\\s+cart\\s+true\\s+true\\s+applied\\s+this group\\s`));
  });

  it("the group's agent list says who governs each agent, and lists the governed and the overridden apart", async () => {
    const page = async (query: string) => {
      const res = await api('GET', `/agentgroups/edge-agents/agents${query}`);
      expect(res.status).toBe(200);
      return (res.body.items as { metadata: { instanceUid: string }; status: { governedBy?: unknown } }[]).map((a) => [
        a.metadata.instanceUid,
        a.status.governedBy,
      ]);
    };
    const edgeAgent = (await api('GET', '/agents?selector=service.name%3Dcart')).body.items[0].metadata.instanceUid as string;
    const both = await page('');
    expect(both).toHaveLength(2);
    expect(both).toEqual(
      expect.arrayContaining([
        [checkoutAgent, { kind: 'group', group: 'checkout' }],
        [edgeAgent, { kind: 'group', group: 'edge-agents' }],
      ]),
    );
    expect(await page('?governed=true')).toEqual([[edgeAgent, { kind: 'group', group: 'edge-agents' }]]);
    expect(await page('?governed=false')).toEqual([[checkoutAgent, { kind: 'group', group: 'checkout' }]]);
    // The page's remaining count follows the same rule as the status counts.
    const one = await api('GET', '/agentgroups/edge-agents/agents?governed=true&limit=1');
    expect(one.body.metadata.remainingItemCount).toBe(0);
    expect((await api('GET', '/agentgroups/edge-agents/agents?governed=banana')).status).toBe(400);
    expect((await api('GET', '/agentgroups/no-such-group/agents')).status).toBe(404);
  });

  it('reads the agents collection no more than before: five queries, plus one per group that takes agents away (or, where counts read everything, only reads of the counted fields)', async () => {
    const queries: string[] = [];
    // The agents' own traffic runs meanwhile: the silent-HTTP sweep and the session's reconcile read
    // agents by transport or by uid, which no status query does, so those are left out of the count.
    const background = (filter: unknown) => typeof filter === 'object' && filter !== null && ('connection.transport' in filter || '_id' in filter);
    mongoose.set('debug', (collection: string, method: string, filter: unknown) => {
      if (collection === 'agents' && !background(filter)) queries.push(method);
    });
    try {
      if (server.app.get<DatabaseProfile>(DATABASE_PROFILE).countsReadEverything) {
        // A database that reads every agent for a count (FerretDB): the counts are made in memory
        // from reads of the counted fields (fresh per count here, COUNT_SNAPSHOT_MAX_AGE_MS=0; one per
        // window by default), never one database count or aggregate per figure.
        await status('checkout');
        expect(queries.filter((m) => m !== 'find')).toEqual([]);
        expect(queries.length).toBeLessThanOrEqual(5);
        queries.length = 0;
        await status('edge-agents');
        expect(queries.filter((m) => m !== 'find')).toEqual([]);
        expect(queries.length).toBeLessThanOrEqual(7);
        return;
      }
      await status('checkout');
      // matched, governed, connected, healthy, and one grouped count of the delivery states (seven counts before).
      expect(queries.sort()).toEqual(['aggregate', 'countDocuments', 'countDocuments', 'countDocuments', 'countDocuments']);
      queries.length = 0;
      await status('edge-agents');
      // …plus, as it matches an agent checkout governs, its own-config count and checkout's share.
      expect(queries.filter((m) => m === 'countDocuments')).toHaveLength(6);
      expect(queries.filter((m) => m === 'aggregate')).toHaveLength(1);
    } finally {
      mongoose.set('debug', false);
    }
  });

  it("an agent's own config takes it out of its group's counts", async () => {
    const res = await api('PUT', `/agents/${checkoutAgent}/update-agent-config`, { configs: [{ fileName: '', remoteConfig: 'fleet-base' }] });
    expect(res.status).toBe(200);
    const s = await eventually(
      () => status('checkout'),
      (x) => x.agents === 0,
    );
    expect(s).toMatchObject({ agents: 0, config: { applied: 0 }, matchedNotGoverned: 1, overriddenBy: [{ kind: 'agent', agents: 1 }] });
    expect((await status('edge-agents')).overriddenBy).toEqual([{ kind: 'agent', agents: 1 }]);
  });
});
