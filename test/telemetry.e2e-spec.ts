import { fromBinary, fromJson, JsonValue, toBinary } from '@bufbuild/protobuf';
import { gzipSync } from 'node:zlib';
import { ExportMetricsServiceRequestSchema, ExportMetricsServiceResponseSchema } from '../src/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb';
import { eventually, getAgent } from './support/agents-api';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { NatsServer } from './support/nats-server';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { restClient } from './support/rest-client';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';
import { TelemetryService } from '../src/telemetry/telemetry.service';

/** One OTLP JSON data point of a cumulative sum (the Collector's counters) or a gauge. */
const num = (value: number, timeMs: number, attrs: Record<string, string>) => ({
  attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
  startTimeUnixNano: String(BigInt(T0 - 3_600_000) * 1_000_000n),
  timeUnixNano: String(BigInt(timeMs) * 1_000_000n),
  asDouble: value,
});
const T0 = Date.now() - 20 * 60_000;
const min = 60_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests build and read deep, loosely typed OTLP JSON
type Json = any;

/** A Collector's own-metrics report as OTLP JSON: accepted spans, sent/failed spans, queue, RSS. */
function report(uid: string, timeMs: number, v: { accepted: number; sent: number; failed: number; queue?: number }): Json {
  const sum = (name: string, value: number, attrs: Record<string, string>) => ({
    name,
    sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [num(value, timeMs, attrs)] },
  });
  return {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            { key: 'service.instance.id', value: { stringValue: uid } },
            { key: 'service.name', value: { stringValue: 'otelcol' } },
          ],
        },
        scopeMetrics: [
          {
            scope: { name: 'go.opentelemetry.io/collector/receiver/receiverhelper' },
            metrics: [
              sum('otelcol_receiver_accepted_spans', v.accepted, { receiver: 'otlp', transport: 'grpc' }),
              sum('otelcol_receiver_refused_spans', 0, { receiver: 'otlp', transport: 'grpc' }),
              sum('otelcol_exporter_sent_spans', v.sent, { exporter: 'otlp/backend' }),
              sum('otelcol_exporter_send_failed_spans', v.failed, { exporter: 'otlp/backend' }),
              { name: 'otelcol_exporter_queue_size', gauge: { dataPoints: [num(v.queue ?? 0, timeMs, { exporter: 'otlp/backend' })] } },
              { name: 'otelcol_exporter_queue_capacity', gauge: { dataPoints: [num(1000, timeMs, { exporter: 'otlp/backend' })] } },
              { name: 'otelcol_process_memory_rss', gauge: { dataPoints: [num(123_000_000, timeMs, {})] } },
              {
                name: 'http.server.request.duration',
                histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: String(BigInt(timeMs) * 1_000_000n), count: '3' }] },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe("agents' own telemetry (issue 20)", () => {
  let server: TestServer;
  let token: string;
  let endpoint: string;
  const agents: GoAgent[] = [];
  const post = (body: Buffer | string, headers: Record<string, string>) =>
    fetch(endpoint, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, ...headers } });
  const postJson = (doc: unknown) => post(JSON.stringify(doc), { 'content-type': 'application/json' });

  beforeAll(async () => {
    server = await startTestServer({ OPAMP_AGENT_AUTH: 'token', TELEMETRY_STALE_SECONDS: '2' });
    token = (await restClient(server)('POST', '/enrollment-tokens', {})).body.token as string;
    endpoint = `http://127.0.0.1:${server.opampPort}/v1/metrics`;
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
  });
  const start = (...extra: string[]) => {
    const a = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--header', `Authorization: Bearer ${token}`, ...extra]);
    agents.push(a);
    return a;
  };

  it('offers this endpoint with the agent token to an opamp-go agent that reports own metrics, and not to one that does not', async () => {
    const reporter = start('--service-name', 'reporter', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics');
    const offer = await reporter.event('own_metrics', 15_000);
    expect(offer).toMatchObject({ destinationEndpoint: endpoint, headers: { Authorization: `Bearer ${token}` } });

    const plain = start('--service-name', 'plain', '--capabilities', 'ReportsStatus,ReportsHeartbeat');
    const uid = (await plain.event('started')).uid as string;
    await eventually(
      () => getAgent(server, uid),
      (r) => r.status === 200 && r.body.status.connected,
    );
    await plain.event('message');
    expect(plain.count((e) => e.event === 'own_metrics' || e.event === 'connection_settings')).toBe(0);
  });

  it('sends the offer once (hash-gated) however many heartbeats follow, and a group pointing elsewhere wins', async () => {
    const beating = start('--service-name', 'beating', '--heartbeat', '1', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics');
    await beating.event('own_metrics', 15_000);
    const from = beating.events.length;
    // Five more answers (heartbeats) carry no second offer.
    await beating.waitFor(() => beating.events.slice(from).filter((e) => e.event === 'message').length >= 5, 30_000);
    expect(beating.count((e) => e.event === 'own_metrics')).toBe(1);

    const group = {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'elsewhere' },
      spec: {
        selector: 'service.name=elsewhere',
        connectionSettings: { ownMetrics: { endpoint: 'http://127.0.0.1:4318/v1/metrics', headers: { 'x-tenant': 'blue' } } },
      },
    };
    expect((await restClient(server)('POST', '/agentgroups', group)).status).toBe(201);
    const grouped = start('--service-name', 'elsewhere', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics');
    expect(await grouped.event('own_metrics', 15_000)).toMatchObject({
      destinationEndpoint: 'http://127.0.0.1:4318/v1/metrics',
      headers: { 'x-tenant': 'blue' },
    });
  });

  it('takes OTLP JSON and gzipped protobuf for a connected agent; rates, Idle and ExportFailing follow the series sent', async () => {
    const agent = start('--service-name', 'collector', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsHealth,ReportsOwnMetrics');
    const uid = (await agent.event('started')).uid as string;
    await agent.event('own_metrics', 15_000);

    // JSON: a baseline, then a busy minute (600 spans accepted, 600 sent).
    for (const [t, v] of [
      [T0, { accepted: 1000, sent: 1000, failed: 0 }],
      [T0 + min, { accepted: 1600, sent: 1600, failed: 0, queue: 7 }],
    ] as const) {
      const r = await postJson(report(uid, t, v));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(await r.json()).toEqual({});
    }
    let t = (await restClient(server)('GET', `/agents/${uid}/telemetry`)).body;
    expect(t.status.held).toBe(true);
    expect(t.status.current).toMatchObject({
      acceptedPerSecond: 10,
      sentPerSecond: 10,
      exportFailureRatio: 0,
      queueSize: 7,
      queueCapacity: 1000,
      rssBytes: 123_000_000,
    });
    expect(t.status.window).toMatchObject({ stepSeconds: 15, buckets: 240 });
    const accepted = t.status.window.series.find((s: { family: string }) => s.family === 'receiver_accepted');
    expect(accepted).toMatchObject({ component: 'otlp', signal: 'traces', current: 10 });
    expect(accepted.points.filter((p: number | null) => p === 10)).toHaveLength(4);
    expect(t.status.window.series.some((s: { family: string }) => s.family.includes('duration'))).toBe(false);
    expect(t.status.conditions.find((c: { type: string }) => c.type === 'Idle')).toMatchObject({ status: 'False' });
    // opampctl describe agent prints the current rates.
    buildOpampctl();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-telemetry-'));
    const described = await runOpampctl(['describe', 'agent', uid], {
      env: { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, OPAMPCTL_CONFIG: path.join(home, 'config'), HOME: home },
    });
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^Telemetry:$/m);
    expect(described.stdout).toMatch(/^ {2}Accepted: +10 items\/s$/m);
    expect(described.stdout).toMatch(/^ {2}Queue: +7 \/ 1000$/m);

    // Protobuf (gzipped): nothing accepted for 11 minutes while every send fails.
    const pb = (timeMs: number, v: { accepted: number; sent: number; failed: number }) => {
      const doc = report(uid, timeMs, v);
      return Buffer.from(toBinary(ExportMetricsServiceRequestSchema, fromJson(ExportMetricsServiceRequestSchema, doc as unknown as JsonValue)));
    };
    for (const [tm, v] of [
      [T0 + 6 * min, { accepted: 1600, sent: 1600, failed: 300 }],
      [T0 + 12 * min, { accepted: 1600, sent: 1600, failed: 900 }],
    ] as const) {
      const r = await post(gzipSync(pb(tm, v)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/x-protobuf');
      expect(fromBinary(ExportMetricsServiceResponseSchema, new Uint8Array(await r.arrayBuffer())).partialSuccess).toBeUndefined();
    }
    t = (await restClient(server)('GET', `/agents/${uid}/telemetry`)).body;
    expect(t.status.current).toMatchObject({ acceptedPerSecond: 0, sendFailedPerSecond: 1.667 });
    const byType = Object.fromEntries(t.status.conditions.map((c: { type: string }) => [c.type, c]));
    expect(byType.Idle).toMatchObject({ status: 'True', reason: 'NoItemsAccepted' });
    expect(byType.ExportFailing).toMatchObject({ status: 'True', reason: 'SendFailures' });
    expect(byType.Idle.since).toEqual(expect.any(String));
    // The same conditions on the agent resource, and counted for Prometheus.
    const resource = (await getAgent(server, uid)).body;
    expect(resource.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual(
      expect.arrayContaining(['Idle=True', 'ExportFailing=True']),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).text();
    expect(metrics).toMatch(/opamp_agent_conditions\{type="Idle"\} [1-9]/);
    expect(metrics).toMatch(/opamp_agent_conditions\{type="ExportFailing"\} [1-9]/);

    // A resource naming no known agent is refused, the rest taken (partial success).
    const mixed = report(uid, T0 + 13 * min, { accepted: 1700, sent: 1700, failed: 900 });
    mixed.resourceMetrics.push(report('0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90', T0 + 13 * min, { accepted: 1, sent: 1, failed: 0 }).resourceMetrics[0]);
    const partial = await postJson(mixed);
    expect(partial.status).toBe(200);
    const ps = ((await partial.json()) as Json).partialSuccess;
    expect(ps).toMatchObject({ rejectedDataPoints: '8' });
    expect(ps.errorMessage).toMatch(/no known agent/);
  });

  it('writes the own-telemetry conditions and rates on the agent, only when they change, so lists filter on them (condition=Idle, ExportFailing)', async () => {
    const agent = start('--service-name', 'listed', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsHealth,ReportsOwnMetrics');
    const uid = (await agent.event('started')).uid as string;
    await agent.event('own_metrics', 15_000);
    const api = restClient(server);
    const telemetry = server.app.get(TelemetryService);
    const listed = async (condition: string) =>
      ((await api('GET', `/agents?condition=${condition}&selector=service.name%3Dlisted`)).body.items as { metadata: { name: string } }[]).map(
        (i) => i.metadata.name,
      );

    for (const [t, v] of [
      [T0, { accepted: 1000, sent: 1000, failed: 0 }],
      [T0 + min, { accepted: 1600, sent: 1600, failed: 0 }],
    ] as const)
      expect((await postJson(report(uid, t, v))).status).toBe(200);
    await telemetry.publish();
    const busy = (await getAgent(server, uid)).body.status.ownTelemetry;
    expect(busy).toMatchObject({ conditions: [], acceptedPerSecond: 10, sentPerSecond: 10, exportFailureRatio: 0 });
    expect(await listed('Idle')).toEqual([]);
    // The same rates a little later, another report in the same band: nothing is written.
    expect((await postJson(report(uid, T0 + 2 * min, { accepted: 2300, sent: 2300, failed: 0 }))).status).toBe(200);
    await telemetry.publish();
    expect((await getAgent(server, uid)).body.status.ownTelemetry).toEqual(busy);

    // A busier agent, and one that sends no own metrics: sorted by rate, the busier comes first and the silent one is left out.
    const busier = start('--service-name', 'listed', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsHealth,ReportsOwnMetrics');
    const busierUid = (await busier.event('started')).uid as string;
    const silent = start('--service-name', 'listed', '--capabilities', 'ReportsStatus,ReportsHeartbeat');
    const silentUid = (await silent.event('started')).uid as string;
    for (const [t, v] of [
      [T0, { accepted: 0, sent: 0, failed: 0 }],
      [T0 + min, { accepted: 2400, sent: 2400, failed: 0 }],
    ] as const)
      expect((await postJson(report(busierUid, t, v))).status).toBe(200);
    await telemetry.publish();
    const sorted = async (sort: string, extra = '') =>
      (await api('GET', `/agents?selector=service.name%3Dlisted&sort=${sort}${extra}`)).body as {
        items: { metadata: { name: string } }[];
        metadata: { continue?: string };
      };
    expect((await sorted('-acceptedRate')).items.map((i) => i.metadata.name)).toEqual([busierUid, uid]);
    expect((await sorted('acceptedRate')).items.map((i) => i.metadata.name)).toEqual([uid, busierUid]);
    const first = await sorted('-acceptedRate', '&limit=1');
    expect(first.items.map((i) => i.metadata.name)).toEqual([busierUid]);
    const second = await sorted('-acceptedRate', `&limit=1&continue=${encodeURIComponent(first.metadata.continue ?? '')}`);
    expect(second.items.map((i) => i.metadata.name)).toEqual([uid]);
    expect((await sorted('uid')).items.map((i) => i.metadata.name)).toContain(silentUid);
    // Filtered by rate: bounds on the stored rates; the silent agent has none, so no bound holds for it.
    expect((await sorted('uid', '&minAcceptedRate=20')).items.map((i) => i.metadata.name)).toEqual([busierUid]);
    expect((await sorted('uid', '&maxAcceptedRate=15')).items.map((i) => i.metadata.name)).toEqual([uid]);
    expect((await sorted('uid', '&minSentRate=5&maxSentRate=50')).items.map((i) => i.metadata.name).sort()).toEqual([busierUid, uid].sort());
    expect((await sorted('uid', '&minExportFailureRatio=0.5')).items).toEqual([]);
    for (const bad of ['minAcceptedRate=abc', 'maxExportFailureRatio=2', 'minSentRate=-1']) expect((await api('GET', `/agents?${bad}`)).status).toBe(400);

    // Nothing accepted for 11 minutes while every send fails: both conditions are stored, and the lists find the agent.
    for (const [t, v] of [
      [T0 + 7 * min, { accepted: 2300, sent: 2300, failed: 300 }],
      [T0 + 13 * min, { accepted: 2300, sent: 2300, failed: 900 }],
    ] as const)
      expect((await postJson(report(uid, t, v))).status).toBe(200);
    await telemetry.publish();
    const failing = (await getAgent(server, uid)).body.status.ownTelemetry;
    expect(failing).toMatchObject({ conditions: ['ExportFailing', 'Idle'], acceptedPerSecond: 0, sentPerSecond: 0, exportFailureRatio: 1 });
    expect(Date.parse(failing.at)).toBeGreaterThan(Date.parse(busy.at));
    expect(await listed('Idle')).toEqual([uid]);
    expect(await listed('ExportFailing')).toEqual([uid]);
    expect(await listed('Restarting')).toEqual([]);
    expect((await sorted('-exportFailureRatio', '&minExportFailureRatio=0.5')).items.map((i) => i.metadata.name)).toEqual([uid]);
    expect((await api('GET', '/agents?condition=Busy')).status).toBe(400);
    // A group of these agents counts them per condition, from the same stored summaries.
    const created = await api('POST', '/agentgroups', {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'listed' },
      spec: { selector: 'service.name=listed' },
    });
    expect(created.status).toBe(201);
    const grp = await api('GET', '/agentgroups/listed');
    expect(grp.body.status.agents).toBe(3);
    // Its totals: the busier agent's 40 items/s in and out; the failing one accepts and sends nothing now.
    expect(grp.body.status.ownTelemetry).toEqual({
      conditions: { Idle: 1, ExportFailing: 1, Stale: 0, Restarting: 0 },
      acceptedPerSecond: 40,
      sentPerSecond: 40,
    });
  });

  it("a rollout's data-plane gate (exportFailing) rolls back when the canary's own telemetry says its exporter fails after the change (issue 19)", async () => {
    const api = restClient(server);
    for (const [name, body] of [
      ['gated-v1', 'exporters:\n  otlp/backend: {}\n'],
      ['gated-v2', 'exporters:\n  otlp/backend:\n    endpoint: broken:4317\n'],
    ]) {
      expect((await api('POST', '/remoteconfigs', { metadata: { name }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    }
    expect(
      (
        await api('POST', '/agentgroups', {
          metadata: { name: 'gated' },
          spec: { selector: 'service.name=gated', configs: [{ fileName: '', remoteConfig: 'gated-v1' }] },
        })
      ).status,
    ).toBe(201);
    const caps = 'ReportsStatus,AcceptsRemoteConfig,ReportsRemoteConfig,ReportsEffectiveConfig,ReportsHealth,ReportsHeartbeat,ReportsOwnMetrics';
    const fleet = [start('--service-name', 'gated', '--capabilities', caps), start('--service-name', 'gated', '--capabilities', caps)];
    const uids = await Promise.all(fleet.map(async (a) => (await a.event('started')).uid as string));
    await eventually(
      () => api('GET', '/agentgroups/gated'),
      (r) => r.body.status?.config?.applied === 2,
      30_000,
    );
    // Both export fine before the change.
    for (const uid of uids) {
      for (const [tm, v] of [
        [T0, { accepted: 1000, sent: 1000, failed: 0 }],
        [T0 + min, { accepted: 1600, sent: 1600, failed: 0 }],
      ] as const)
        expect((await postJson(report(uid, tm, v))).status).toBe(200);
    }
    const created = await api('POST', '/rollouts', {
      metadata: { name: 'gated-v2' },
      spec: {
        target: { group: 'gated' },
        configs: [{ fileName: '', remoteConfig: 'gated-v2' }],
        stages: [{ stage: '1', bakeSeconds: 600 }, '100%'],
        applyTimeoutSeconds: 60,
        gates: [{ metric: 'exportFailing', maxRatio: 0 }],
        onGateTrip: 'rollback',
      },
    });
    expect(created.status).toBe(201);
    // The canary applies the new config and bakes; its gate passes while it exports fine.
    const baking = await eventually(
      () => api('GET', '/rollouts/gated-v2'),
      (r) => r.body.status?.phase === 'Progressing' && r.body.status.stages?.[0]?.applied === 1 && r.body.status.gates?.length === 1,
      30_000,
    );
    expect(baking.body.status.gates[0]).toMatchObject({ metric: 'exportFailing', passed: true, of: 1, agents: 0 });
    const canary = fleet.findIndex((a) => a.events.some((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('broken:4317')));
    expect(canary).toBeGreaterThanOrEqual(0);
    // Then its own metrics say every send fails: the gate trips during the bake and the rollout rolls back.
    for (const [tm, v] of [
      [T0 + 6 * min, { accepted: 2200, sent: 1600, failed: 300 }],
      [T0 + 12 * min, { accepted: 2800, sent: 1600, failed: 900 }],
    ] as const)
      expect((await postJson(report(uids[canary], tm, v))).status).toBe(200);
    const rolled = await eventually(
      () => api('GET', '/rollouts/gated-v2'),
      (r) => r.body.status?.phase === 'RolledBack',
      30_000,
    );
    expect(rolled.body.status.phase).toBe('RolledBack');
    expect(rolled.body.status.conditions.at(-1)).toMatchObject({ reason: 'GateTripped', message: expect.stringContaining('exportFailing 1/1') });
    expect(rolled.body.status.failedAgents).toEqual([{ uid: uids[canary], error: 'ExportFailing after applying (its own telemetry)' }]);
    // The other agent never got the change; the canary gets its old config back.
    expect(fleet[1 - canary].events.some((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('broken:4317'))).toBe(false);
    await fleet[canary].waitFor((e) => e.event === 'remote_config' && !JSON.stringify(e.config).includes('broken:4317'), 15_000);
  });

  it('turns Stale on for a connected agent expected to send that sends nothing', async () => {
    const silent = start('--service-name', 'silent', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics');
    const uid = (await silent.event('started')).uid as string;
    await silent.event('own_metrics', 15_000);
    const r = await eventually(
      () => getAgent(server, uid),
      (a) => a.body.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Stale' && c.status === 'True'),
    );
    expect(r.body.status.conditions.find((c: { type: string }) => c.type === 'Stale')).toMatchObject({ reason: 'NoOwnMetrics' });
  });

  it('gives bad input its defined 4xx and stays up', async () => {
    const reporter = start('--service-name', 'target', '--capabilities', 'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics');
    const uid = (await reporter.event('started')).uid as string;
    await reporter.event('own_metrics', 15_000);
    const pbHeaders = { 'content-type': 'application/x-protobuf' };

    const noToken = await fetch(endpoint, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
    expect(
      (await post('{}', { 'content-type': 'application/json', authorization: 'Bearer oce_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }))
        .status,
    ).toBe(401);
    expect((await post('hello', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await fetch(endpoint, { headers: { authorization: `Bearer ${token}` } })).status).toBe(405);

    const garbage = await post(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), pbHeaders);
    expect(garbage.status).toBe(400);
    expect(garbage.headers.get('content-type')).toBe('application/x-protobuf');
    const badJson = await post('{"resourceMetrics": [', { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ code: 3, message: expect.stringContaining('not an OTLP') });
    expect((await post(Buffer.from('not gzip'), { ...pbHeaders, 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await post(Buffer.from(''), { ...pbHeaders, 'content-encoding': 'br' })).status).toBe(415);

    // A gzip bomb: 64 MiB of zeros in ~64 KiB; refused at the 1 MiB limit after decompression.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const boom = await post(bomb, { ...pbHeaders, 'content-encoding': 'gzip' });
    expect(boom.status).toBe(413);
    expect(await boom.text()).toMatch(/after decompression/);
    // Over the limit before decompression.
    expect((await post(Buffer.alloc(2 * 1024 * 1024, 1), pbHeaders)).status).toBe(413);

    // 30,000 data points (limit 20,000): 413.
    const many = report(uid, Date.now(), { accepted: 1, sent: 1, failed: 0 });
    const dp = { ...many.resourceMetrics[0].scopeMetrics[0].metrics[4].gauge!.dataPoints[0], attributes: [] };
    many.resourceMetrics[0].scopeMetrics[0].metrics[4].gauge!.dataPoints = Array.from({ length: 30_000 }, () => dp);
    const manyPb = Buffer.from(toBinary(ExportMetricsServiceRequestSchema, fromJson(ExportMetricsServiceRequestSchema, many as unknown as JsonValue)));
    expect(manyPb.length).toBeLessThan(1024 * 1024);
    const tooMany = await post(manyPb, pbHeaders);
    expect(tooMany.status).toBe(413);
    expect(await tooMany.text()).toMatch(/more than 20000 data points/);

    // A data point with 5,000 attributes (limit 128): 400.
    const wide = report(uid, Date.now(), { accepted: 1, sent: 1, failed: 0 });
    wide.resourceMetrics[0].scopeMetrics[0].metrics[6].gauge!.dataPoints[0].attributes = Array.from({ length: 5000 }, (_, i) => ({
      key: `k${i}`,
      value: { stringValue: 'v' },
    }));
    const tooWide = await postJson(wide);
    expect(tooWide.status).toBe(400);
    expect(((await tooWide.json()) as Json).message).toMatch(/5000 attributes/);

    // Everything refused (no service.instance.id, unknown agent): 400 naming why.
    const anon = report(uid, Date.now(), { accepted: 1, sent: 1, failed: 0 });
    anon.resourceMetrics[0].resource.attributes = [];
    const a = await postJson(anon);
    expect(a.status).toBe(400);
    expect(((await a.json()) as Json).message).toMatch(/service.instance.id/);
    expect((await postJson(report('0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a91', Date.now(), { accepted: 1, sent: 1, failed: 0 }))).status).toBe(400);

    // Still up, and good input still taken.
    expect((await postJson(report(uid, Date.now(), { accepted: 5, sent: 5, failed: 0 }))).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.apiPort}/healthz`)).status).toBe(200);
    expect((await restClient(server)('GET', `/agents/${uid}/telemetry`)).body.status.held).toBe(true);
  });
});

/** Two replicas on one database and a real NATS server: one window per agent, wherever its metrics arrive and whoever reads. */
describe("agents' own telemetry across replicas", () => {
  let nats: NatsServer;
  let a: TestServer;
  let b: TestServer;
  let token: string;
  let agent: GoAgent | undefined;
  const env = { OPAMP_AGENT_AUTH: 'token', REPLICA_HEARTBEAT_SECONDS: '1', REPLICA_TIMEOUT_SECONDS: '4', OPAMP_RECONCILE_INTERVAL_SECONDS: '3600' };
  const postTo = (s: TestServer, doc: unknown) =>
    fetch(`http://127.0.0.1:${s.opampPort}/v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(doc),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
  const telemetryOn = async (s: TestServer, uid: string) => restClient(s)('GET', `/agents/${uid}/telemetry`);

  beforeAll(async () => {
    goAgentBinary();
    nats = await NatsServer.start();
    const uri = testDatabaseUri('telemetry-cluster');
    a = await startTestServer({ ...env, NATS_URL: nats.url, REPLICA_ID: 'tel-a' }, uri);
    b = await startTestServer({ ...env, NATS_URL: nats.url, REPLICA_ID: 'tel-b' }, uri);
    token = (await restClient(a)('POST', '/enrollment-tokens', {})).body.token as string;
  }, 300_000);
  afterAll(async () => {
    await agent?.stop();
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it('metrics posted to replica B for an agent connected to A build one window on A, read alike through either replica', async () => {
    agent = GoAgent.start(`ws://127.0.0.1:${a.opampPort}/v1/opamp`, [
      '--header',
      `Authorization: Bearer ${token}`,
      '--service-name',
      'spread',
      '--capabilities',
      'ReportsStatus,ReportsHeartbeat,ReportsHealth,ReportsOwnMetrics',
    ]);
    const uid = (await agent.event('started')).uid as string;
    await eventually(
      () => getAgent(b, uid),
      (r) => r.status === 200 && r.body.status.connected && r.body.status.replica === 'tel-a',
    );
    // A load balancer spreads the agent's exports: the baseline reaches A, the next minute B.
    expect((await postTo(a, report(uid, T0, { accepted: 1000, sent: 1000, failed: 0 }))).status).toBe(200);
    expect((await postTo(b, report(uid, T0 + min, { accepted: 1600, sent: 1600, failed: 0, queue: 3 }))).status).toBe(200);

    const onA = (await telemetryOn(a, uid)).body.status;
    const onB = (await telemetryOn(b, uid)).body.status;
    for (const st of [onA, onB]) {
      expect(st).toMatchObject({ held: true, heldBy: 'tel-a', reports: 2 });
      // One window saw both reports: the rate is the minute between them (600 spans / 60 s).
      expect(st.current).toMatchObject({ acceptedPerSecond: 10, sentPerSecond: 10, queueSize: 3 });
    }
    expect(onB.window).toEqual(onA.window);
    // The agent's own page on B shows the conditions its holder derives.
    const shown = async (s: TestServer) => ((await getAgent(s, uid)).body.status.conditions as Json[]).map((c) => [c.type, c.status, c.reason]);
    expect(await shown(a)).toEqual(expect.arrayContaining([['Idle', 'False', 'ItemsAccepted']]));
    expect(await shown(b)).toEqual(await shown(a));
    const forwarded = await (await fetch(`http://127.0.0.1:${b.apiPort}/metrics`, { headers: { authorization: `Bearer ${b.token}` } })).text();
    expect(Number(/^opamp_telemetry_forwarded_points_total (\d+)/m.exec(forwarded)?.[1])).toBeGreaterThan(0);
  });

  it('with the bus down, a read on B answers 503 with Retry-After and metrics posted to B are kept there, not lost', async () => {
    const uid = (await agent!.event('started')).uid as string;
    await nats.stop();
    try {
      const down = await eventually(
        () => telemetryOn(b, uid),
        (r) => r.status === 503,
        20_000,
      );
      expect(down.headers['retry-after']).toMatch(/^\d+$/);
      expect(down.body.detail).toContain('tel-a');
      const kept = await postTo(b, report(uid, T0 + 2 * min, { accepted: 2200, sent: 2200, failed: 0 }));
      expect(kept.status).toBe(200);
      expect(await kept.json()).toEqual({});
    } finally {
      await nats.resume();
    }
    // Back on the bus, B asks A again.
    await eventually(
      () => telemetryOn(b, uid),
      (r) => r.status === 200 && r.body.status.heldBy === 'tel-a',
      30_000,
    );
  });
});
