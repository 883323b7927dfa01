import { create } from '@bufbuild/protobuf';
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { Agent } from '../src/agents/agent.schema';
import { AgentsService } from '../src/agents/agents.service';
import { AnyValue, AnyValueSchema, KeyValueSchema } from '../src/gen/opamp/v1/anyvalue_pb';
import { AgentConfigFileSchema, AgentConfigMapSchema, ComponentHealthSchema, EffectiveConfigSchema, PackageStatusEnum } from '../src/gen/opamp/v1/opamp_pb';
import { agentMessage, description, encodeAgentToServer, httpExchange, newUid, RawWsAgent } from './support/opamp-test-client';
import { Json, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/** The agents API: filters, sort and pagination, labels, delete, and its answers to bad requests. */
describe('agents API', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const live: RawWsAgent[] = [];
  const uids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer();
    api = restClient(server);
    // checkout ×2 and billing over WebSocket (connected), search over HTTP, gone: connected then closed.
    for (const [name, svc, host] of [
      ['checkout-a', 'checkout', 'node-1'],
      ['checkout-b', 'checkout', 'node-2'],
      ['billing', 'billing', 'node-3'],
      ['gone', 'legacy', 'node-9'],
    ]) {
      const uid = newUid();
      uids[name] = uid.text;
      const a = await RawWsAgent.connect(server.opampPort);
      await a.exchange(
        agentMessage({
          instanceUid: uid.bytes,
          sequenceNum: 0n,
          capabilities: 1n,
          agentDescription: description({ 'service.name': svc }, { 'host.name': host }),
        }),
      );
      if (name === 'gone') await a.close();
      else live.push(a);
      await new Promise((r) => setTimeout(r, 20)); // distinct first-seen times
    }
    const h = newUid();
    uids.poller = h.text;
    await httpExchange(
      server.opampPort,
      encodeAgentToServer(
        agentMessage({
          instanceUid: h.bytes,
          sequenceNum: 1n,
          capabilities: 1n,
          agentDescription: description({ 'service.name': 'search' }, { 'host.name': 'edge-7' }),
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
  });
  afterAll(async () => {
    await Promise.all(live.map((a) => a.close()));
    await server?.close();
  });

  const names = (body: Json) => (body.items as Json[]).map((i) => Object.keys(uids).find((k) => uids[k] === i.metadata.name)).sort();

  it('filters by selector, connection, transport, free text and group', async () => {
    expect(names((await api('GET', '/agents?selector=service.name%3Dcheckout')).body)).toEqual(['checkout-a', 'checkout-b']);
    expect(names((await api('GET', `/agents?selector=${encodeURIComponent('service.name in (billing,search),host.name!=node-3')}`)).body)).toEqual(['poller']);
    expect(names((await api('GET', '/agents?connected=false')).body)).toEqual(['gone']);
    expect(names((await api('GET', '/agents?connected=true&transport=http')).body)).toEqual(['poller']);
    expect(names((await api('GET', '/agents?search=EDGE')).body)).toEqual(['poller']);
    expect(names((await api('GET', `/agents?search=${uids.billing.slice(0, 13)}`)).body)).toEqual(['billing']);
    expect((await api('POST', '/agentgroups', { metadata: { name: 'checkouts' }, spec: { selector: 'service.name=checkout' } })).status).toBe(201);
    expect(names((await api('GET', '/agents?group=checkouts&selector=host.name%3Dnode-2')).body)).toEqual(['checkout-b']);
    expect((await api('GET', '/agents?group=nope')).status).toBe(404);
    // No config is assigned to any of them (and none accepts remote config).
    expect(names((await api('GET', '/agents?configState=none')).body)).toEqual(['billing', 'checkout-a', 'checkout-b', 'gone', 'poller']);
    expect(names((await api('GET', '/agents?configState=failed')).body)).toEqual([]);
    expect((await api('GET', '/agents?configState=broken')).status).toBe(400);
  });

  it('pages through a sorted list with continue tokens, every agent exactly once', async () => {
    for (const sort of ['uid', '-uid', 'firstSeen', '-firstSeen', 'lastSeen', '-lastSeen']) {
      const seen: Json[] = [];
      let token: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = (await api('GET', `/agents?limit=2&sort=${sort}${token ? `&continue=${token}` : ''}`)).body;
        seen.push(...page.items);
        expect(page.metadata.remainingItemCount).toBe(5 - seen.length);
        token = page.metadata.continue;
        if (!token) break;
      }
      expect(seen).toHaveLength(5);
      expect(new Set(seen.map((a) => a.metadata.name)).size).toBe(5);
      const key = (a: Json) =>
        sort.includes('uid') ? a.metadata.name : new Date(sort.includes('first') ? a.metadata.createdAt : a.status.connection.lastSeenAt).getTime();
      const values = seen.map(key);
      const sorted = [...values].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      expect(values).toEqual(sort.startsWith('-') ? sorted.reverse() : sorted);
    }
    expect(names((await api('GET', '/agents?sort=firstSeen&limit=1')).body)).toEqual(['checkout-a']);
  });

  it('patches server-side labels, which selectors then see; null removes one', async () => {
    const patched = await api('PATCH', `/agents/${uids.billing}`, { metadata: { labels: { team: 'payments', tier: 'gold' } } });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.labels).toEqual({ team: 'payments', tier: 'gold' });
    expect(names((await api('GET', '/agents?selector=team%3Dpayments')).body)).toEqual(['billing']);
    const removed = await api('PATCH', `/agents/${uids.billing}`, { metadata: { labels: { tier: null } } });
    expect(removed.body.metadata.labels).toEqual({ team: 'payments' });
    const bad = await api('PATCH', `/agents/${uids.billing}`, { metadata: { labels: { 'bad key!': 'x', ok: 5 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: Json) => e.field).sort()).toEqual(['metadata.labels.bad key!', 'metadata.labels.ok']);
    expect((await api('GET', `/agents/${uids.billing}`)).body.metadata.labels).toEqual({ team: 'payments' });
    expect((await api('PATCH', `/agents/${uids.billing}`, { metadata: { name: 'x' } })).status).toBe(400);
  });

  it('lists the keys agents have and counts the agents per value of one key (facets), from indexed counts', async () => {
    const keys = await api('GET', '/fleet/keys');
    expect(keys.status).toBe(200);
    expect(keys.body.keys).toEqual(expect.arrayContaining(['service.name', 'host.name']));
    const facet = await api('GET', '/fleet/facets?key=service.name');
    expect(facet.status).toBe(200);
    expect(facet.body).toEqual({
      key: 'service.name',
      values: [
        { value: 'checkout', count: 2 },
        { value: 'billing', count: 1 },
        { value: 'legacy', count: 1 },
        { value: 'search', count: 1 },
      ],
      truncated: false,
    });
    expect((await api('GET', '/fleet/facets?key=no.such.key')).body.values).toEqual([]);
    for (const bad of ['/fleet/facets', '/fleet/facets?key=bad%20key', `/fleet/facets?key=${'k'.repeat(400)}`]) {
      const res = await api('GET', bad);
      expect(res.status).toBe(400);
      expect(res.type).toMatch(/problem\+json/);
    }
  });

  it('deletes only disconnected agents', async () => {
    const refused = await api('DELETE', `/agents/${uids['checkout-a']}`);
    expect(refused.status).toBe(409);
    expect(refused.type).toMatch(/problem\+json/);
    expect((await api('DELETE', `/agents/${uids.gone}`)).status).toBe(204);
    expect((await api('GET', `/agents/${uids.gone}`)).status).toBe(404);
  });

  it('filters by a package the agents report (package=NAME) or a version they run (NAME@VERSION)', async () => {
    // billing reports otelcol 1.0.0 installed and an addon it is still downloading (no version yet).
    const billing = live[2];
    await billing.exchange(
      agentMessage({
        instanceUid: Uint8Array.from(Buffer.from(uids.billing.replace(/-/g, ''), 'hex')),
        sequenceNum: 1n,
        capabilities: 1n | 0x10n, // ReportsStatus, ReportsPackageStatuses
        agentDescription: description({ 'service.name': 'billing' }, { 'host.name': 'node-3' }),
        packageStatuses: {
          packages: {
            otelcol: { name: 'otelcol', agentHasVersion: '1.0.0', status: PackageStatusEnum.PackageStatusEnum_Installed },
            'geo-addon': { name: 'geo-addon', status: PackageStatusEnum.PackageStatusEnum_Downloading },
          },
        },
      }),
    );
    expect(names((await api('GET', '/agents?package=otelcol')).body)).toEqual(['billing']);
    expect(names((await api('GET', '/agents?package=otelcol%401.0.0')).body)).toEqual(['billing']);
    expect(names((await api('GET', '/agents?package=geo-addon')).body)).toEqual(['billing']);
    expect(names((await api('GET', '/agents?package=otelcol%402.0.0')).body)).toEqual([]);
    expect(names((await api('GET', '/agents?package=otelcol&selector=service.name%3Dcheckout')).body)).toEqual([]);
    const bad = await api('GET', '/agents?package=Not%20A%20Name');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/package must be NAME or NAME@VERSION/);
    expect((await api('GET', '/agents?package=otelcol%40..%2F1')).status).toBe(400);
  });

  it('answers bad requests with 400 problem+json naming the problem', async () => {
    const sel = await api('GET', '/agents?selector=a%20in%20(b');
    expect(sel.status).toBe(400);
    expect(sel.body.detail).toMatch(/selector/);
    expect((await api('GET', '/agents?continue=bm90LWEtdG9rZW4')).status).toBe(400);
    expect((await api('GET', '/agents?sort=color')).status).toBe(400);
    expect((await api('GET', '/agents?limit=0')).status).toBe(400);
    expect((await api('GET', '/agents?connected=maybe')).status).toBe(400);
    expect((await api('GET', '/agents?unknown=1')).status).toBe(400);
    const uid = await api('GET', '/agents/not-a-uid');
    expect(uid.status).toBe(400);
    expect(uid.body.errors[0].field).toBe('instanceUid');
  });
});

