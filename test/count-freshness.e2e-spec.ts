import { create } from '@bufbuild/protobuf';
import {
  AgentCapabilities as Cap,
  AgentRemoteConfig,
  ComponentHealthSchema,
  RemoteConfigStatusSchema,
  RemoteConfigStatuses,
} from '../src/gen/opamp/v1/opamp_pb';
import { eventually } from './support/agents-api';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

const CAPS = [
  Cap.AgentCapabilities_ReportsStatus,
  Cap.AgentCapabilities_AcceptsRemoteConfig,
  Cap.AgentCapabilities_ReportsHealth,
  Cap.AgentCapabilities_ReportsRemoteConfig,
].reduce((a, b) => a | BigInt(b), 0n);

/** Small, so that the tests wait little; the default is 10 s. */
const MAX_AGE_MS = 1000;

/**
 * Counts from a window of at most COUNT_SNAPSHOT_MAX_AGE_MS (the local default's count
 * snapshot; indexed counts on MongoDB, where they are fresh anyway): what an agent does shows in
 * its group's status counts within the window, a new agent, its config state, its disconnection.
 */
describe('group status counts follow the agents within COUNT_SNAPSHOT_MAX_AGE_MS', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const open: RawWsAgent[] = [];

  beforeAll(async () => {
    server = await startTestServer({ COUNT_SNAPSHOT_MAX_AGE_MS: String(MAX_AGE_MS) });
    api = restClient(server);
    expect(
      (
        await api('POST', '/remoteconfigs', {
          metadata: { name: 'fresh-config' },
          spec: { contentType: 'application/yaml', body: 'receivers:\n  otlp: {}\n' },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'fresh' },
          spec: { selector: 'service.name=fresh', configs: [{ fileName: '', remoteConfig: 'fresh-config' }] },
        })
      ).status,
    ).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((ws) => ws.close().catch(() => undefined)));
    await server?.close();
  });

  const status = async () => (await api('GET', '/agentgroups/fresh')).body.status;
  const within = <T>(fn: () => Promise<T>, ok: (v: T) => boolean) => eventually(fn, ok, 10 * MAX_AGE_MS + 15_000);

  it('a new agent, its delivery state (applying, then applied) and its disconnection each show in the counts', async () => {
    // Counted once before: the window now holds a read without the agent.
    expect(await status()).toMatchObject({ agents: 0, connected: 0 });
    const ws = await RawWsAgent.connect(server.opampPort);
    open.push(ws);
    const uid = newUid();
    let seq = 0n;
    const first = await ws.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: seq,
        capabilities: CAPS,
        agentDescription: description({ 'service.name': 'fresh' }, { 'host.name': 'fresh-1' }),
        health: create(ComponentHealthSchema, { healthy: true, status: 'StatusOK' }),
        remoteConfigStatus: create(RemoteConfigStatusSchema, { status: RemoteConfigStatuses.RemoteConfigStatuses_UNSET }),
      }),
    );
    let rc: AgentRemoteConfig | undefined = first.remoteConfig ?? undefined;
    for (let n = ws.received.length + 1; !rc; n++) rc = (await ws.nth(n, 30_000)).remoteConfig ?? undefined;

    let s = await within(status, (v) => v.agents === 1);
    expect(s).toMatchObject({ agents: 1, connected: 1, healthy: 1 });
    expect(s.config.applied).toBe(0);

    const report = (st: RemoteConfigStatuses) =>
      ws.exchange(
        agentMessage({
          instanceUid: uid.bytes,
          sequenceNum: ++seq,
          capabilities: CAPS,
          remoteConfigStatus: create(RemoteConfigStatusSchema, { lastRemoteConfigHash: rc!.configHash, status: st }),
        }),
      );
    await report(RemoteConfigStatuses.RemoteConfigStatuses_APPLYING);
    s = await within(status, (v) => v.config.applying === 1);
    expect(s.config).toMatchObject({ applying: 1, applied: 0 });

    await report(RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);
    s = await within(status, (v) => v.config.applied === 1);
    expect(s.config).toMatchObject({ applied: 1, applying: 0, pending: 0, failed: 0 });

    await ws.close();
    s = await within(status, (v) => v.connected === 0);
    expect(s).toMatchObject({ agents: 1, connected: 0, healthy: 0 });
  }, 120_000);

  it("the agent list's remainingItemCount follows new agents within the window", async () => {
    const count = async () => (await api('GET', '/agents?limit=1&selector=service.name%3Dfresh-list')).body.metadata.remainingItemCount as number;
    const agents: RawWsAgent[] = [];
    for (let i = 0; i < 3; i++) {
      const ws = await RawWsAgent.connect(server.opampPort);
      open.push(ws);
      agents.push(ws);
      await ws.exchange(
        agentMessage({
          instanceUid: newUid().bytes,
          sequenceNum: 0n,
          capabilities: CAPS,
          agentDescription: description({ 'service.name': 'fresh-list' }, { 'host.name': `list-${i}` }),
        }),
      );
    }
    // Three match: the first is on the page, two follow it.
    expect(await within(count, (n) => n === 2)).toBe(2);
  }, 60_000);
});
