import { create } from '@bufbuild/protobuf';
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { Agent } from '../src/agents/agent.schema';
import { AgentGroupsService } from '../src/agent-groups/agent-groups.service';
import { DesiredStateChange, DesiredStateEvents } from '../src/common/desired-state-events';
import { AnyValueSchema, KeyValueSchema } from '../src/gen/opamp/v1/anyvalue_pb';
import { AgentCapabilities as Cap, ComponentHealthSchema } from '../src/gen/opamp/v1/opamp_pb';
import { textToUid } from '../src/protocol/instance-uid';
import { agentMessage, description, newUid, RawWsAgent } from './support/opamp-test-client';
import { startTestServer, TestServer } from './support/test-server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed JSON
type Json = Record<string, any>;

const REPORTS = BigInt(Cap.AgentCapabilities_ReportsStatus) | BigInt(Cap.AgentCapabilities_ReportsHealth);

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('agent groups: /api/v1/agentgroups', () => {
  let server: TestServer;
  let base: string;
  const events: DesiredStateChange[] = [];

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; type: string; body: Json }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...server.authHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, body: type.includes('json') && text ? JSON.parse(text) : {} };
  }

  const group = (name: string, spec: Json, metadata: Json = {}) => ({ kind: 'AgentGroup', apiVersion: 'v1', metadata: { name, ...metadata }, spec });

  beforeAll(async () => {
    server = await startTestServer();
    base = `http://127.0.0.1:${server.apiPort}/api/v1`;
    server.app.get(DesiredStateEvents).on('changed', (c) => events.push(c));
    for (const [name, body] of [
      ['otel-base', 'receivers: {otlp: {}}\n'],
      ['otel-extra', 'processors: {batch: {}}\n'],
    ]) {
      expect((await api('POST', '/remoteconfigs', { metadata: { name }, spec: { contentType: 'application/yaml', body } })).status).toBe(201);
    }
    const cur = (await api('GET', '/remoteconfigs/otel-base')).body;
    await api('PUT', '/remoteconfigs/otel-base', { ...cur, spec: { ...cur.spec, body: 'receivers: {otlp: {protocols: {grpc: {}}}}\n' } });
  });
  afterAll(() => server?.close());

  it('creates a group and reads it back with its status', async () => {
    events.length = 0;
    const spec = {
      selector: {
        matchLabels: { 'service.name': 'checkout' },
        matchExpressions: [{ key: 'deployment.environment', operator: 'In', values: ['prod', 'staging'] }],
      },
      priority: 10,
      configs: [
        { fileName: '', remoteConfig: 'otel-base' },
        { fileName: 'extra.yaml', remoteConfig: 'otel-extra', revision: 1 },
      ],
      connectionSettings: {
        heartbeatIntervalSeconds: 15,
        opamp: { endpoint: 'wss://opamp.example.com/v1/opamp', headers: { Authorization: 'Bearer x' } },
        ownMetrics: { endpoint: 'https://otel.example.com:4318/v1/metrics', headers: { 'x-tenant': 'a' } },
      },
    };
    const created = await api('POST', '/agentgroups', group('checkout-prod', spec, { labels: { team: 'payments', 'app.kubernetes.io/part-of': 'shop' } }));
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: {
        name: 'checkout-prod',
        labels: { team: 'payments', 'app.kubernetes.io/part-of': 'shop' },
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        resourceVersion: '1',
      },
      spec,
      status: {
        agents: 0,
        connected: 0,
        healthy: 0,
        config: { applied: 0, applying: 0, failed: 0, pending: 0, drifted: 0 },
        matchedNotGoverned: 0,
        overriddenBy: [],
        ownTelemetry: { conditions: { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 }, acceptedPerSecond: 0, sentPerSecond: 0 },
      },
    });
    expect(events).toEqual([{ reason: 'agentgroup.created', groups: ['checkout-prod'], configs: ['otel-base', 'otel-extra'] }]);
    expect((await api('GET', '/agentgroups/checkout-prod')).body).toEqual(created.body);

    // The group now uses both configs: their events name it, and they cannot be deleted.
    const del = await api('DELETE', '/remoteconfigs/otel-extra');
    expect(del.status).toBe(409);
    expect(del.body).toMatchObject({ detail: expect.stringContaining('checkout-prod'), groups: ['checkout-prod'] });
    events.length = 0;
    await api('POST', '/remoteconfigs/otel-base/rollback', { revision: 1 });
    expect(events).toEqual([{ reason: 'remoteconfig.rolledback', configs: ['otel-base'], groups: ['checkout-prod'] }]);
  });

  it('refuses bad groups with 400 naming the field or position, and writes nothing', async () => {
    const ok = { selector: 'env=prod', configs: [{ fileName: '', remoteConfig: 'otel-base' }] };
    const cases: [Json, string, RegExp?][] = [
      [group('Bad_Name', ok), 'metadata.name'],
      [group('bad-selector', { ...ok, selector: 'env in (prod, dev' }), 'spec.selector', /selector: expected ',' or '\)' at column 18/],
      [group('bad-selector', { ...ok, selector: 'env=prod,,tier' }), 'spec.selector', /at column 10/],
      [
        group('bad-selector', { ...ok, selector: { matchExpressions: [{ key: 'env', operator: 'Equals', values: ['x'] }] } }),
        'spec.selector',
        /selector\.matchExpressions\[0\]\.operator must be one of In, NotIn, Exists, DoesNotExist/,
      ],
      [
        group('bad-selector', { ...ok, selector: { matchExpressions: [{ key: 'env', operator: 'In' }] } }),
        'spec.selector',
        /matchExpressions\[0\]\.values must not be empty/,
      ],
      [group('bad-selector', { ...ok, selector: { matchLabel: { env: 'x' } } }), 'spec.selector', /selector\.matchLabel is not a known field/],
      [group('no-selector', { configs: [] }), 'spec.selector', /selector is required/],
      [group('unknown-field', { ...ok, colour: 'red' }), 'spec.colour'],
      [group('unknown-field', { ...ok, configs: [{ fileName: '', remoteConfig: 'otel-base', pinned: true }] }), 'spec.configs.0.pinned'],
      [group('zero-heartbeat', { ...ok, connectionSettings: { heartbeatIntervalSeconds: 0 } }), 'spec.connectionSettings.heartbeatIntervalSeconds'],
      [group('bad-url', { ...ok, connectionSettings: { ownTraces: { endpoint: 'otel:4318' } } }), 'spec.connectionSettings.ownTraces.endpoint'],
      [
        group('bad-headers', { ...ok, connectionSettings: { ownLogs: { endpoint: 'http://otel:4318/v1/logs', headers: { 'bad header': 'x' } } } }),
        'spec.connectionSettings.ownLogs.headers',
      ],
      [group('bad-priority', { ...ok, priority: 1.5 }), 'spec.priority'],
      [group('bad-labels', ok, { labels: { ' spaced': 'x' } }), 'metadata.labels'],
      [
        group('dup-files', {
          selector: '',
          configs: [
            { fileName: 'a.yaml', remoteConfig: 'otel-base' },
            { fileName: 'a.yaml', remoteConfig: 'otel-extra' },
          ],
        }),
        'spec.configs[1].fileName',
        /duplicate fileName "a.yaml"/,
      ],
      [
        group('missing-config', { selector: '', configs: [{ fileName: '', remoteConfig: 'no-such-config' }] }),
        'spec.configs[0].remoteConfig',
        /remoteconfig "no-such-config" does not exist/,
      ],
      [
        group('missing-revision', { selector: '', configs: [{ fileName: '', remoteConfig: 'otel-base', revision: 9 }] }),
        'spec.configs[0].revision',
        /has no revision 9 \(latest is 3\)/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const r = await api('POST', '/agentgroups', body);
      expect({ field, status: r.status, type: r.type }).toEqual({ field, status: 400, type: expect.stringMatching(/^application\/problem\+json/) });
      const err = (r.body.errors as Json[]).find((e) => e.field === field);
      expect({ field, errors: r.body.errors }).toEqual({ field, errors: expect.arrayContaining([expect.objectContaining({ field })]) });
      if (message) expect(err!.message).toMatch(message);
    }
    const list = (await api('GET', '/agentgroups?includeDeleted=true')).body;
    expect(list.items.map((g: Json) => g.metadata.name)).toEqual(['checkout-prod']);
  });

  it('replaces with the current resourceVersion, refuses a stale one, and ignores an identical replace', async () => {
    const cur = (await api('GET', '/agentgroups/checkout-prod')).body;
    events.length = 0;
    const same = await api('PUT', '/agentgroups/checkout-prod', cur);
    expect(same.status).toBe(200);
    expect(same.body.metadata.resourceVersion).toBe('1');
    expect(events).toEqual([]);

    const put = await api('PUT', '/agentgroups/checkout-prod', {
      ...cur,
      spec: { ...cur.spec, priority: 20, configs: [{ fileName: '', remoteConfig: 'otel-base', revision: 2 }] },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      metadata: { resourceVersion: '2' },
      spec: { priority: 20, configs: [{ fileName: '', remoteConfig: 'otel-base', revision: 2 }] },
    });
    expect(events).toEqual([{ reason: 'agentgroup.replaced', groups: ['checkout-prod'], configs: ['otel-base', 'otel-extra'] }]);

    const stale = await api('PUT', '/agentgroups/checkout-prod', { ...cur, spec: { ...cur.spec, priority: 30 } });
    expect(stale.status).toBe(409);
    expect(stale.type).toMatch(/^application\/problem\+json/);
    const noVersion = await api('PUT', '/agentgroups/checkout-prod', { metadata: { name: 'checkout-prod' }, spec: cur.spec });
    expect(noVersion.status).toBe(400);
    const badRef = await api('PUT', '/agentgroups/checkout-prod', {
      ...put.body,
      spec: { ...put.body.spec, configs: [{ fileName: '', remoteConfig: 'gone' }] },
    });
    expect(badRef.status).toBe(400);
    expect((await api('GET', '/agentgroups/checkout-prod')).body.spec.priority).toBe(20);

    // Concurrent replaces with one resourceVersion: one wins, the others are told to re-read.
    const now = (await api('GET', '/agentgroups/checkout-prod')).body;
    const racing = await Promise.all([21, 22, 23].map((priority) => api('PUT', '/agentgroups/checkout-prod', { ...now, spec: { ...now.spec, priority } })));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const won = racing.find((r) => r.status === 200)!.body;
    expect((await api('GET', '/agentgroups/checkout-prod')).body).toMatchObject({ metadata: { resourceVersion: '3' }, spec: { priority: won.spec.priority } });
    const back = await api('PUT', '/agentgroups/checkout-prod', { ...won, spec: { ...won.spec, priority: 20 } });
    expect(back.status).toBe(200);

    // otel-extra is no longer used: it can go now.
    expect((await api('DELETE', '/remoteconfigs/otel-extra')).status).toBe(200);
  });

  describe('with agents connected', () => {
    const agents: { uid: string; conn: RawWsAgent }[] = [];

    async function connect(identifying: Record<string, string>, nonIdentifying: Record<string, string>, healthy?: boolean) {
      const uid = newUid();
      const conn = await RawWsAgent.connect(server.opampPort);
      await conn.exchange(
        agentMessage({
          instanceUid: uid.bytes,
          sequenceNum: 0n,
          capabilities: REPORTS,
          agentDescription: description(identifying, nonIdentifying),
          health: healthy === undefined ? undefined : create(ComponentHealthSchema, { healthy }),
        }),
      );
      agents.push({ uid: uid.text, conn });
      return uid.text;
    }

    let checkoutProd: string;
    let checkoutStaging: string;
    let checkoutDev: string;
    let cartProd: string;

    beforeAll(async () => {
      checkoutProd = await connect({ 'service.name': 'checkout' }, { 'deployment.environment': 'prod', 'host.name': 'node-1' }, true);
      checkoutStaging = await connect({ 'service.name': 'checkout', 'deployment.environment': 'staging' }, {}, false);
      checkoutDev = await connect({ 'service.name': 'checkout' }, { 'deployment.environment': 'dev' });
      cartProd = await connect({ 'service.name': 'cart' }, { 'deployment.environment': 'prod' }, true);
    });
    afterAll(async () => {
      for (const a of agents) if (a.conn.closeCode === undefined) await a.conn.close();
    });

    it('lists the agents a group selects, from identifying and non-identifying attributes', async () => {
      const res = await api('GET', '/agentgroups/checkout-prod/agents');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ kind: 'AgentList', apiVersion: 'v1', metadata: { remainingItemCount: 0 } });
      expect(res.body.items.map((a: Json) => a.metadata.name).sort()).toEqual([checkoutProd, checkoutStaging].sort());
      expect(res.body.items[0]).toMatchObject({
        kind: 'Agent',
        status: { connected: true, description: { identifyingAttributes: { 'service.name': 'checkout' } } },
      });

      // Paginated in uid order.
      const p1 = (await api('GET', '/agentgroups/checkout-prod/agents?limit=1')).body;
      expect(p1.items).toHaveLength(1);
      expect(p1.metadata.remainingItemCount).toBe(1);
      const p2 = (await api('GET', `/agentgroups/checkout-prod/agents?limit=1&continue=${p1.metadata.continue}`)).body;
      expect([p1.items[0].metadata.name, p2.items[0].metadata.name]).toEqual([checkoutProd, checkoutStaging].sort());
      expect(p2.metadata).toEqual({ remainingItemCount: 0 });
      expect((await api('GET', '/agentgroups/no-such-group/agents')).status).toBe(404);

      // The same list as GET /agents?group=…: its filters, its summary items and view=full, each
      // item saying which group governs it (here the only group: checkout-prod).
      const viaAgents = (await api('GET', '/agents?group=checkout-prod')).body;
      const withoutGovernedBy = (list: Json) => ({ ...list, items: list.items.map((a: Json) => ({ ...a, status: { ...a.status, governedBy: undefined } })) });
      expect(res.body.items.map((a: Json) => a.status.governedBy)).toEqual([
        { kind: 'group', group: 'checkout-prod' },
        { kind: 'group', group: 'checkout-prod' },
      ]);
      expect(withoutGovernedBy(res.body)).toEqual(withoutGovernedBy(viaAgents));
      const narrowed = (await api('GET', `/agentgroups/checkout-prod/agents?search=${checkoutStaging}`)).body;
      expect(narrowed.items.map((a: Json) => a.metadata.name)).toEqual([checkoutStaging]);
      const full = (await api('GET', '/agentgroups/checkout-prod/agents?view=full')).body;
      expect({ ...full.items[0], status: { ...full.items[0].status, governedBy: undefined } }).toEqual(
        (await api('GET', `/agents/${full.items[0].metadata.name}`)).body,
      );
      const bad = await api('GET', '/agentgroups/checkout-prod/agents?view=everything');
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'view' })]));
    });

    it.each([
      ['service.name=checkout', () => [checkoutProd, checkoutStaging, checkoutDev]],
      ['service.name==checkout,deployment.environment!=dev', () => [checkoutProd, checkoutStaging]],
      ['deployment.environment in (prod),service.name notin (checkout)', () => [cartProd]],
      ['host.name', () => [checkoutProd]],
      ['service.name,!host.name', () => [checkoutStaging, checkoutDev, cartProd]],
      ['', () => [checkoutProd, checkoutStaging, checkoutDev, cartProd]],
      // Key and value must be found in the same attribute, not one here and one there.
      ['service.name=node-1', () => []],
      ['host.name in (checkout)', () => []],
    ])('selects with the text selector %j', async (selector, expected) => {
      const name = `text-${Math.abs(hashCode(selector))}`;
      const created = await api('POST', '/agentgroups', group(name, { selector }));
      expect(created.status).toBe(201);
      expect(created.body.spec.selector).toBe(selector);
      const listed = (await api('GET', `/agentgroups/${name}/agents`)).body.items.map((a: Json) => a.metadata.name);
      expect(listed.sort()).toEqual(expected().sort());
      // Matched: governed here, or by checkout-prod (priority 10) where it matches too.
      expect(created.body.status.agents + created.body.status.matchedNotGoverned).toBe(expected().length);
      await api('DELETE', `/agentgroups/${name}`);
    });

    it('finds keys in server-side labels too, and matches typed values by their text', async () => {
      expect((await api('PATCH', `/agents/${cartProd}`, { metadata: { labels: { team: 'payments' } } })).status).toBe(200);
      // The agent reports its description again, now with an integer attribute.
      const dev = agents.find((a) => a.uid === checkoutDev)!;
      const desc = description({ 'service.name': 'checkout' }, { 'deployment.environment': 'dev' });
      desc.nonIdentifyingAttributes.push(
        create(KeyValueSchema, { key: 'replicas', value: create(AnyValueSchema, { value: { case: 'intValue', value: 3n } }) }),
      );
      await dev.conn.exchange(agentMessage({ instanceUid: textToUid(checkoutDev)!, sequenceNum: 1n, capabilities: REPORTS, agentDescription: desc }));
      await api('POST', '/agentgroups', group('by-label', { selector: { matchLabels: { team: 'payments' } } }));
      expect((await api('GET', '/agentgroups/by-label/agents')).body.items.map((a: Json) => a.metadata.name)).toEqual([cartProd]);
      await api('POST', '/agentgroups', group('by-number', { selector: 'replicas=3' }));
      expect((await api('GET', '/agentgroups/by-number/agents')).body.items.map((a: Json) => a.metadata.name)).toEqual([checkoutDev]);
      await api('DELETE', '/agentgroups/by-label');
      await api('DELETE', '/agentgroups/by-number');
    });

    it('counts agents, connected, healthy and config states', async () => {
      const agentModel = server.app.get<Model<Agent>>(getModelToken(Agent.name));
      const status = async () => (await api('GET', '/agentgroups/checkout-prod')).body.status;
      expect(await status()).toEqual({
        agents: 2,
        connected: 2,
        healthy: 1,
        config: { applied: 0, applying: 0, failed: 0, pending: 0, drifted: 0 },
        matchedNotGoverned: 0,
        overriddenBy: [],
        ownTelemetry: { conditions: { Idle: 0, ExportFailing: 0, Stale: 0, Restarting: 0 }, acceptedPerSecond: 0, sentPerSecond: 0 },
      });

      // The OpAMP session keeps remoteConfig (state, and the origin of the config it is about) on the agent; the counts follow it.
      const track = (uid: string, state: string, origin = 'group/checkout-prod') =>
        agentModel.collection.updateOne({ _id: uid as never }, { $set: { remoteConfig: { state, origin } } });
      await track(checkoutProd, 'applied');
      await track(checkoutStaging, 'failed');
      await track(cartProd, 'applying');
      expect((await status()).config).toEqual({ applied: 1, applying: 0, failed: 1, pending: 0, drifted: 0 });
      // A state about a config from elsewhere (before this group governed the agent) is pending for this group.
      await track(checkoutProd, 'applied', 'group/another');
      expect((await status()).config).toEqual({ applied: 0, applying: 0, failed: 1, pending: 1, drifted: 0 });
      await track(checkoutProd, 'applied');

      // A disconnect shows.
      const staging = agents.find((a) => a.uid === checkoutStaging)!;
      await staging.conn.close();
      const after = await eventually(status, (s) => s.connected === 1);
      expect(after).toMatchObject({ agents: 2, connected: 1, healthy: 1 });

      const listed = (await api('GET', '/agentgroups')).body.items.find((g: Json) => g.metadata.name === 'checkout-prod');
      expect(listed.status).toEqual(after);
    });
  });

  it('lists groups a page at a time, soft-deletes, and re-creates a deleted name', async () => {
    for (const n of ['list-a', 'list-b', 'list-c']) expect((await api('POST', '/agentgroups', group(n, { selector: `name=${n}` }))).status).toBe(201);
    const all = (await api('GET', '/agentgroups')).body.items.map((g: Json) => g.metadata.name);
    expect(all).toEqual(['checkout-prod', 'list-a', 'list-b', 'list-c']);
    const p1 = (await api('GET', '/agentgroups?limit=3')).body;
    expect(p1.metadata.remainingItemCount).toBe(1);
    const p2 = (await api('GET', `/agentgroups?limit=3&continue=${p1.metadata.continue}`)).body;
    expect([...p1.items, ...p2.items].map((g: Json) => g.metadata.name)).toEqual(all);

    events.length = 0;
    const del = await api('DELETE', '/agentgroups/list-b');
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletedAt).toEqual(expect.any(String));
    expect(events).toEqual([{ reason: 'agentgroup.deleted', groups: ['list-b'], configs: [] }]);
    expect((await api('GET', '/agentgroups/list-b')).status).toBe(404);
    expect((await api('DELETE', '/agentgroups/list-b')).status).toBe(404);
    expect((await api('GET', '/agentgroups/list-b/agents')).status).toBe(404);
    expect((await api('GET', '/agentgroups')).body.items.map((g: Json) => g.metadata.name)).toEqual(['checkout-prod', 'list-a', 'list-c']);
    // Groups deleted by earlier tests show up too.
    const withDeleted = (await api('GET', '/agentgroups?includeDeleted=true')).body.items as Json[];
    const names = withDeleted.map((g) => g.metadata.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(all));
    expect(withDeleted.find((g) => g.metadata.name === 'list-b')!.metadata.deletedAt).toEqual(expect.any(String));
    expect(withDeleted.find((g) => g.metadata.name === 'list-a')!.metadata.deletedAt).toBeUndefined();
    expect((await api('GET', '/agentgroups/list-b?includeDeleted=true')).status).toBe(200);

    const again = await api('POST', '/agentgroups', group('list-b', { selector: 'name=again' }));
    expect(again.status).toBe(201);
    expect(again.body.spec.selector).toBe('name=again');
    expect(again.body.metadata.deletedAt).toBeUndefined();
    expect(Number(again.body.metadata.resourceVersion)).toBeGreaterThan(Number(del.body.metadata.resourceVersion));
    expect((await api('POST', '/agentgroups', group('list-b', { selector: '' }))).status).toBe(409);
  });

  it('gives the desired-state code the active groups in precedence order', async () => {
    await api('POST', '/agentgroups', group('zz-high', { selector: 'a=b', priority: 50, configs: [{ fileName: '', remoteConfig: 'otel-base' }] }));
    await api('POST', '/agentgroups', group('aa-tie', { selector: 'a=b', priority: 0 }));
    const active = await server.app.get(AgentGroupsService).listActive();
    expect(active.map((g) => [g.name, g.priority])).toEqual([
      ['zz-high', 50],
      ['checkout-prod', 20],
      ['aa-tie', 0],
      ['list-a', 0],
      ['list-b', 0],
      ['list-c', 0],
    ]);
    expect(active[0]).toMatchObject({
      requirements: [{ key: 'a', operator: 'In', values: ['b'] }],
      configs: [{ fileName: '', remoteConfig: 'otel-base' }],
      resourceVersion: 1,
    });
    expect(active[1].connectionSettings).toEqual({
      heartbeatIntervalSeconds: 15,
      opamp: { endpoint: 'wss://opamp.example.com/v1/opamp', headers: { Authorization: 'Bearer x' } },
      ownMetrics: { endpoint: 'https://otel.example.com:4318/v1/metrics', headers: { 'x-tenant': 'a' } },
    });
  });

  it('documents its endpoints in OpenAPI', async () => {
    const doc = (await (await fetch(`http://127.0.0.1:${server.apiPort}/api/docs-json`)).json()) as Json;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/agentgroups', '/api/v1/agentgroups/{name}', '/api/v1/agentgroups/{name}/agents']));
    expect(doc.components.schemas.AgentGroupSpecDto.properties.selector.oneOf).toHaveLength(2);
  });
});

function hashCode(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}
