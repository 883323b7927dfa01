import { FleetJobs } from '../src/cluster/fleet-jobs.service';
import { ROLLOUTS_JOB } from '../src/rollouts/rollout-driver.service';
import { eventually } from './support/agents-api';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { NatsServer } from './support/nats-server';
import type { Proc } from './support/process';
import { Json, restClient } from './support/rest-client';
import { startReplicaProcess, startTestServer, testDatabaseUri, TestServer } from './support/test-server';

/**
 * A rollout across three replicas on one database and a real NATS bus, with agents of both
 * transports: two WebSocket agents held by replica A, two plain-HTTP agents polling replica B.
 * Replica C holds no agent but the fleet-jobs lease, so it alone drives the rollout; it is killed
 * with SIGKILL while the rollout waits for approval, and the replica that takes the lease over
 * carries it to the end without sending any agent the config twice.
 */
jest.setTimeout(300_000);

describe('a rollout over several replicas', () => {
  let nats: NatsServer;
  let uri: string;
  let a: TestServer;
  let b: TestServer;
  let c: Proc | undefined;
  const agents: GoAgent[] = [];
  const uids: string[] = [];
  const env = () => ({
    NATS_URL: nats.url,
    OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
    REPLICA_HEARTBEAT_SECONDS: '1',
    REPLICA_TIMEOUT_SECONDS: '4',
  });
  const bodies = { v1: 'receivers:\n  otlp: {}\n', v2: 'receivers:\n  otlp: {}\n# v2\n', broken: 'receivers:\n  otlp: {}\n# BROKEN\n' };
  const received = (agent: GoAgent, body: string) =>
    (agent.events.filter((e) => e.event === 'remote_config') as unknown as { config: Record<string, { body: string }> }[]).filter(
      (e) => e.config['']?.body === body,
    );
  const leases = async (s: TestServer) =>
    Object.fromEntries(
      ((await restClient(s)('GET', '/replicas')).body.items as { metadata: { name: string }; status: { leases: string[] } }[]).map((r) => [
        r.metadata.name,
        r.status.leases,
      ]),
    );
  const driverRuns = () => [a, b].map((s) => s.app.get(FleetJobs).runs.get(ROLLOUTS_JOB) ?? 0);

  beforeAll(async () => {
    goAgentBinary();
    nats = await NatsServer.start();
    uri = testDatabaseUri();
    // C first, so that it takes the fleet-jobs lease.
    c = (await startReplicaProcess('replica-c', uri, env())).proc;
    a = await startTestServer({ ...env(), REPLICA_ID: 'replica-a' }, uri);
    b = await startTestServer({ ...env(), REPLICA_ID: 'replica-b' }, uri);
    await eventually(
      () => leases(a),
      (l) => l['replica-c']?.includes('fleet-jobs') === true && l['replica-a'] !== undefined && l['replica-b'] !== undefined,
      30_000,
    );

    const api1 = restClient(a);
    for (const [name, body] of Object.entries(bodies)) {
      expect((await api1('POST', '/remoteconfigs', { metadata: { name: `web-${name}` }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    }
    expect(
      (
        await api1('POST', '/agentgroups', {
          metadata: { name: 'web' },
          spec: { selector: 'service.name=web', configs: [{ fileName: '', remoteConfig: 'web-v1' }] },
        })
      ).status,
    ).toBe(201);
    for (const url of [
      `ws://127.0.0.1:${a.opampPort}/v1/opamp`,
      `ws://127.0.0.1:${a.opampPort}/v1/opamp`,
      `http://127.0.0.1:${b.opampPort}/v1/opamp`,
      `http://127.0.0.1:${b.opampPort}/v1/opamp`,
    ]) {
      const agent = GoAgent.start(url, ['--heartbeat', '1', '--service-name', 'web', '--fail-configs-containing', 'BROKEN']);
      agents.push(agent);
      uids.push((await agent.event('started')).uid as string);
    }
    await eventually(
      () => api1('GET', '/agentgroups/web'),
      (r) => r.body.status?.config?.applied === 4,
      60_000,
    );
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((x) => x.kill()));
    c?.child.kill('SIGKILL');
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it('one replica drives it; when that replica is killed another takes over, and every agent gets the config once', async () => {
    const viaB = restClient(b);
    const created = await viaB('POST', '/rollouts', {
      kind: 'Rollout',
      apiVersion: 'v1',
      metadata: { name: 'spread' },
      spec: { target: { group: 'web' }, configs: [{ fileName: '', remoteConfig: 'web-v2' }], stages: ['1', { stage: '100%', approval: true }] },
    });
    expect(created.status).toBe(201);
    const waiting = await eventually(
      () => viaB('GET', '/rollouts/spread'),
      (r) => r.body.status?.phase === 'Paused' && r.body.status.conditions.at(-1)?.reason === 'AwaitingApproval',
      60_000,
    );
    expect(waiting.body.status).toMatchObject({ stage: 1, reached: 1 });
    expect(agents.filter((x) => received(x, bodies.v2).length > 0)).toHaveLength(1);
    // Only C has driven it so far.
    expect(driverRuns()).toEqual([0, 0]);

    c!.child.kill('SIGKILL');
    await c!.exited;
    const after = await eventually(
      () => leases(a),
      (l) => l['replica-c'] === undefined && (l['replica-a'] ?? []).concat(l['replica-b'] ?? []).includes('fleet-jobs'),
      30_000,
    );
    expect([after['replica-a'], after['replica-b']].filter((l) => l.includes('fleet-jobs'))).toHaveLength(1);

    expect((await restClient(a)('POST', '/rollouts/spread/approve')).status).toBe(200);
    const done = await eventually(
      () => viaB('GET', '/rollouts/spread'),
      (r) => r.body.status?.phase === 'Succeeded',
      60_000,
    );
    if (done.body.status.reached !== 4) {
      console.log(JSON.stringify(done.body.status, null, 1));
      console.log(
        JSON.stringify(
          (await viaB('GET', '/agents?view=full')).body.items.map((x: Json) => [
            x.metadata.name,
            x.status.connected,
            x.status.connection,
            x.status.remoteConfig,
          ]),
          null,
          1,
        ),
      );
      console.log(agents.map((x) => [x.events.filter((e) => e.event !== 'heartbeat').map((e) => e.event)]));
    }
    expect(done.body.status.reached).toBe(4);
    // The surviving lease holder drove it to the end; the other replica never ran the controller.
    expect(driverRuns().filter((n) => n > 0)).toHaveLength(1);
    // Each transition once, though two replicas drove it.
    const reasons = (done.body.status.conditions as Json[]).map((x) => x.reason);
    expect(reasons.filter((r) => r === 'AwaitingApproval')).toHaveLength(1);
    // Every agent, WebSocket on A and HTTP on B, got v2 exactly once and runs it.
    for (const agent of agents) expect(received(agent, bodies.v2)).toHaveLength(1);
    const group = await eventually(
      () => viaB('GET', '/agentgroups/web'),
      (r) => r.body.status?.config?.applied === 4,
      30_000,
    );
    expect(group.body.spec.configs).toEqual([expect.objectContaining({ remoteConfig: 'web-v2' })]);
  });
  it('a retry asked of a replica that does not hold the canary reaches it: the canary gets the config again and fails it again', async () => {
    const viaA = restClient(a);
    const created = await viaA('POST', '/rollouts', {
      kind: 'Rollout',
      apiVersion: 'v1',
      metadata: { name: 'broken' },
      spec: { target: { group: 'web' }, configs: [{ fileName: '', remoteConfig: 'web-broken' }], stages: ['1', '100%'] },
    });
    expect(created.status).toBe(201);
    const rolledBack = (n: number) =>
      eventually(
        () => viaA('GET', '/rollouts/broken'),
        (r) => r.body.status?.phase === 'RolledBack' && (r.body.status.conditions as Json[]).filter((x) => x.reason === 'GateTripped').length === n,
        60_000,
      );
    const first = await rolledBack(1);
    expect(first.body.status.failedAgents).toHaveLength(1);
    const canaryUid = first.body.status.failedAgents[0].uid as string;
    const canary = agents[uids.indexOf(canaryUid)];
    expect(received(canary, bodies.broken)).toHaveLength(1);
    // The retry goes through the replica that does not hold the canary: only the bus tells the
    // holder to forget that the canary failed this config.
    const holder = (await viaA('GET', `/agents/${canaryUid}`)).body.status.connection.replicaId as string;
    const other = holder === 'replica-a' ? b : a;
    expect((await restClient(other)('POST', '/rollouts/broken/retry')).status).toBe(200);
    const again = await rolledBack(2);
    expect(again.body.status.failedAgents.map((f: Json) => f.uid)).toEqual([canaryUid]);
    await eventually(
      async () => received(canary, bodies.broken).length,
      (n) => n >= 2,
      20_000,
    );
    for (const x of agents) if (x !== canary) expect(received(x, bodies.broken)).toHaveLength(0);
  });
});
