import { FleetJobs } from '../src/cluster/fleet-jobs.service';
import { ConnectionRegistry } from '../src/opamp-gateway/connection-registry';
import { RoundRobinProxy } from './support/round-robin-proxy';
import * as grpc from '@grpc/grpc-js';
import { ConnectionDrainer } from '../src/opamp-gateway/connection-drainer';
import { attributes as grpcAttributes, GrpcTestAgent, newAgentUid } from './support/grpc-test-client';
import { eventually, getAgent } from './support/agents-api';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { NatsServer } from './support/nats-server';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import type { Proc } from './support/process';
import { restClient } from './support/rest-client';
import { startReplicaProcess, startTestServer, testDatabaseUri, TestServer } from './support/test-server';
import { AgentCapabilities as Cap, CommandType } from '../src/gen/opamp/v1/opamp_pb';
import { agentMessage, description, encodeAgentToServer, httpExchange, newUid } from './support/opamp-test-client';

const GrpcClient = grpc.makeGenericClientConstructor({}, 'opampcommander.v1.OpAMPTransport');

/**
 * Several replicas on one database and a real NATS server act as one server. The reconcile is set
 * to an hour, so anything an agent on replica B gets after a change made through replica A can
 * only have come over the bus.
 */
describe('scale-out: replicas on a real NATS bus', () => {
  let nats: NatsServer;
  let uri: string;
  let a: TestServer;
  let b: TestServer;
  const agents: GoAgent[] = [];
  let c: Proc | undefined;
  const env = () => ({
    NATS_URL: nats.url,
    OPAMP_RECONCILE_INTERVAL_SECONDS: '3600',
    OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
    REPLICA_HEARTBEAT_SECONDS: '1',
    REPLICA_TIMEOUT_SECONDS: '4',
  });
  const replicas = async (s: TestServer) =>
    (await restClient(s)('GET', '/replicas')).body.items as {
      metadata: { name: string };
      status: { bus: { kind: string; connected: boolean }; leases: string[]; gone: boolean };
    }[];
  const byName = async (s: TestServer) => Object.fromEntries((await replicas(s)).map((r) => [r.metadata.name, r.status]));
  const config = (body: string) => ({ metadata: { name: 'edge' }, spec: { contentType: 'application/yaml', body } });
  /** A new revision of config `edge` through replica `s` (a replace carries the current resourceVersion). */
  const revise = async (s: TestServer, body: string) => {
    const api = restClient(s);
    const current = (await api('GET', '/remoteconfigs/edge')).body;
    return (await api('PUT', '/remoteconfigs/edge', { ...config(body), metadata: { name: 'edge', resourceVersion: current.metadata.resourceVersion } })).status;
  };

  beforeAll(async () => {
    goAgentBinary();
    buildOpampctl();
    nats = await NatsServer.start();
    uri = testDatabaseUri();
    a = await startTestServer({ ...env(), REPLICA_ID: 'replica-a' }, uri);
    b = await startTestServer({ ...env(), REPLICA_ID: 'replica-b' }, uri);
  }, 600_000);
  afterAll(async () => {
    await Promise.all(agents.map((x) => x.kill()));
    c?.child.kill('SIGKILL');
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it('lists every replica with its bus connected, and exactly one holds the replica-gc lease', async () => {
    const seen = await eventually(
      () => byName(b),
      (r) =>
        r['replica-a']?.bus.connected === true &&
        r['replica-b']?.bus.connected === true &&
        Object.values(r).filter((x) => x.leases.includes('replica-gc')).length === 1,
    );
    expect(seen['replica-a'].bus.kind).toBe('nats');
    expect(Object.keys(seen).sort()).toEqual(['replica-a', 'replica-b']);
    // Fleet-wide jobs run on one replica: the silent-HTTP-agent sweep (every second here) ran on exactly one.
    await eventually(
      async () => [a, b].map((s) => s.app.get(FleetJobs).runs.get('http-agent-sweep') ?? 0),
      (n) => n.some((x) => x > 1),
    );
    const sweeps = [a, b].map((s) => s.app.get(FleetJobs).runs.get('http-agent-sweep') ?? 0);
    expect(sweeps.filter((x) => x > 0)).toHaveLength(1);
    const table = await runOpampctl(['get', 'replicas'], { env: { OPAMPCTL_SERVER: b.baseUrl, OPAMPCTL_TOKEN: b.token, HOME: '/nonexistent' } });
    expect(table.stdout).toMatch(/^NAME\s+AGENTS\s+BUS\s+REBALANCE\s+LEASES\s+GONE\s+LAST HEARTBEAT\s+AGE\n/);
    expect(table.stdout).toMatch(/\nreplica-a\s+\d+\s+nats\s+idle\s+\S+\s+false\s/);
    expect(table.stdout).toMatch(/\nreplica-b\s+\d+\s+nats\s+idle\s+\S+\s+false\s/);
  });

  it('an HTTP agent polling one replica stays connected while the other runs the fleet-wide sweep', async () => {
    // The stored last poll of an agent served by B lags its polls by B's write batching (5 s here,
    // longer than 3 polls of 1 s): the sweep on A must allow for that, and never take the agent offline.
    const now = await byName(a);
    const sweeper = now['replica-a'].leases.includes('fleet-jobs') ? a : b;
    const server = sweeper === a ? b : a;
    const poller = GoAgent.start(`http://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'http-poller']);
    agents.push(poller);
    const pollerUid = (await poller.event('started')).uid as string;
    await eventually(
      () => getAgent(sweeper, pollerUid),
      (r) => r.body?.status?.connected === true,
    );
    const seen: boolean[] = [];
    for (let i = 0; i < 24; i++) {
      seen.push((await getAgent(sweeper, pollerUid)).body.status.connected);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(seen.filter((c) => !c)).toEqual([]);
    expect(sweeper.app.get(FleetJobs).runs.get('http-agent-sweep')).toBeGreaterThan(5);
    await poller.stop();
  });

  it('a restart for an HTTP agent waits for its next poll on whichever replica that reaches, and is carried out once', async () => {
    const agentUid = newUid();
    const capabilities = BigInt(Cap.AgentCapabilities_ReportsStatus | Cap.AgentCapabilities_AcceptsRestartCommand);
    let seq = 0n;
    const poll = (s: TestServer, first = false) =>
      httpExchange(
        s.opampPort,
        encodeAgentToServer(
          agentMessage({
            instanceUid: agentUid.bytes,
            sequenceNum: seq++,
            capabilities,
            ...(first ? { agentDescription: description({ 'service.name': 'balanced-poller' }) } : {}),
          }),
        ),
      );
    expect((await poll(a, true)).status).toBe(200);
    // Polls every second (OPAMP_HEARTBEAT_INTERVAL_SECONDS here), as a real HTTP agent would, until the restart is asked for.
    const stored = await eventually(
      async () => {
        await poll(a);
        return getAgent(b, agentUid.text);
      },
      (r) => r.body?.status?.connected === true && r.body.status.replica === 'replica-a',
    );
    expect(stored.body.status.connection.transport).toBe('http');
    // Asked through B: routed to A, which served the last poll; an HTTP agent cannot be pushed to.
    expect((await poll(a)).message?.command).toBeUndefined();
    const res = await restClient(b)('POST', `/agents/${agentUid.text}/restart`);
    expect([res.status, res.body.detail]).toEqual([202, undefined]);
    expect(res.body).toEqual({ accepted: true, delivery: 'next-poll', replica: 'replica-a' });
    // A load balancer sends the next poll to B: B carries the command out.
    const onB = await poll(b);
    expect(onB.message?.command?.type).toBe(CommandType.CommandType_Restart);
    // The poll after that reaches A again, which also remembered it: not a second restart.
    const onA = await poll(a);
    expect(onA.status).toBe(200);
    expect(onA.message?.command).toBeUndefined();
    expect((await poll(b)).message?.command).toBeUndefined();
  });

  let uid: string;
  let agent: GoAgent;

  it('a group and config created through replica A reach a WebSocket agent held by replica B at once', async () => {
    agent = GoAgent.start(`ws://127.0.0.1:${b.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'edge-collector']);
    agents.push(agent);
    uid = (await agent.event('started')).uid as string;
    await eventually(
      () => getAgent(a, uid),
      (r) => r.body?.status?.connected === true,
    );
    const api = restClient(a);
    expect((await api('POST', '/remoteconfigs', config('receivers:\n  otlp: {}\n# first\n'))).status).toBe(201);
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'edge' },
          spec: { selector: 'service.name=edge-collector', configs: [{ fileName: '', remoteConfig: 'edge' }] },
        })
      ).status,
    ).toBe(201);
    const got = await agent.event('remote_config', 20_000);
    expect(JSON.stringify(got.config)).toContain('# first');
  });

  it('a new revision of the config made through A reaches the agent on B', async () => {
    const from = agent.events.length;
    expect(await revise(a, 'receivers:\n  otlp: {}\n# second\n')).toBe(200);
    const got = await agent.waitFor((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('# second'), 20_000, from);
    expect(got).toBeDefined();
  });

  it('a restart and a custom message sent through A reach the agent held by B', async () => {
    const api = restClient(a);
    const res = await api('POST', `/agents/${uid}/restart`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: true, delivery: 'sent', replica: 'replica-b' });
    expect((await agent.event('command', 10_000)).type).toBe('Restart');
  });

  it('with NATS stopped the replicas say the bus is down, and when it returns delivery over it resumes', async () => {
    await nats.stop();
    const down = await eventually(
      () => byName(a),
      (r) => r['replica-a']?.bus.connected === false && r['replica-b']?.bus.connected === false,
    );
    expect(down['replica-a'].bus.kind).toBe('nats');
    const metrics = await (await fetch(`${a.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/opamp_event_bus_connected\{kind="nats"\} 0/);
    // Ready all the same: the bus is an accelerator, the database is the truth.
    const ready = await fetch(`${a.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { details: Record<string, unknown> }).details.eventBus).toEqual({ status: 'up', kind: 'nats', connected: false });
    // A command for an agent on the other replica cannot be routed now: 503 with Retry-After, not a hang or a 409.
    const refused = await restClient(a)('POST', `/agents/${uid}/restart`);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.body.detail).toMatch(/held by replica replica-b, and the event bus to it is down/);

    await nats.resume();
    await eventually(
      () => byName(a),
      (r) => r['replica-a']?.bus.connected === true && r['replica-b']?.bus.connected === true,
      30_000,
    );
    const from = agent.events.length;
    expect(await revise(a, 'receivers:\n  otlp: {}\n# third\n')).toBe(200);
    await agent.waitFor((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('# third'), 20_000, from);
  }, 120_000);

  it('a replica killed with kill -9 is declared gone and the agents it held are marked disconnected', async () => {
    const replica = await startReplicaProcess('replica-c', uri, env());
    c = replica.proc;
    const opamp = replica.opampPort;
    const held = GoAgent.start(`ws://127.0.0.1:${opamp}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'on-c']);
    agents.push(held);
    const heldUid = (await held.event('started')).uid as string;
    await eventually(
      () => getAgent(a, heldUid),
      (r) => r.body?.status?.connection?.replica === 'replica-c' && r.body.status.connected === true,
    );
    await eventually(
      () => byName(a),
      (r) => r['replica-c'] !== undefined,
    );

    replica.proc.child.kill('SIGKILL');
    await replica.proc.exited;
    // Within the timeout (4 s) plus a heartbeat or two, whoever holds replica-gc declares C gone.
    await eventually(
      () => getAgent(a, heldUid),
      (r) => r.body?.status?.connected === false,
      30_000,
    );
    const after = await eventually(
      () => byName(b),
      (r) => r['replica-c'] === undefined,
      30_000,
    );
    expect(Object.keys(after).sort()).toEqual(['replica-a', 'replica-b']);
    // The agent on B is untouched.
    expect((await getAgent(a, uid)).body.status.connected).toBe(true);
  }, 400_000);

  it('a lease holder that stops hands its lease to another replica at once', async () => {
    const now = await byName(a);
    const holder = now['replica-a'].leases.includes('replica-gc') ? a : b;
    const other = holder === a ? b : a;
    const otherName = holder === a ? 'replica-b' : 'replica-a';
    await holder.close();
    const r = await eventually(
      () => byName(other),
      (x) => x[otherName]?.leases.includes('replica-gc') === true,
      15_000,
    );
    expect(Object.keys(r)).toEqual([otherName]);
  });
});

/**
 * Load spread (issue 17): replicas behind a round-robin load balancer (a TCP proxy on loopback).
 * Agents all land on A while B is down; once B (its own process) is up, A sheds its surplus over
 * the fair share (WebSocket close 1001) and the agents reconnect through the proxy until both hold
 * about half. Then B is stopped with SIGTERM: it drains its agents gradually, and they reconnect to A.
 */
describe('load spread: replicas behind a round-robin load balancer', () => {
  const AGENTS = 12;
  // Fair share 6 each, tolerance 1: a replica holding more than 7 sheds.
  const TOLERANCE = 1;
  let nats: NatsServer;
  let uri: string;
  let a: TestServer;
  let b: Proc | undefined;
  let proxy: RoundRobinProxy;
  const agents: GoAgent[] = [];
  const uids: string[] = [];
  const env = () => ({
    NATS_URL: nats.url,
    OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
    REPLICA_HEARTBEAT_SECONDS: '1',
    REPLICA_TIMEOUT_SECONDS: '4',
    REBALANCE_TOLERANCE_PERCENT: '0',
    REBALANCE_TOLERANCE_MIN_AGENTS: String(TOLERANCE),
    REBALANCE_WINDOW_SECONDS: '2',
    // The over-share gate stays closed for the window plus the cooldown: long enough for a shed agent
    // refused once (Retry-After 1-2 s) to try again while it is, whatever the order of its attempts.
    REBALANCE_COOLDOWN_SECONDS: '4',
    SHUTDOWN_GRACE_SECONDS: '10',
    SHUTDOWN_DRAIN_SECONDS: '4',
  });
  const held = () => a.app.get(ConnectionRegistry).connections;
  type ReplicaStatus = { movableAgents: number | null; rebalance: { state: string; reason?: string; since: string } | null };
  const records = async () =>
    Object.fromEntries(
      ((await restClient(a)('GET', '/replicas')).body.items as { metadata: { name: string }; status: ReplicaStatus }[]).map((r) => [r.metadata.name, r.status]),
    );
  /** Every agent connected, on one of `replicas`, running the group's config as the server wants it. */
  const governed = async (replicas: string[]) => {
    const views = await Promise.all(uids.map((uid) => getAgent(a, uid)));
    return views.map((v) => ({
      connected: v.body.status?.connected === true && replicas.includes(v.body.status.connection?.replica),
      applied:
        v.body.status?.remoteConfigStatus?.status === 'APPLIED' &&
        v.body.status.remoteConfigStatus.lastRemoteConfigHash === v.body.status.remoteConfig?.desiredHash &&
        v.body.status.remoteConfig?.state === 'applied',
    }));
  };
  const shedTotal = async (reason: string) => {
    const text = await (await fetch(`${a.baseUrl}/metrics`)).text();
    return Number(new RegExp(`opamp_agent_connections_shed_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  /** New WebSocket agents A refused because it was over its share (admission control's counter, reason over-share). */
  const refusedOverShare = async () => {
    const text = await (await fetch(`${a.baseUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('opamp_admission_rejections_total{') && l.includes('reason="over-share"') && l.includes('transport="websocket"'));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  beforeAll(async () => {
    goAgentBinary();
    nats = await NatsServer.start();
    uri = testDatabaseUri();
    a = await startTestServer({ ...env(), REPLICA_ID: 'spread-a' }, uri);
    proxy = await RoundRobinProxy.start([a.opampPort]);
    const api = restClient(a);
    expect(
      (
        await api('POST', '/remoteconfigs', {
          metadata: { name: 'spread' },
          spec: { contentType: 'application/yaml', body: 'receivers:\n  otlp: {}\n# spread\n' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'spread' },
          spec: { selector: 'service.name=spread', configs: [{ fileName: '', remoteConfig: 'spread' }] },
        })
      ).status,
    ).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await Promise.all(agents.map((x) => x.kill()));
    await proxy?.close();
    b?.child.kill('SIGKILL');
    await a?.close();
    await nats?.stop();
  });

  it(`${AGENTS} agents all on A while B is down; once B is up one round evens the load (A refuses the shed agents that come back), and every agent stays connected and governed`, async () => {
    for (let i = 0; i < AGENTS; i++) {
      const agent = GoAgent.start(`ws://127.0.0.1:${proxy.port}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'spread', '--attr', `n=${i}`]);
      agents.push(agent);
      uids.push((await agent.event('started')).uid as string);
    }
    await Promise.all(agents.map((x) => x.waitFor((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('# spread'), 30_000)));
    const before = await eventually(
      () => governed(['spread-a']),
      (g) => g.every((x) => x.connected && x.applied),
      30_000,
    );
    expect(before.filter((x) => !x.connected || !x.applied)).toEqual([]);
    expect(held()).toBe(AGENTS);
    const recorded = await eventually(
      () => records(),
      (r) => r['spread-a']?.movableAgents === AGENTS,
    );
    expect(recorded['spread-a']).toMatchObject({ movableAgents: AGENTS, rebalance: { state: 'idle' } });
    const shedBefore = await shedTotal('rebalance');
    const refusedBefore = await refusedOverShare();

    const replica = await startReplicaProcess('spread-b', uri, { ...env(), LOG_LEVEL: 'info' });
    b = replica.proc;
    proxy.backends = [a.opampPort, replica.opampPort];
    const share = Math.ceil(AGENTS / 2);
    // Even within the tolerance, as both replicas record it, and no drain under way.
    const spread = await eventually(
      async () => {
        const r = await records();
        return {
          onA: held(),
          onB: r['spread-b']?.movableAgents ?? 0,
          recordedA: r['spread-a']?.movableAgents,
          idle: r['spread-a']?.rebalance?.state === 'idle',
        };
      },
      (x) => x.onA + x.onB === AGENTS && x.recordedA === x.onA && x.onA <= share + TOLERANCE && x.onB <= share + TOLERANCE && x.idle,
      90_000,
    );
    expect(spread.onA + spread.onB).toBe(AGENTS);
    expect(Math.max(spread.onA, spread.onB)).toBeLessThanOrEqual(share + TOLERANCE);
    // Moved with close 1001 and reconnected on their own: no agent lost, each still running the group's config.
    const after = await eventually(
      () => governed(['spread-a', 'spread-b']),
      (g) => g.every((x) => x.connected && x.applied),
      30_000,
    );
    expect(after.filter((x) => !x.connected || !x.applied)).toEqual([]);
    expect(agents.filter((x) => x.count((e) => e.event === 'disconnected') > 0).length).toBeGreaterThanOrEqual(spread.onB);
    // One round: A shed exactly its surplus over the share plus the tolerance, and every shed agent
    // stayed on B: those that came back through the round-robin proxy were refused (503 + Retry-After)
    // and reached B on their next attempt. Without the gate about half come back and it takes rounds.
    const surplus = AGENTS - share - TOLERANCE;
    expect((await shedTotal('rebalance')) - shedBefore).toBe(surplus);
    expect(spread).toMatchObject({ onA: share + TOLERANCE, onB: surplus });
    expect((await refusedOverShare()) - refusedBefore).toBeGreaterThan(0);
    expect((await records())['spread-b']?.rebalance).toMatchObject({ state: 'idle' });
  }, 300_000);

  it('a replica stopped with SIGTERM drains its agents gradually, and they reconnect to the other', async () => {
    const onA = held();
    const onB = (await records())['spread-b']?.movableAgents ?? 0;
    expect(onB).toBeGreaterThan(0);
    expect(onA + onB).toBe(AGENTS);
    const rebalancedBefore = await shedTotal('rebalance');
    // While B stops, watch A: gradual means its count climbs in several steps before B is gone.
    let exited = false;
    void b!.exited.then(() => (exited = true));
    b!.child.kill('SIGTERM');
    const steps = new Set<number>([onA]);
    let sawLeaving = false;
    while (!exited) {
      steps.add(held());
      if (!sawLeaving) sawLeaving = (await records())['spread-b']?.rebalance?.reason === 'shutdown';
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await b!.exited).toBe(0);
    expect(b!.out).toMatch(new RegExp(`shutdown: ${onB} agent connections asked to reconnect elsewhere over 4000 ms`));
    b = undefined;
    expect(sawLeaving).toBe(true);
    expect(steps.size).toBeGreaterThanOrEqual(3);
    await eventually(
      async () => held(),
      (n) => n === AGENTS,
      30_000,
    );
    const after = await eventually(
      () => governed(['spread-a']),
      (g) => g.every((x) => x.connected && x.applied),
      30_000,
    );
    expect(after.filter((x) => !x.connected || !x.applied)).toEqual([]);
    // A leaving replica counts for no share: A took B's agents without shedding any of them again.
    expect(await shedTotal('rebalance')).toBe(rebalancedBefore);
  }, 120_000);

  it('a gRPC agent asked to move gets UNAVAILABLE and GOAWAY: its next stream opens a new connection through the load balancer', async () => {
    await Promise.all(agents.map((x) => x.kill()));
    await eventually(
      async () => held(),
      (n) => n === 0,
    );
    const grpcProxy = await RoundRobinProxy.start([a.grpcPort]);
    const client = new GrpcClient(`127.0.0.1:${grpcProxy.port}`, grpc.credentials.createInsecure());
    try {
      const uid = newAgentUid();
      const hello = (seq: number) => ({
        instanceUid: uid.bytes,
        sequenceNum: seq,
        capabilities: 1,
        agentDescription: { identifyingAttributes: grpcAttributes({ 'service.name': 'spread-grpc' }) },
      });
      const first = GrpcTestAgent.open(grpcProxy.port, { client });
      await first.exchange(hello(0));
      expect(grpcProxy.accepted).toBe(1);
      expect(await a.app.get(ConnectionDrainer).drain('rebalance', 1, 0)).toBe(1);
      expect(await first.ended()).toMatchObject({ code: grpc.status.UNAVAILABLE, details: expect.stringMatching(/rebalancing/) });
      // The same client (channel) again: without the GOAWAY it would reuse the connection to this replica.
      const second = GrpcTestAgent.open(grpcProxy.port, { client });
      expect((await second.exchange(hello(1))).instanceUid).toBeDefined();
      expect(grpcProxy.accepted).toBe(2);
      second.call.end();
    } finally {
      client.close();
      await grpcProxy.close();
    }
  });
});
