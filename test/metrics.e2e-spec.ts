import { create } from '@bufbuild/protobuf';
import { AgentCapabilities as Cap, RemoteConfigStatusSchema, RemoteConfigStatuses } from '../src/gen/opamp/v1/opamp_pb';
import { eventually, getAgent } from './support/agents-api';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/** Reads one sample of a metric from Prometheus text, matching every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('Prometheus metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${server.apiPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('show connections, messages by kind, config states and request durations changing as agents work', async () => {
    const api = restClient(server);
    expect((await api('POST', '/remoteconfigs', { metadata: { name: 'm-base' }, spec: { contentType: 'application/yaml', body: 'a: 1\n' } })).status).toBe(201);
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'metered' },
          spec: { selector: 'service.name=metered', configs: [{ fileName: '', remoteConfig: 'm-base' }] },
        })
      ).status,
    ).toBe(201);

    const uid = newUid();
    const agent = await RawWsAgent.connect(server.opampPort);
    const caps = BigInt(Cap.AgentCapabilities_ReportsStatus | Cap.AgentCapabilities_AcceptsRemoteConfig | Cap.AgentCapabilities_ReportsRemoteConfig);
    const first = await agent.exchange(
      agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: caps, agentDescription: description({ 'service.name': 'metered' }) }),
    );
    expect(first.remoteConfig).toBeDefined();
    await agent.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 1n, capabilities: caps }));
    await agent.exchange(
      agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 2n,
        capabilities: caps,
        remoteConfigStatus: create(RemoteConfigStatusSchema, {
          lastRemoteConfigHash: first.remoteConfig!.configHash,
          status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED,
        }),
      }),
    );
    await eventually(
      () => getAgent(server, uid.text),
      (r) => r.body.status.remoteConfigStatus?.status === 'APPLIED',
    );

    // The first scrape: fleet gauges come from database counts cached for 15 s after a scrape.
    const during = await scrape();
    expect(sample(during, 'nodejs_eventloop_lag_seconds')).toBeDefined();
    expect(sample(during, 'opamp_agents_connected', { transport: 'websocket' })).toBe(1);
    expect(sample(during, 'opamp_agent_connections_opened_total', { transport: 'websocket' })).toBe(1);
    expect(sample(during, 'opamp_messages_received_total', { transport: 'websocket', kind: 'report' })).toBe(2);
    expect(sample(during, 'opamp_messages_received_total', { transport: 'websocket', kind: 'heartbeat' })).toBe(1);
    expect(sample(during, 'opamp_messages_sent_total', { transport: 'websocket', kind: 'reply' })).toBe(3);
    expect(sample(during, 'opamp_answer_duration_seconds_count', { transport: 'websocket' })).toBe(3);
    expect(sample(during, 'opamp_agents_remote_config', { state: 'applied' })).toBe(1);
    expect(sample(during, 'http_request_duration_seconds_count', { route: '/api/v1/agentgroups', method: 'POST', status_code: '201' })).toBe(1);
    expect(sample(during, 'mongodb_command_duration_seconds_count', { command: 'update', outcome: 'ok' })).toBeGreaterThan(0);

    await agent.close();
    await eventually(
      async () => sample(await scrape(), 'opamp_agents_connected', { transport: 'websocket' }),
      (n) => n === 0,
    );
    const after = await scrape();
    expect(sample(after, 'opamp_agent_connections_closed_total', { transport: 'websocket' })).toBe(1);
  });

  it('can be served on a port of its own', async () => {
    const separate = await startTestServer({ METRICS_PORT: '0' });
    try {
      expect(separate.metricsPort).toBeGreaterThan(0);
      const own = await fetch(`http://127.0.0.1:${separate.metricsPort}/metrics`);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain('opamp_agents_connected');
      expect((await fetch(`http://127.0.0.1:${separate.apiPort}/metrics`)).status).toBe(404);
    } finally {
      await separate.close();
    }
  });
});