/** Selectors over labels and typed attributes, combined with other filters and pages; list summaries; the terms backfill. */
describe('agents API: selectors and list items', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  const live: RawWsAgent[] = [];
  const uids: Record<string, string> = {};
  const configBody = 'receivers:\n  otlp: {}\n'.repeat(40);

  const attr = (key: string, value: AnyValue['value']) => create(KeyValueSchema, { key, value: create(AnyValueSchema, { value }) });
  const health = (healthy: boolean) =>
    create(ComponentHealthSchema, {
      healthy,
      status: healthy ? 'StatusOK' : 'StatusRecoverableError',
      lastError: healthy ? '' : 'exporter down',
      componentHealthMap: {
        'pipeline:traces': create(ComponentHealthSchema, {
          healthy,
          componentHealthMap: {
            'receiver:otlp': create(ComponentHealthSchema, { healthy: true }),
            'exporter:otlp': create(ComponentHealthSchema, {
              healthy,
              // ComponentHealth.attributes (spec v0.17): kept and shown like the description's.
              attributes: [
                create(KeyValueSchema, { key: 'otelcol.component.kind', value: create(AnyValueSchema, { value: { case: 'stringValue', value: 'exporter' } }) }),
                create(KeyValueSchema, { key: 'queue.size', value: create(AnyValueSchema, { value: { case: 'intValue', value: 7n } }) }),
              ],
            }),
          },
        }),
      },
    });

  beforeAll(async () => {
    server = await startTestServer();
    api = restClient(server);
    // name, env, replicas (int), debug (bool), region (absent on some), transport
    const fleet: [string, string, number, boolean, string | undefined, 'ws' | 'http'][] = [
      ['a', 'prod', 3, false, 'eu', 'ws'],
      ['b', 'prod', 1, true, 'us', 'ws'],
      ['c', 'staging', 3, true, undefined, 'ws'],
      ['d', 'dev', 2, false, 'eu', 'http'],
      ['e', 'prod', 3, false, undefined, 'http'],
    ];
    for (const [name, env, replicas, debug, region, transport] of fleet) {
      const uid = newUid();
      uids[name] = uid.text;
      const desc = description({ 'service.name': `svc-${name}` }, { 'deployment.environment': env });
      desc.identifyingAttributes.push(attr('replicas', { case: 'intValue', value: BigInt(replicas) }));
      desc.nonIdentifyingAttributes.push(attr('debug', { case: 'boolValue', value: debug }));
      if (region) desc.nonIdentifyingAttributes.push(attr('region', { case: 'stringValue', value: region }));
      const msg = agentMessage({
        instanceUid: uid.bytes,
        sequenceNum: 0n,
        capabilities: 1n,
        agentDescription: desc,
        health: health(name !== 'b'),
        effectiveConfig: create(EffectiveConfigSchema, {
          configMap: create(AgentConfigMapSchema, {
            configMap: { 'collector.yaml': create(AgentConfigFileSchema, { body: Buffer.from(configBody), contentType: 'text/yaml' }) },
          }),
        }),
      });
      if (transport === 'http') await httpExchange(server.opampPort, encodeAgentToServer(msg));
      else {
        const a = await RawWsAgent.connect(server.opampPort);
        await a.exchange(msg);
        live.push(a);
      }
    }
    expect((await api('PATCH', `/agents/${uids.a}`, { metadata: { labels: { team: 'payments' } } })).status).toBe(200);
    expect((await api('PATCH', `/agents/${uids.d}`, { metadata: { labels: { team: 'search', canary: 'true' } } })).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(live.map((a) => a.close()));
    await server?.close();
  });

  const names = (body: Json) => (body.items as Json[]).map((i) => Object.keys(uids).find((k) => uids[k] === i.metadata.name)).sort();
  const select = async (selector: string, more = '') => {
    const res = await api('GET', `/agents?selector=${encodeURIComponent(selector)}${more}`);
    expect(res.status).toBe(200);
    return names(res.body);
  };

  it.each([
    ['deployment.environment=prod', ['a', 'b', 'e']],
    ['replicas=3', ['a', 'c', 'e']], // an integer attribute, matched by its text
    ['replicas=3.0', []],
    ['replicas in (1,2)', ['b', 'd']],
    ['debug=true', ['b', 'c']], // a boolean attribute
    ['debug!=true', ['a', 'd', 'e']],
    ['region!=eu', ['b', 'c', 'e']], // != holds where the key is absent
    ['region notin (eu,us)', ['c', 'e']],
    ['region', ['a', 'b', 'd']],
    ['!region', ['c', 'e']],
    ['team', ['a', 'd']], // a server-side label
    ['!team', ['b', 'c', 'e']],
    ['team=search,canary=true', ['d']],
    ['canary=true,debug=false', ['d']], // a label "true" and an attribute false
    ['deployment.environment=prod,replicas=3,!region', ['e']],
  ])('selects %s', async (selector, expected) => {
    expect(await select(selector)).toEqual(expected);
  });

  it('combines a selector with other filters', async () => {
    expect(await select('replicas=3', '&transport=http')).toEqual(['e']);
    expect(await select('deployment.environment=prod', '&healthy=false')).toEqual(['b']);
    expect(await select('!team', '&connected=true&transport=websocket')).toEqual(['b', 'c']);
    expect(await select('region!=us', `&search=svc-d`)).toEqual(['d']);
  });

  it('pages a selection in every order with exact remaining counts', async () => {
    const selected = ['a', 'c', 'd', 'e']; // region!=us
    for (const sort of ['uid', '-uid', 'firstSeen', '-firstSeen', 'lastSeen', '-lastSeen']) {
      const seen: string[] = [];
      let token: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = (await api('GET', `/agents?selector=${encodeURIComponent('region!=us')}&limit=1&sort=${sort}${token ? `&continue=${token}` : ''}`)).body;
        seen.push(...names(page).map(String));
        expect(page.metadata.remainingItemCount).toBe(selected.length - seen.length);
        token = page.metadata.continue;
        if (!token) break;
      }
      expect(seen.sort()).toEqual(selected);
    }
  });

  it('sees a label patch in the very next selection', async () => {
    expect(await select('team=ops')).toEqual([]);
    await api('PATCH', `/agents/${uids.c}`, { metadata: { labels: { team: 'ops' } } });
    expect(await select('team=ops')).toEqual(['c']);
    expect(await select('!team')).toEqual(['b', 'e']);
    await api('PATCH', `/agents/${uids.c}`, { metadata: { labels: { team: null } } });
    expect(await select('team=ops')).toEqual([]);
    expect(await select('!team')).toEqual(['b', 'c', 'e']);
  });

  it('lists summaries: config files without bodies, health without the component tree; view=full and GET one are complete', async () => {
    const list = (await api('GET', `/agents?selector=${encodeURIComponent('service.name=svc-b')}`)).body;
    const item = list.items[0];
    expect(item.status.effectiveConfig).toEqual({ configMap: { 'collector.yaml': { contentType: 'text/yaml', size: Buffer.byteLength(configBody) } } });
    expect(item.status.health).toEqual({
      healthy: false,
      status: 'StatusRecoverableError',
      lastError: 'exporter down',
      componentCount: 3,
      unhealthyComponentCount: 2,
    });
    expect(item.status.description.identifyingAttributes).toEqual({ 'service.name': 'svc-b', replicas: 1 });
    expect(item.metadata.name).toBe(uids.b);
    expect(item).not.toHaveProperty('selectorTerms');

    const one = (await api('GET', `/agents/${uids.b}`)).body;
    expect(one.status.effectiveConfig.configMap['collector.yaml']).toEqual({ contentType: 'text/yaml', body: configBody });
    expect(Object.keys(one.status.health.components)).toEqual(['pipeline:traces']);
    expect(one.status.health.components['pipeline:traces'].components['exporter:otlp']).toMatchObject({
      healthy: false,
      attributes: { 'otelcol.component.kind': 'exporter', 'queue.size': 7 },
    });
    const full = (await api('GET', `/agents?view=full&selector=${encodeURIComponent('service.name=svc-b')}`)).body;
    expect(full.items[0]).toEqual(one);
    // Everything but the trimmed parts is the same in both shapes.
    const strip = (a: Json) => ({ ...a, status: { ...a.status, effectiveConfig: undefined, health: undefined } });
    expect(strip(item)).toEqual(strip(one));
  });

  it('refuses a view that is not allowed, naming the parameter', async () => {
    const res = await api('GET', '/agents?view=compact');
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/problem\+json/);
    expect(res.body.errors.map((e: Json) => e.field)).toEqual(['view']);
  });

  it('gives selector terms to agents stored before they existed, at start-up', async () => {
    const model = server.app.get<Model<Agent>>(getModelToken(Agent.name));
    const old = (id: string, env: string) => ({
      _id: id,
      labels: { team: 'legacy' },
      description: {
        identifying: [{ key: 'service.name', value: 'old' }],
        nonIdentifying: [
          { key: 'deployment.environment', value: env },
          { key: 'port', value: 4317 },
        ],
      },
      capabilities: 1,
      connection: { connected: false, transport: 'websocket', lastSeenAt: new Date(), sequenceNum: 1, replicaId: 'gone' },
      firstSeenAt: new Date(),
      updatedAt: new Date(),
    });
    const ids = Array.from({ length: 3 }, () => newUid().text);
    await model.collection.insertMany([old(ids[0], 'prod'), old(ids[1], 'dev'), old(ids[2], 'prod')] as never[]);
    // More than one backfill batch.
    const bulk = Array.from({ length: 200 }, () => ({
      ...old(newUid().text, 'qa'),
      labels: { team: 'legacy-bulk' },
      description: { identifying: [{ key: 'service.name', value: 'bulk' }], nonIdentifying: [] },
    }));
    await model.collection.insertMany(bulk as never[]);
    expect(await api('GET', '/agents?selector=team%3Dlegacy').then((r) => r.body.items.length)).toBe(0);

    // A second replica starting on the same database backfills them.
    const other = await startTestServer({}, server.database.uri);
    try {
      const found = (await api('GET', `/agents?selector=${encodeURIComponent('team=legacy,deployment.environment=prod,port=4317')}`)).body.items.map(
        (i: Json) => i.metadata.name,
      );
      expect(found.sort()).toEqual([ids[0], ids[2]].sort());
      expect(
        await api('GET', `/agents?selector=${encodeURIComponent('service.name=old,deployment.environment!=prod')}`).then((r) =>
          r.body.items.map((i: Json) => i.metadata.name),
        ),
      ).toEqual([ids[1]]);
      const firstOfBulk = (await api('GET', '/agents?selector=team%3Dlegacy-bulk&limit=1')).body;
      expect(firstOfBulk.items).toHaveLength(1);
      expect(firstOfBulk.metadata.remainingItemCount).toBe(199);
      // Agents that had terms are left as they were; nothing is left without.
      expect(await model.countDocuments({ selectorTerms: { $exists: false } })).toBe(0);
      expect(await other.app.get(AgentsService).backfillSelectorTerms()).toBe(0);
      expect((await model.findById(uids.a).lean())?.selectorTerms).toContain('team=payments');
    } finally {
      await other.close();
    }
  });
});
