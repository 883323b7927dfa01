import { rawRequest } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Routes of /api/v1 reachable without credentials, on purpose. Anything else under /api/v1
 * must answer 401 problem+json to a request without credentials; a new route that does not is
 * a route made public by accident, and fails this test.
 */
const PUBLIC_API = new Set([
  'POST /api/v1/auth/login',
  'GET /api/v1/auth/basic', // its own credentials: HTTP Basic
  'POST /api/v1/auth/refresh', // its own credential: the refresh token
  'POST /api/v1/auth/session', // browser sign-in (password), sets the refresh cookie
  'POST /api/v1/auth/session/refresh', // its own credential: the refresh cookie (+ the CSRF header)
  'GET /api/v1/auth/github',
  'GET /api/v1/auth/github/callback',
  'GET /api/v1/auth/github/callback/web',
  'GET /api/v1/auth/session/providers',
  'POST /api/v1/auth/github/device',
  'POST /api/v1/auth/github/device/token',
  'GET /api/v1/version',
  'GET /api/v1/ping',
]);

/** Routes outside /api/v1: probes, metrics, the OpenAPI document and the web UI's pages, public by design. */
const INFRASTRUCTURE = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/api\/docs(\/.*|-json|-yaml)?$/, /^\/$/, /^\/\*$/];

/** A concrete path for a route pattern: parameters get plausible values, wildcards a name. */
function concrete(url: string): string {
  return url
    .replace(/:instanceUid/g, '0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90')
    .replace(/:revision/g, '1')
    .replace(/:[A-Za-z]\w*/g, 'x1')
    .replace(/\*/g, 'x1');
}

describe('every registered route is protected unless listed as public', () => {
  let server: TestServer;
  let routes: { method: string; url: string }[];

  beforeAll(async () => {
    server = await startTestServer({
      GITHUB_CLIENT_ID: 'id',
      GITHUB_CLIENT_SECRET: 'secret',
      GITHUB_BASE_URL: 'http://127.0.0.1:9',
      GITHUB_API_URL: 'http://127.0.0.1:9',
    });
    const seen = new Set<string>();
    routes = server.routes.filter((r) => {
      const key = `${r.method} ${r.url}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });
  afterAll(() => server?.close());

  it('finds the routes (enumeration works)', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        'GET /api/v1/agents',
        'GET /api/v1/agents/:instanceUid',
        'POST /api/v1/agentgroups',
        'GET /api/v1/users',
        'POST /api/v1/enrollment-tokens',
        'GET /api/v1/audit',
        'GET /healthz',
      ]),
    );
    for (const key of PUBLIC_API) expect(keys).toContain(key);
    expect(routes.length).toBeGreaterThan(40);
  });

  it('answers 401 problem+json without credentials on every non-public /api/v1 route', async () => {
    const unprotected: string[] = [];
    let checked = 0;
    for (const r of routes) {
      if (!r.url.startsWith('/api/v1')) continue;
      const key = `${r.method} ${r.url}`;
      if (PUBLIC_API.has(key) || (r.method === 'HEAD' && PUBLIC_API.has(`GET ${r.url}`))) continue;
      const res = await rawRequest(`${server.baseUrl}${concrete(r.url)}`, {
        method: r.method,
        ...(['POST', 'PUT', 'PATCH'].includes(r.method) ? { body: {} } : {}),
      });
      checked++;
      const problem = r.method === 'HEAD' || (res.type.startsWith('application/problem+json') && res.body.status === 401);
      if (res.status !== 401 || !problem || res.headers['www-authenticate'] !== 'Bearer') unprotected.push(`${key} → ${res.status} ${res.type}`);
    }
    expect(unprotected).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });

  it('has nothing outside /api/v1 but probes, metrics, the API docs and the web UI', () => {
    const other = routes.filter((r) => !r.url.startsWith('/api/v1') && !INFRASTRUCTURE.some((re) => re.test(r.url)));
    expect(other).toEqual([]);
  });

  it('keeps the public routes answering without credentials (none of them is a 401 for lack of a bearer token)', async () => {
    const get = (path: string, method = 'GET', body?: unknown) => rawRequest(`${server.baseUrl}${path}`, { method, body });
    expect((await get('/api/v1/version')).status).toBe(200);
    expect((await get('/api/v1/ping')).status).toBe(200);
    expect((await get('/api/v1/auth/login', 'POST', {})).status).toBe(400);
    expect((await get('/api/v1/auth/refresh', 'POST', {})).status).toBe(400);
    expect((await get('/api/v1/auth/basic')).headers['www-authenticate']).toMatch(/^Basic/);
    expect((await get('/api/v1/auth/github')).status).toBe(302);
    expect((await get('/healthz')).status).toBe(200);
  });
});
