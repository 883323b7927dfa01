import { create } from '@bufbuild/protobuf';
import { AgentCapabilities as Cap, AgentRemoteConfig, RemoteConfigStatusSchema, RemoteConfigStatuses, ServerToAgent } from '../src/gen/opamp/v1/opamp_pb';
import { eventually, getAgent } from './support/agents-api';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * What the Collector's supervisor does when a config starts but fails at run time: it reports
 * FAILED for the new hash, rolls itself back and reports APPLIED for the previous one. The server
 * must show the agent as failed on that config and running the old one, and never push the config
 * it failed on again — not in that session, not after a reconnect — until a new revision comes.
 * The agent is a raw OpAMP client that reports exactly what the supervisor reports.
 */
describe('an agent that rolls itself back after a failed config', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const CAPS = [Cap.AgentCapabilities_ReportsStatus, Cap.AgentCapabilities_AcceptsRemoteConfig, Cap.AgentCapabilities_ReportsRemoteConfig].reduce(
    (a, b) => a | BigInt(b),
    0n,
  );
  const uid = newUid();
  let seq = 0n;
  const status = (hash: Uint8Array, s: RemoteConfigStatuses, errorMessage = '') =>
    create(RemoteConfigStatusSchema, { lastRemoteConfigHash: hash, status: s, errorMessage });
  const report = (ws: RawWsAgent, hash: Uint8Array, s: RemoteConfigStatuses, errorMessage = '') =>
    ws.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: seq++, capabilities: CAPS, remoteConfigStatus: status(hash, s, errorMessage) }));
  /** The next message carrying a remote config, from message `from` on. */
  const nextConfig = async (ws: RawWsAgent, from: number): Promise<AgentRemoteConfig> => {
    for (let n = from; ; n++) {
      const m: ServerToAgent = await ws.nth(n, 20_000);
      if (m.remoteConfig) return m.remoteConfig;
    }
  };
  const revise = async (body: string) => {
    const head = (await api('GET', '/remoteconfigs/sup')).body;
    expect(
      (
        await api('PUT', '/remoteconfigs/sup', {
          metadata: { name: 'sup', resourceVersion: head.metadata.resourceVersion },
          spec: { contentType: 'application/yaml', body },
        })
      ).status,
    ).toBe(200);
  };

  beforeAll(async () => {
    server = await startTestServer();
    api = restClient(server);
    expect(
      (await api('POST', '/remoteconfigs', { metadata: { name: 'sup' }, spec: { contentType: 'application/yaml', body: 'receivers: {}\n# v1\n' } })).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'sup' },
          spec: { selector: 'service.name=sup', configs: [{ fileName: '', remoteConfig: 'sup' }] },
        })
      ).status,
    ).toBe(201);
  });
  afterAll(() => server?.close());

  it('shows it failed and what it runs, and never pushes the failed config again, also after a reconnect; a new revision goes out', async () => {
    let ws = await RawWsAgent.connect(server.opampPort);
    await ws.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: seq++,
        capabilities: CAPS,
        agentDescription: description({ 'service.name': 'sup' }),
        remoteConfigStatus: status(new Uint8Array(), RemoteConfigStatuses.RemoteConfigStatuses_UNSET),
      }),
    );
    const v1 = await nextConfig(ws, 1);
    await report(ws, v1.configHash, RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);

    // v2 starts, then fails at run time: FAILED for v2, then APPLIED for v1 (the supervisor's rollback).
    const seen = ws.received.length;
    await revise('receivers: {}\n# v2\n');
    const v2 = await nextConfig(ws, seen + 1);
    expect(Buffer.from(v2.configHash).equals(Buffer.from(v1.configHash))).toBe(false);
    expect((await report(ws, v2.configHash, RemoteConfigStatuses.RemoteConfigStatuses_FAILED, 'exporter failed to start')).remoteConfig).toBeUndefined();
    expect((await report(ws, v1.configHash, RemoteConfigStatuses.RemoteConfigStatuses_APPLIED)).remoteConfig).toBeUndefined();
    const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
    const shown = await eventually(
      () => getAgent(server, uid.text),
      (r) => r.body.status.remoteConfig?.lastKnownGood === hex(v1.configHash),
    );
    expect(shown.body.status.remoteConfig).toMatchObject({
      state: 'failed',
      desiredHash: hex(v2.configHash),
      error: 'exporter failed to start',
      failedHashes: [hex(v2.configHash)],
      lastKnownGood: hex(v1.configHash),
    });
    expect((await api('GET', '/agentgroups/sup')).body.status.config).toMatchObject({ failed: 1, applied: 0 });

    // A new connection (as after a network cut or a server restart) reporting v1: v2 is not pushed again.
    await ws.close();
    ws = await RawWsAgent.connect(server.opampPort);
    const first = await ws.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: seq++,
        capabilities: CAPS,
        agentDescription: description({ 'service.name': 'sup' }),
        remoteConfigStatus: status(v1.configHash, RemoteConfigStatuses.RemoteConfigStatuses_APPLIED),
      }),
    );
    expect(first.remoteConfig).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await report(ws, v1.configHash, RemoteConfigStatuses.RemoteConfigStatuses_APPLIED)).remoteConfig).toBeUndefined();
    expect(ws.received.filter((m) => m.remoteConfig)).toHaveLength(0);

    // A new revision is a new hash: it goes out.
    const before = ws.received.length;
    await revise('receivers: {}\n# v3\n');
    const v3 = await nextConfig(ws, before + 1);
    expect(hex(v3.configHash)).not.toBe(hex(v2.configHash));
    await ws.close();
  });
});
