import { create } from '@bufbuild/protobuf';
import { getConnectionToken } from '@nestjs/mongoose';
import { Connection, mongo } from 'mongoose';
import { configMapToStored, healthToStored } from '../src/agents/agent-report.mapper';
import { FleetJobs } from '../src/cluster/fleet-jobs.service';
import { ContentStore } from '../src/database/content-store/content-store';
import { CONTENT_GC_JOB } from '../src/database/content-store/content-gc';
import { DatabaseWork, DatabaseWorkTotals } from '../src/database/database-work.metrics';
import {
  AgentConfigFileSchema,
  AgentConfigMapSchema,
  AgentToServer,
  ComponentHealth,
  ComponentHealthSchema,
  EffectiveConfigSchema,
} from '../src/gen/opamp/v1/opamp_pb';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { Json, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

const AGENTS = 200;
const HOUR_MS = 3_600_000;

/** A Collector-like config of about 8 KB (the bench's agents report one of this size). */
function collectorConfig(tag: string, bytes = 8192): string {
  const head = `# ${tag}\nreceivers:\n  otlp:\n    protocols:\n      grpc: {endpoint: 0.0.0.0:4317}\n      http: {endpoint: 0.0.0.0:4318}\nprocessors:\n`;
  let body = head;
  for (let i = 0; body.length < bytes - 200; i++) body += `  batch/${i}: {send_batch_size: ${1000 + i}, timeout: ${i % 10}s}\n`;
  return `${body}exporters:\n  otlp: {endpoint: collector.example:4317}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], processors: [batch/0], exporters: [otlp]}\n`;
}

function effectiveConfig(text: string) {
  return create(EffectiveConfigSchema, {
    configMap: create(AgentConfigMapSchema, {
      configMap: { 'collector.yaml': create(AgentConfigFileSchema, { body: Buffer.from(text), contentType: 'text/yaml' }) },
    }),
  });
}

/** A Collector's health: a pipeline with a receiver and an exporter, started at this agent's own time (so each tree differs). */
function collectorHealth(startedAtMs: number, exporterHealthy = true): ComponentHealth {
  const t = BigInt(startedAtMs) * 1_000_000n;
  const component = (healthy: boolean, status: string, extra: Pick<Partial<ComponentHealth>, 'lastError' | 'componentHealthMap'> = {}) =>
    create(ComponentHealthSchema, { healthy, status, startTimeUnixNano: t, statusTimeUnixNano: t, ...extra });
  return create(ComponentHealthSchema, {
    healthy: exporterHealthy,
    status: exporterHealthy ? 'StatusOK' : 'StatusRecoverableError',
    startTimeUnixNano: t,
    componentHealthMap: {
      'pipeline:traces': component(exporterHealthy, 'StatusOK', {
        componentHealthMap: {
          'receiver:otlp': component(true, 'StatusOK'),
          'processor:batch/0': component(true, 'StatusOK'),
          'exporter:otlp': component(exporterHealthy, exporterHealthy ? 'StatusOK' : 'StatusRecoverableError', {
            lastError: exporterHealthy ? '' : 'connection refused',
          }),
        },
      }),
    },
  });
}

const bsonSize = (d: mongo.Document) => mongo.BSON.calculateObjectSize(d);
/** What two snapshots of the server's database work differ by. */
function workDelta(a: DatabaseWorkTotals, b: DatabaseWorkTotals) {
  const commands: Record<string, number> = {};
  for (const [k, n] of Object.entries(b.commands)) if (n !== (a.commands[k] ?? 0)) commands[k] = n - (a.commands[k] ?? 0);
  return { commands, writtenDocuments: b.writtenDocuments - a.writtenDocuments, writtenBytes: b.writtenBytes - a.writtenBytes };
}

/**
 * The agent document keeps refs to bodies stored once by content (issue 16, "lean agent
 * documents"): what the REST API shows is the same as when the bodies were inline, a body many
 * agents share is stored once, a report of a known body writes only the small update, and the
 * GC removes what no agent and no revision uses any more, never within the grace period.
 */
describe('content-addressed bodies of agents', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let db: mongo.Db;
  let work: DatabaseWork;
  const fleet: { ws: RawWsAgent; uid: ReturnType<typeof newUid>; seq: bigint; first: AgentToServer }[] = [];
  const shared = collectorConfig('shared');

  beforeAll(async () => {
    server = await startTestServer({ REPLICA_HEARTBEAT_SECONDS: '3600', REPLICA_TIMEOUT_SECONDS: '7200' });
    api = restClient(server);
    db = server.app.get<Connection>(getConnectionToken()).db!;
    work = server.app.get(DatabaseWork);
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < AGENTS; i++) {
      const uid = newUid();
      const first = agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 0n,
        capabilities: 0x1n | 0x800n | 0x4n,
        agentDescription: description({ 'service.name': 'shop', 'service.instance.id': `i-${i}` }, { 'host.name': `node-${i}` }),
        health: collectorHealth(t0 + i * 1000),
        effectiveConfig: effectiveConfig(shared),
      });
      fleet.push({ ws: await RawWsAgent.connect(server.opampPort), uid, seq: 0n, first });
    }
    for (let i = 0; i < fleet.length; i += 50) await Promise.all(fleet.slice(i, i + 50).map((a) => a.ws.exchange(a.first)));
  }, 180_000);
  // 200 disconnects are written on close; on a loaded machine with FerretDB that alone has taken over a minute.
  afterAll(async () => {
    await Promise.all(fleet.map((a) => a.ws.close().catch(() => undefined)));
    await server?.close();
  }, 180_000);

  it(`stores the effective config ${AGENTS} agents share once, and keeps each agent document small`, async () => {
    const bodies = await db.collection('content_bodies').find({}).toArray();
    const configs = bodies.filter((b) => b.kind === 'effective-config');
    expect(configs).toHaveLength(1);
    expect(configs[0]._id).toMatch(/^effective-config:[0-9a-f]{64}$/);
    // Each agent's health tree has its own start times: one body each, out of the agent document.
    expect(bodies.filter((b) => b.kind === 'health')).toHaveLength(AGENTS);
    const agents = await db.collection('agents').find({}).toArray();
    expect(agents).toHaveLength(AGENTS);
    for (const a of agents) {
      expect(a.effectiveConfig).toEqual({
        ref: configs[0]._id,
        configMap: [{ name: 'collector.yaml', contentType: 'text/yaml', size: Buffer.byteLength(shared) }],
      });
      expect(a.health).toMatchObject({ healthy: true, status: 'StatusOK', componentCount: 4, unhealthyComponentCount: 0, components: [] });
      expect(a.health.componentsRef).toMatch(/^health:[0-9a-f]{64}$/);
    }
    const agentBytes = agents.reduce((n, d) => n + bsonSize(d), 0);
    const bodyBytes = bodies.reduce((n, d) => n + bsonSize(d), 0);
    const stats = await db.command({ collStats: 'agents' }).catch(() => undefined);
    console.log(
      `${AGENTS} agents sharing a ${Buffer.byteLength(shared)} B effective config: agents ${agentBytes} B of BSON (${Math.round(agentBytes / AGENTS)} B each` +
        `${stats ? `, collStats size ${stats.size}` : ''}), content_bodies ${bodies.length} bodies ${bodyBytes} B, total ${agentBytes + bodyBytes} B`,
    );
    // The 8 KB body is not in any agent document.
    expect(Math.max(...agents.map(bsonSize))).toBeLessThan(2500);
  });

  it('writes only the small update when an agent reports an effective config already stored', async () => {
    const a = fleet[1];
    // The least of three reports: the server's own timers (leases, sweeps) may land a command inside one
    // window on a busy machine, while the report's own cost is the same every time (as in database-budget).
    let d: ReturnType<typeof workDelta> | undefined;
    for (let i = 0; i < 3; i++) {
      const before = work.snapshot();
      await a.ws.exchange(
        agentMessage({ instanceUid: a.uid.bytes, sequenceNum: ++a.seq, capabilities: a.first.capabilities, effectiveConfig: effectiveConfig(shared) }),
      );
      const run = workDelta(before, work.snapshot());
      const total = (x: typeof run) => Object.values(x.commands).reduce((n, c) => n + c, 0);
      if (!d || total(run) < total(d)) d = run;
    }
    d = d!;
    console.log(`a report of an already-stored ${Buffer.byteLength(shared)} B effective config → ${JSON.stringify(d)}`);
    expect(d.commands).toEqual({ update: 1 });
    expect(d.writtenBytes).toBeLessThan(600);
    expect(await db.collection('content_bodies').countDocuments({ kind: 'effective-config' })).toBe(1);
    // Operators see it on /metrics: every put but the first cost no database work of its own.
    const metrics = await (await fetch(`http://127.0.0.1:${server.apiPort}/metrics`)).text();
    const puts = (outcome: string) =>
      Number(new RegExp(`^content_store_puts_total\\{kind="effective-config",outcome="${outcome}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(puts('inserted')).toBe(1);
    expect(puts('known')).toBe(AGENTS + 2);
  });

  it('shows every REST view of an agent exactly as when its bodies were stored in the agent document', async () => {
    const x = fleet[2];
    // The document an earlier version stored for the same report: bodies inline, written by the same mappers.
    const lean = (await db.collection('agents').findOne({ _id: x.uid.text as never }))!;
    const y = newUid();
    const inline = {
      ...lean,
      _id: y.text,
      effectiveConfig: { configMap: configMapToStored(x.first.effectiveConfig!.configMap) },
      health: healthToStored(x.first.health!),
    };
    await db.collection('agents').insertOne(inline as never);
    const views = async (uid: string) => {
      const one = (await api('GET', `/agents/${uid}`)).body;
      const full = (await api('GET', `/agents?view=full&selector=${encodeURIComponent(`service.instance.id=i-2`)}`)).body.items.find(
        (i: Json) => i.metadata.name === uid,
      );
      const summary = (await api('GET', `/agents?selector=${encodeURIComponent(`service.instance.id=i-2`)}`)).body.items.find(
        (i: Json) => i.metadata.name === uid,
      );
      const desired = (await api('GET', `/agents/${uid}/desired-config`)).body;
      const same = (v: Json) => JSON.parse(JSON.stringify(v).replaceAll(uid, 'UID')) as Json;
      // Conditions come from this replica's memory of the connection, which only one of the two has.
      const noConditions = (v: Json) => ({ ...v, status: { ...v.status, conditions: undefined } });
      return { one: same(noConditions(one)), full: same(noConditions(full)), summary: same(noConditions(summary)), desired: same(desired) };
    };
    const [ofLean, ofInline] = [await views(x.uid.text), await views(y.text)];
    expect(ofLean.one.status.effectiveConfig.configMap['collector.yaml'].body).toBe(shared);
    expect(Object.keys(ofLean.one.status.health.components['pipeline:traces'].components)).toEqual(['exporter:otlp', 'processor:batch/0', 'receiver:otlp']);
    expect(ofLean.summary.status.effectiveConfig).toEqual({ configMap: { 'collector.yaml': { contentType: 'text/yaml', size: Buffer.byteLength(shared) } } });
    expect(ofInline).toEqual(ofLean);

    // The inline document is read as it is, and moved to refs by the agent's next report.
    const ws = await RawWsAgent.connect(server.opampPort);
    try {
      await ws.exchange(
        agentMessage({ instanceUid: y.bytes, sequenceNum: 1n, capabilities: x.first.capabilities, agentDescription: x.first.agentDescription }),
      );
      const moved = (await db.collection('agents').findOne({ _id: y.text as never }))!;
      expect(moved.effectiveConfig.ref).toBe(lean.effectiveConfig.ref);
      expect(moved.effectiveConfig.configMap[0]).not.toHaveProperty('body');
      expect(moved.health.componentsRef).toBe(lean.health.componentsRef);
      expect(moved.health.components).toEqual([]);
      const after = (await api('GET', `/agents/${y.text}`)).body;
      expect(after.status.effectiveConfig).toEqual(ofLean.one.status.effectiveConfig);
      expect(after.status.health).toEqual(ofLean.one.status.health);
    } finally {
      await ws.close();
    }
  });

  const manifest = (name: string, body: string) => ({
    kind: 'RemoteConfig',
    apiVersion: 'v1',
    metadata: { name },
    spec: { contentType: 'application/yaml', body },
  });
  const A = 'receivers:\n  otlp: {}\n# first\n';
  const B = A.replace('# first', '# second');

  it('stores a remote config body once for every revision of any config that has it; history, revisions and diffs show it as before', async () => {
    expect((await api('POST', '/remoteconfigs', manifest('rc-one', A))).status).toBe(201);
    expect((await api('POST', '/remoteconfigs', manifest('rc-two', A))).status).toBe(201);
    const cur = (await api('GET', '/remoteconfigs/rc-one')).body;
    expect((await api('PUT', '/remoteconfigs/rc-one', { ...cur, spec: { ...cur.spec, body: B } })).status).toBe(200);
    expect((await api('POST', '/remoteconfigs/rc-one/rollback', { revision: 1 })).body.status.latestRevision).toBe(3);
    // Four revisions (rc-one 1..3, rc-two 1), two bodies.
    const bodies = await db.collection('content_bodies').find({ kind: 'remote-config' }).toArray();
    expect(bodies.map((b) => b.body).sort()).toEqual([A, B].sort());
    const revisions = await db.collection('remote_config_revisions').find({}).toArray();
    expect(revisions).toHaveLength(4);
    for (const r of revisions) expect(r).not.toHaveProperty('body');
    const history = (await api('GET', '/remoteconfigs/rc-one/revisions')).body;
    expect(history.items.map((i: Json) => [i.metadata.revision, i.spec])).toEqual([
      [3, { contentType: 'application/yaml' }],
      [2, { contentType: 'application/yaml' }],
      [1, { contentType: 'application/yaml' }],
    ]);
    expect((await api('GET', '/remoteconfigs/rc-one/revisions/1')).body.spec.body).toBe(A);
    expect((await api('GET', '/remoteconfigs/rc-one/revisions/2')).body.spec.body).toBe(B);
    expect((await api('GET', '/remoteconfigs/rc-one/revisions/3')).body.spec.body).toBe(A);
    expect((await api('GET', '/remoteconfigs/rc-two/revisions/1')).body.spec.body).toBe(A);
    const diff = await fetch(`${server.baseUrl}/api/v1/remoteconfigs/rc-one/diff?from=1&to=2`, { headers: server.authHeaders });
    expect(await diff.text()).toContain('-# first\n+# second\n');
  });

  it('moves the bodies of revisions stored inline (by an earlier version) to the content store at start', async () => {
    const C = 'exporters:\n  debug: {}\n';
    expect((await api('POST', '/remoteconfigs', manifest('rc-three', C))).status).toBe(201);
    const cur = (await api('GET', '/remoteconfigs/rc-three')).body;
    expect((await api('PUT', '/remoteconfigs/rc-three', { ...cur, spec: { ...cur.spec, body: `${C}# 2\n` } })).status).toBe(200);
    // Revision 1 as an earlier version stored it: the body inline, none in the content store.
    const revisions = db.collection('remote_config_revisions');
    const old = (await revisions.findOne({ _id: 'rc-three/1' as never }))!;
    await revisions.updateOne({ _id: old._id }, { $set: { body: C } });
    await db.collection('content_bodies').deleteOne({ _id: `remote-config:${old.hash}` as never });
    // Read as it is…
    expect((await api('GET', '/remoteconfigs/rc-three/revisions/1')).body.spec.body).toBe(C);
    // …and moved when a server starts on this database.
    const second = await startTestServer({ REPLICA_HEARTBEAT_SECONDS: '3600', REPLICA_TIMEOUT_SECONDS: '7200' }, server.database.uri);
    try {
      expect(await revisions.findOne({ _id: old._id })).not.toHaveProperty('body');
      expect((await db.collection('content_bodies').findOne({ _id: `remote-config:${old.hash}` as never }))?.body).toBe(C);
      expect((await restClient(second)('GET', '/remoteconfigs/rc-three/revisions/1')).body.spec.body).toBe(C);
      expect((await api('GET', '/remoteconfigs/rc-three/revisions?limit=5')).body.items.map((i: Json) => i.metadata.revision)).toEqual([2, 1]);
    } finally {
      await second.close();
    }
  });

  it('sweeps a body no agent uses any more once the grace period is over, and never one still in use', async () => {
    const z = fleet[3];
    const next = collectorConfig('z only, then replaced');
    await z.ws.exchange(
      agentMessage({ instanceUid: z.uid.bytes, sequenceNum: ++z.seq, capabilities: z.first.capabilities, effectiveConfig: effectiveConfig(next) }),
    );
    const replaced = collectorConfig('z now');
    await z.ws.exchange(
      agentMessage({ instanceUid: z.uid.bytes, sequenceNum: ++z.seq, capabilities: z.first.capabilities, effectiveConfig: effectiveConfig(replaced) }),
    );
    const ids = async () =>
      new Set(
        (
          await db
            .collection('content_bodies')
            .find({}, { projection: { _id: 1 } })
            .toArray()
        ).map((d) => String(d._id)),
      );
    const all = await ids();
    expect([...all].filter((id) => id.startsWith('effective-config:'))).toHaveLength(3);

    // The fleet job now: everything is within CONTENT_GC_GRACE_SECONDS (1 h by default), nothing goes.
    await server.app.get(FleetJobs).runNow(CONTENT_GC_JOB);
    expect(server.app.get(FleetJobs).runs.get(CONTENT_GC_JOB)).toBe(1);
    expect(await ids()).toEqual(all);

    // The same mark and sweep as it would run after the grace period: only the replaced body goes.
    const out = await server.app.get(ContentStore).collect(Date.now() + HOUR_MS + 60_000);
    expect(out.swept).toBe(1);
    const left = await ids();
    expect([...all].filter((id) => !left.has(id))).toHaveLength(1);
    // Revision bodies are in use while their revisions exist (always: history is kept).
    expect([...left].filter((id) => id.startsWith('remote-config:'))).toHaveLength(4);
    const view = (await api('GET', `/agents/${z.uid.text}`)).body;
    expect(view.status.effectiveConfig.configMap['collector.yaml'].body).toBe(replaced);
    expect((await api('GET', `/agents/${fleet[0].uid.text}`)).body.status.effectiveConfig.configMap['collector.yaml'].body).toBe(shared);
    expect(Object.keys((await api('GET', `/agents/${fleet[0].uid.text}`)).body.status.health.components)).toEqual(['pipeline:traces']);
  });
});
