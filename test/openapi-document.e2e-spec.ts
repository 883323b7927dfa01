import { rawRequest } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

type Operation = {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown> }>;
  parameters?: { name: string; schema?: { pattern?: string } }[];
};

describe('the OpenAPI document and methods a path does not take', () => {
  let server: TestServer;
  let paths: Record<string, Record<string, Operation>>;
  beforeAll(async () => {
    server = await startTestServer();
    paths = ((await (await fetch(`${server.baseUrl}/api/docs-json`)).json()) as { paths: typeof paths }).paths;
  });
  afterAll(() => server?.close());

  it('says which operations are public, and what every operation answers', () => {
    for (const [p, m] of [
      ['/healthz', 'get'],
      ['/readyz', 'get'],
      ['/metrics', 'get'],
      ['/api/v1/version', 'get'],
      ['/api/v1/ping', 'get'],
      ['/api/v1/auth/login', 'post'],
      ['/api/v1/auth/refresh', 'post'],
    ]) {
      expect([p, paths[p][m].security]).toEqual([p, []]);
    }
    expect(paths['/api/v1/auth/basic'].get.security).toEqual([{ basic: [] }]);
    const ops = Object.entries(paths).flatMap(([p, item]) => Object.entries(item).map(([m, op]) => ({ name: `${m.toUpperCase()} ${p}`, op })));
    expect(ops.length).toBeGreaterThanOrEqual(48);
    for (const { name, op } of ops) {
      const success = Object.entries(op.responses).filter(([code]) => /^[23]/.test(code));
      expect([name, success.length > 0]).toEqual([name, true]);
      // A body-carrying success answer has its schema.
      for (const [code, r] of success) if (!['202', '204', '302'].includes(code) || r.content) expect([name, code, !!r.content]).toEqual([name, code, true]);
      if (op.security === undefined) expect([name, Object.keys(op.responses)]).toEqual([name, expect.arrayContaining(['401'])]);
    }
    const uid = paths['/api/v1/agents/{instanceUid}'].get.parameters!.find((p) => p.name === 'instanceUid')!;
    expect(uid.schema?.pattern).toMatch(/0-9a-fA-F/);
  });

  it('answers 405 with Allow for a method a path does not take, 404 for a path that does not exist', async () => {
    const trace = await rawRequest(`${server.baseUrl}/api/v1/agents`, { method: 'TRACE', headers: server.authHeaders });
    expect(trace.status).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD');
    expect(trace.type).toMatch(/^application\/problem\+json/);
    const put = await rawRequest(`${server.baseUrl}/api/v1/agents/0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90`, {
      method: 'PUT',
      headers: server.authHeaders,
      body: {},
    });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
    expect((await rawRequest(`${server.baseUrl}/api/v1/no-such-thing`, { method: 'TRACE', headers: server.authHeaders })).status).toBe(404);
  });
});
