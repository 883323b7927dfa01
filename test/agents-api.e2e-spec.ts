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
      await a.exchange(agentMessage({ instanceUid: uid.bytes, sequenceNum: 0n, capabilities: 1n, agentDescription: description({ 'service.name': svc }, { 'host.name': host }) }));
      if (name === 'gone') await a.close();
      else live.push(a);
      await new Promise((r) => setTimeout(r, 20)); // distinct first-seen times
    }
    const h = newUid();
    uids.poller = h.text;
    await httpExchange(server.opampPort, encodeAgentToServer(agentMessage({ instanceUid: h.bytes, sequenceNum: 1n, capabilities: 1n, agentDescription: description({ 'service.name': 'search' }, { 'host.name': 'edge-7' }) })));
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
      const key = (a: Json) => (sort.includes('uid') ? a.metadata.name : new Date(sort.includes('first') ? a.metadata.createdAt : a.status.connection.lastSeenAt).getTime());
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

  it('deletes only disconnected agents', async () => {
    const refused = await api('DELETE', `/agents/${uids['checkout-a']}`);
    expect(refused.status).toBe(409);
    expect(refused.type).toMatch(/problem\+json/);
    expect((await api('DELETE', `/agents/${uids.gone}`)).status).toBe(204);
    expect((await api('GET', `/agents/${uids.gone}`)).status).toBe(404);
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
