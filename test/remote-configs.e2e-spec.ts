import { createHash } from 'node:crypto';
import { DesiredStateChange, DesiredStateEvents } from '../src/common/desired-state-events';
import { RemoteConfigsService } from '../src/remote-configs/remote-configs.service';
import { startTestServer, TestServer } from './support/test-server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed JSON
type Json = Record<string, any>;

describe('remote configs: /api/v1/remoteconfigs', () => {
  let server: TestServer;
  let base: string;
  const events: DesiredStateChange[] = [];

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; type: string; body: Json; text: string }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...server.authHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, text, body: type.includes('json') && text ? JSON.parse(text) : {} };
  }

  const manifest = (name: string, body: string, contentType = 'application/yaml', extra: Json = {}) => ({
    kind: 'RemoteConfig',
    apiVersion: 'v1',
    metadata: { name, ...(extra.metadata ?? {}) },
    spec: { contentType, body, ...(extra.spec ?? {}) },
  });

  const V1 =
    'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n';
  const V2 = V1.replace('grpc: {}', 'http: {}');

  beforeAll(async () => {
    server = await startTestServer();
    base = `http://127.0.0.1:${server.apiPort}/api/v1`;
    server.app.get(DesiredStateEvents).on('changed', (c) => events.push(c));
  });
  afterAll(() => server?.close());

  it('creates a remote config as its revision 1 and reads it back', async () => {
    events.length = 0;
    const created = await api(
      'POST',
      '/remoteconfigs?message=first%20cut',
      manifest('collector-base', V1, 'application/yaml', { spec: { description: 'base pipeline' } }),
    );
    expect(created.status).toBe(201);
    const hash = createHash('sha256')
      .update('application/yaml\0' + V1)
      .digest('hex');
    expect(created.body).toMatchObject({
      kind: 'RemoteConfig',
      apiVersion: 'v1',
      metadata: { name: 'collector-base', resourceVersion: '1', createdAt: expect.any(String), updatedAt: expect.any(String) },
      spec: { contentType: 'application/yaml', body: V1, description: 'base pipeline' },
      status: { latestRevision: 1, revisionCount: 1, hash, lastChange: { author: 'admin', message: 'first cut' } },
    });
    expect(created.body.metadata.deletedAt).toBeUndefined();
    expect(events).toEqual([{ reason: 'remoteconfig.created', configs: ['collector-base'], groups: [] }]);

    const got = await api('GET', '/remoteconfigs/collector-base');
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const rev = await api('GET', '/remoteconfigs/collector-base/revisions/1');
    expect(rev.body).toMatchObject({
      kind: 'RemoteConfigRevision',
      metadata: { name: 'collector-base', revision: 1, hash, author: 'admin', message: 'first cut' },
      spec: { contentType: 'application/yaml', body: V1 },
    });

    // The service API the desired-state code uses.
    const content = await server.app.get(RemoteConfigsService).getRevision('collector-base', 'latest');
    expect(content).toEqual({ name: 'collector-base', revision: 1, hash, body: Buffer.from(V1), contentType: 'application/yaml' });
  });

  it('defaults the content type to application/yaml and refuses a second config of the same name', async () => {
    const r = await api('POST', '/remoteconfigs', { metadata: { name: 'defaults' }, spec: { body: 'a: 1\n' } });
    expect(r.status).toBe(201);
    expect(r.body.spec.contentType).toBe('application/yaml');
    const again = await api('POST', '/remoteconfigs', manifest('defaults', 'b: 2\n'));
    expect(again.status).toBe(409);
    expect(again.type).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ status: 409, detail: expect.stringContaining('already exists') });
    expect((await api('GET', '/remoteconfigs/defaults')).body.spec.body).toBe('a: 1\n');
  });

  it('replaces with the current resourceVersion, making a revision only when the content changes', async () => {
    const cur = (await api('GET', '/remoteconfigs/collector-base')).body;
    events.length = 0;
    const put = await api('PUT', '/remoteconfigs/collector-base?message=grpc%20to%20http', { ...cur, spec: { ...cur.spec, body: V2 } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      metadata: { resourceVersion: '2' },
      spec: { body: V2 },
      status: { latestRevision: 2, revisionCount: 2, lastChange: { message: 'grpc to http' } },
    });
    expect(events).toEqual([{ reason: 'remoteconfig.revised', configs: ['collector-base'], groups: [] }]);

    // Same content and description: nothing changes at all.
    events.length = 0;
    const same = await api('PUT', '/remoteconfigs/collector-base', put.body);
    expect(same.status).toBe(200);
    expect(same.body.metadata.resourceVersion).toBe('2');
    expect(same.body.status.latestRevision).toBe(2);
    expect(events).toEqual([]);

    // Only the description: a new resourceVersion, no new revision.
    const desc = await api('PUT', '/remoteconfigs/collector-base', { ...put.body, spec: { ...put.body.spec, description: 'http now' } });
    expect(desc.body).toMatchObject({ metadata: { resourceVersion: '3' }, spec: { description: 'http now' }, status: { latestRevision: 2 } });
  });

  it('refuses a stale, missing or mismatched resourceVersion/name without writing anything', async () => {
    const cur = (await api('GET', '/remoteconfigs/collector-base')).body;
    const stale = await api('PUT', '/remoteconfigs/collector-base', {
      ...cur,
      metadata: { ...cur.metadata, resourceVersion: '1' },
      spec: { ...cur.spec, body: 'stale: true\n' },
    });
    expect(stale.status).toBe(409);
    expect(stale.type).toMatch(/^application\/problem\+json/);
    expect(stale.body).toMatchObject({ type: 'urn:opamp-commander:problem:conflict', detail: expect.stringContaining('resourceVersion 1') });

    const missing = await api('PUT', '/remoteconfigs/collector-base', { metadata: { name: 'collector-base' }, spec: { body: 'x: 1\n' } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ field: 'metadata.resourceVersion', message: 'is required' }]);

    const other = await api('PUT', '/remoteconfigs/collector-base', { ...cur, metadata: { ...cur.metadata, name: 'something-else' } });
    expect(other.status).toBe(400);
    expect(other.body.errors[0].field).toBe('metadata.name');

    const unknown = await api('PUT', '/remoteconfigs/no-such-config', { ...cur, metadata: { ...cur.metadata, name: 'no-such-config' } });
    expect(unknown.status).toBe(404);

    expect((await api('GET', '/remoteconfigs/collector-base')).body).toEqual(cur);
  });

  it('lets exactly one of two concurrent replaces with the same resourceVersion win', async () => {
    await api('POST', '/remoteconfigs', manifest('race', 'n: 0\n'));
    const cur = (await api('GET', '/remoteconfigs/race')).body;
    const results = await Promise.all([1, 2, 3, 4].map((n) => api('PUT', '/remoteconfigs/race', { ...cur, spec: { ...cur.spec, body: `n: ${n}\n` } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    const after = (await api('GET', '/remoteconfigs/race')).body;
    const winner = results.find((r) => r.status === 200)!.body;
    expect(after).toMatchObject({ metadata: { resourceVersion: '2' }, spec: { body: winner.spec.body }, status: { latestRevision: 2 } });
    const history = (await api('GET', '/remoteconfigs/race/revisions')).body;
    expect(history.items.map((r: Json) => r.metadata.revision)).toEqual([2, 1]);
    expect((await api('GET', '/remoteconfigs/race/revisions/2')).body.spec.body).toBe(winner.spec.body);
  });

  it('keeps history newest first, a page at a time, and serves single revisions', async () => {
    const page1 = await api('GET', '/remoteconfigs/collector-base/revisions?limit=1');
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ kind: 'RemoteConfigRevisionList', apiVersion: 'v1', metadata: { remainingItemCount: 1, continue: expect.any(String) } });
    expect(page1.body.items).toHaveLength(1);
    expect(page1.body.items[0]).toMatchObject({
      metadata: { revision: 2, message: 'grpc to http', author: 'admin' },
      spec: { contentType: 'application/yaml' },
    });
    expect(page1.body.items[0].spec.body).toBeUndefined();
    const page2 = await api('GET', `/remoteconfigs/collector-base/revisions?limit=1&continue=${page1.body.metadata.continue}`);
    expect(page2.body.items.map((r: Json) => r.metadata.revision)).toEqual([1]);
    expect(page2.body.metadata).toEqual({ remainingItemCount: 0 });

    expect((await api('GET', '/remoteconfigs/collector-base/revisions/latest')).body.metadata.revision).toBe(2);
    expect((await api('GET', '/remoteconfigs/collector-base/revisions/1')).body.spec.body).toBe(V1);
    const none = await api('GET', '/remoteconfigs/collector-base/revisions/9');
    expect(none.status).toBe(404);
    expect(none.body.detail).toContain('no revision 9');
    const bad = await api('GET', '/remoteconfigs/collector-base/revisions/two');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('revision');
    const badCursor = await api('GET', '/remoteconfigs/collector-base/revisions?continue=czpmb28');
    expect(badCursor.status).toBe(400);
  });

  it('diffs two revisions as a unified diff', async () => {
    const d = await api('GET', '/remoteconfigs/collector-base/diff?from=1&to=2');
    expect(d.status).toBe(200);
    expect(d.type).toMatch(/^text\/plain/);
    expect(d.text).toBe(
      [
        '--- collector-base@1',
        '+++ collector-base@2',
        '@@ -1,7 +1,7 @@',
        ' receivers:',
        '   otlp:',
        '     protocols:',
        '-      grpc: {}',
        '+      http: {}',
        ' exporters:',
        '   debug: {}',
        ' service:',
        '',
      ].join('\n'),
    );
    // Defaults: the latest against the one before it.
    expect((await api('GET', '/remoteconfigs/collector-base/diff')).text).toBe(d.text);
    expect((await api('GET', '/remoteconfigs/collector-base/diff?from=2&to=2')).text).toBe('');
    expect((await api('GET', '/remoteconfigs/collector-base/diff?from=1&to=5')).status).toBe(404);
    const bad = await api('GET', '/remoteconfigs/collector-base/diff?from=zero');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('from');
  });

  it('rolls back by making a new revision equal to an old one', async () => {
    events.length = 0;
    const rb = await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 1 });
    expect(rb.status).toBe(200);
    expect(rb.body).toMatchObject({ spec: { body: V1 }, status: { latestRevision: 3, lastChange: { message: 'rollback to revision 1', author: 'admin' } } });
    expect(rb.body.status.hash).toBe((await api('GET', '/remoteconfigs/collector-base/revisions/1')).body.metadata.hash);
    expect(events).toEqual([{ reason: 'remoteconfig.rolledback', configs: ['collector-base'], groups: [] }]);
    expect((await api('GET', '/remoteconfigs/collector-base/diff?from=2&to=3')).text).toContain('-      http: {}\n+      grpc: {}\n');

    // Rolling back to what is already the latest changes nothing.
    const again = await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 1, message: 'again' });
    expect(again.body.status.latestRevision).toBe(3);

    expect((await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 42 })).status).toBe(404);
    const stale = await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 2, resourceVersion: '1' });
    expect(stale.status).toBe(409);
    const unknownField = await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 2, force: true });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.errors).toEqual([{ field: 'force', message: 'property force should not exist' }]);
    expect((await api('GET', '/remoteconfigs/collector-base')).body.status.latestRevision).toBe(3);

    const withMessage = await api('POST', '/remoteconfigs/collector-base/rollback', { revision: 2, message: 'back to http' });
    expect(withMessage.body.status).toMatchObject({ latestRevision: 4, lastChange: { message: 'back to http' } });
  });

  it('refuses bad names, unknown fields and bad content types with the field named', async () => {
    const cases: [Json, string][] = [
      [manifest('Not_A_DNS_Label', 'a: 1\n'), 'metadata.name'],
      [manifest('x'.repeat(64), 'a: 1\n'), 'metadata.name'],
      [manifest('-leading', 'a: 1\n'), 'metadata.name'],
      [{ ...manifest('ok-name', 'a: 1\n'), extra: 1 }, 'extra'],
      [manifest('ok-name', 'a: 1\n', 'application/yaml', { spec: { colour: 'red' } }), 'spec.colour'],
      [manifest('ok-name', 'a: 1\n', 'yaml'), 'spec.contentType'],
      [{ metadata: { name: 'ok-name' }, spec: { body: 42 } }, 'spec.body'],
      [{ metadata: { name: 'ok-name' } }, 'spec'],
      [{ ...manifest('ok-name', 'a: 1\n'), kind: 'AgentGroup' }, 'kind'],
    ];
    for (const [body, field] of cases) {
      const r = await api('POST', '/remoteconfigs', body);
      expect({ field, status: r.status, type: r.type }).toEqual({ field, status: 400, type: expect.stringMatching(/^application\/problem\+json/) });
      expect(r.body.errors.map((e: Json) => e.field)).toContain(field);
    }
    const badPath = await api('GET', '/remoteconfigs/Bad_Name');
    expect(badPath.status).toBe(400);
    expect(badPath.body.errors[0].field).toBe('name');
    expect((await api('GET', '/remoteconfigs/ok-name')).status).toBe(404);
  });

  it('parses YAML and JSON bodies and names line and column of a syntax error', async () => {
    const yamlErr = await api('POST', '/remoteconfigs', manifest('broken-yaml', 'receivers:\n  otlp:\n    protocols: {grpc: {}\nexporters:\n  debug: {}\n'));
    expect(yamlErr.status).toBe(400);
    expect(yamlErr.type).toMatch(/^application\/problem\+json/);
    expect(yamlErr.body).toMatchObject({ status: 400, line: expect.any(Number), column: expect.any(Number) });
    expect(yamlErr.body.detail).toMatch(/^spec\.body: YAML syntax error at line \d+, column \d+: /);
    expect(yamlErr.body.errors[0].field).toBe('spec.body');

    const dup = await api('POST', '/remoteconfigs', manifest('broken-yaml', 'a: 1\nb: c: d\n', 'text/yaml'));
    expect(dup.body).toMatchObject({
      line: 2,
      column: 4,
      detail: 'spec.body: YAML syntax error at line 2, column 4: Nested mappings are not allowed in compact mappings',
    });

    const jsonErr = await api('POST', '/remoteconfigs', manifest('broken-json', '{\n  "a": 1,\n  "b": }\n', 'application/json'));
    expect(jsonErr.status).toBe(400);
    expect(jsonErr.body).toMatchObject({ line: 3, column: 8, detail: `spec.body: JSON syntax error at line 3, column 8: expected a value, found '}'` });

    // Nothing of the refused requests remains.
    expect((await api('GET', '/remoteconfigs/broken-yaml')).status).toBe(404);
    expect((await api('GET', '/remoteconfigs/broken-json')).status).toBe(404);
    expect((await api('GET', '/remoteconfigs/broken-yaml/revisions')).status).toBe(404);

    // A refused replace leaves the config as it was.
    const cur = (await api('GET', '/remoteconfigs/collector-base')).body;
    const bad = await api('PUT', '/remoteconfigs/collector-base', { ...cur, spec: { ...cur.spec, body: 'a: [\n' } });
    expect(bad.status).toBe(400);
    expect((await api('GET', '/remoteconfigs/collector-base')).body).toEqual(cur);
    expect((await api('GET', '/remoteconfigs/collector-base/revisions')).body.items).toHaveLength(cur.status.revisionCount);

    // Good JSON and unchecked types are taken as they are.
    expect((await api('POST', '/remoteconfigs', manifest('json-ok', '{"a": [1, 2]}', 'application/json'))).status).toBe(201);
    expect((await api('POST', '/remoteconfigs', manifest('plain', 'a: [ not checked', 'text/plain'))).status).toBe(201);
  });

  it('lists in name order a page at a time', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await api('POST', '/remoteconfigs', manifest(n, `name: ${n}\n`));
    const all = (await api('GET', '/remoteconfigs?limit=1000')).body;
    const names = all.items.map((i: Json) => i.metadata.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['collector-base', 'page-a', 'page-b', 'page-c']));
    expect(all).toMatchObject({ kind: 'RemoteConfigList', apiVersion: 'v1', metadata: { remainingItemCount: 0 } });

    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = (await api('GET', `/remoteconfigs?limit=2${cont ? `&continue=${cont}` : ''}`)).body;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i: Json) => i.metadata.name));
      expect(page.metadata.remainingItemCount).toBe(names.length - seen.length);
      cont = page.metadata.continue;
      pages++;
    } while (cont);
    expect(seen).toEqual(names);
    expect(pages).toBe(Math.ceil(names.length / 2));
    expect((await api('GET', '/remoteconfigs?limit=0')).status).toBe(400);
    expect((await api('GET', '/remoteconfigs?includeDeleted=maybe')).status).toBe(400);
  });

  it('soft-deletes: gone from reads and lists unless includeDeleted, history kept, the name can be used again', async () => {
    await api('POST', '/remoteconfigs', manifest('short-lived', 'v: 1\n'));
    const cur = (await api('GET', '/remoteconfigs/short-lived')).body;
    await api('PUT', '/remoteconfigs/short-lived', { ...cur, spec: { ...cur.spec, body: 'v: 2\n' } });
    events.length = 0;
    const del = await api('DELETE', '/remoteconfigs/short-lived');
    expect(del.status).toBe(200);
    expect(del.body.metadata.deletedAt).toEqual(expect.any(String));
    expect(events).toEqual([{ reason: 'remoteconfig.deleted', configs: ['short-lived'], groups: [] }]);

    expect((await api('GET', '/remoteconfigs/short-lived')).status).toBe(404);
    expect((await api('DELETE', '/remoteconfigs/short-lived')).status).toBe(404);
    expect((await api('GET', '/remoteconfigs?limit=1000')).body.items.map((i: Json) => i.metadata.name)).not.toContain('short-lived');
    const withDeleted = (await api('GET', '/remoteconfigs?limit=1000&includeDeleted=true')).body.items.find((i: Json) => i.metadata.name === 'short-lived');
    expect(withDeleted).toMatchObject({ metadata: { deletedAt: expect.any(String) }, status: { latestRevision: 2 } });
    expect((await api('GET', '/remoteconfigs/short-lived?includeDeleted=true')).status).toBe(200);
    expect((await api('GET', '/remoteconfigs/short-lived/revisions?includeDeleted=true')).body.items).toHaveLength(2);
    expect((await api('GET', '/remoteconfigs/short-lived/revisions')).status).toBe(404);
    await expect(server.app.get(RemoteConfigsService).getRevision('short-lived', 'latest')).rejects.toThrow('not found');

    const again = await api('POST', '/remoteconfigs', manifest('short-lived', 'v: 3\n'));
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ spec: { body: 'v: 3\n' }, status: { latestRevision: 3 } });
    expect(again.body.metadata.deletedAt).toBeUndefined();
    expect((await api('GET', '/remoteconfigs/short-lived/diff?from=2&to=3')).text).toContain('-v: 2\n+v: 3\n');
  });

  it('documents its endpoints in OpenAPI', async () => {
    const doc = (await (await fetch(`http://127.0.0.1:${server.apiPort}/api/docs-json`)).json()) as Json;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/remoteconfigs',
        '/api/v1/remoteconfigs/{name}',
        '/api/v1/remoteconfigs/{name}/revisions',
        '/api/v1/remoteconfigs/{name}/revisions/{revision}',
        '/api/v1/remoteconfigs/{name}/diff',
        '/api/v1/remoteconfigs/{name}/rollback',
      ]),
    );
    expect(doc.components.schemas.RemoteConfigSpecDto.properties).toHaveProperty('body');
  });
});
