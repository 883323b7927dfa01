import { rawRequest } from './support/rest-client';
import { startTestServer, TEST_ADMIN, TestServer } from './support/test-server';

const COOKIE = 'opamp_commander_refresh';
const CSRF = { 'x-requested-with': 'test' };

/** The refresh cookie a Set-Cookie header carries (the value and its attributes). */
function setCookie(headers: Record<string, unknown>): { value: string; attributes: string } {
  const raw = [headers['set-cookie']].flat().find((c) => typeof c === 'string' && c.startsWith(`${COOKIE}=`)) as string | undefined;
  if (!raw) throw new Error(`no ${COOKIE} cookie in ${JSON.stringify(headers['set-cookie'])}`);
  const [pair, ...attrs] = raw.split(';');
  return { value: pair.slice(COOKIE.length + 1), attributes: attrs.map((a) => a.trim()).join('; ') };
}

describe('browser sessions: the refresh token in an HttpOnly cookie, CSRF-protected', () => {
  let server: TestServer;
  const url = (p: string) => `${server.baseUrl}/api/v1${p}`;
  const signIn = () =>
    rawRequest(url('/auth/session'), { method: 'POST', headers: CSRF, body: { username: TEST_ADMIN.username, password: TEST_ADMIN.password } });
  const refresh = (cookie?: string, headers: Record<string, string> = CSRF) =>
    rawRequest(url('/auth/session/refresh'), {
      method: 'POST',
      headers: { ...headers, ...(cookie !== undefined ? { cookie: `other=1; ${COOKIE}=${cookie}` } : {}) },
    });

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('signs in with a password: an access token in the answer, the refresh token only in the cookie', async () => {
    const res = await signIn();
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresAt']);
    const c = setCookie(res.headers);
    expect(c.value).toMatch(/^ocr_/);
    expect(c.attributes).toMatch(/^Path=\/api\/v1\/auth\/session; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    expect(res.headers['cache-control']).toBe('no-store');
    const me = await rawRequest(url('/auth/me'), { headers: { authorization: `Bearer ${res.body.accessToken}` } });
    expect(me.body.metadata.name).toBe(TEST_ADMIN.username);
  });

  it('refuses cookie-authenticated calls without the CSRF header, and refresh without a cookie', async () => {
    const login = await rawRequest(url('/auth/session'), { method: 'POST', body: { username: TEST_ADMIN.username, password: TEST_ADMIN.password } });
    expect(login.status).toBe(403);
    expect(login.type).toMatch(/^application\/problem\+json/);
    expect(login.headers['set-cookie']).toBeUndefined();

    const cookie = setCookie((await signIn()).headers).value;
    const noHeader = await refresh(cookie, {});
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.detail).toMatch(/X-Requested-With/);

    const noCookie = await refresh();
    expect(noCookie.status).toBe(401);
    expect(noCookie.type).toMatch(/^application\/problem\+json/);
  });

  it('refreshes from the cookie, rotating it; a replayed old cookie ends the session and is cleared', async () => {
    const first = setCookie((await signIn()).headers).value;
    const r1 = await refresh(first);
    expect(r1.status).toBe(200);
    expect(Object.keys(r1.body).sort()).toEqual(['accessToken', 'expiresAt']);
    const second = setCookie(r1.headers).value;
    expect(second).not.toBe(first);

    const replay = await refresh(first);
    expect(replay.status).toBe(401);
    expect(setCookie(replay.headers)).toEqual({ value: '', attributes: expect.stringContaining('Max-Age=0') });
    // The reuse revoked the whole family, the rotated cookie too.
    expect((await refresh(second)).status).toBe(401);
  });

  it('signs out: the session ends (its access and refresh tokens stop working) and the cookie is cleared', async () => {
    const login = await signIn();
    const cookie = setCookie(login.headers).value;
    const auth = { authorization: `Bearer ${login.body.accessToken}` };
    const out = await rawRequest(url('/auth/session'), { method: 'DELETE', headers: auth });
    expect(out.status).toBe(204);
    expect(setCookie(out.headers).attributes).toContain('Max-Age=0');
    expect((await refresh(cookie)).status).toBe(401);
    expect((await rawRequest(url('/auth/me'), { headers: auth })).status).toBe(401);
  });
});

describe('the web UI on the API port', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('answers / and client routes as pages under a CSP without inline scripts, and leaves /api/* to the API', async () => {
    for (const p of ['/', '/agents?selector=env%3Dprod']) {
      const res = await rawRequest(`${server.baseUrl}${p}`);
      // 200 with index.html once `npm run build` built the UI, 404 saying how to build it before.
      expect([200, 404]).toContain(res.status);
      expect(res.type).toMatch(/^text\/(html|plain)/);
      expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
      expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      // Inline only for style attributes (they cannot run script), never for scripts or <style> elements.
      expect(
        String(res.headers['content-security-policy'])
          .split('; ')
          .filter((d) => d.includes('unsafe-inline')),
      ).toEqual(["style-src-attr 'unsafe-inline'"]);
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
    const api = await rawRequest(`${server.baseUrl}/api/v1/no-such-thing`);
    expect(api.status).toBe(404);
    expect(api.type).toMatch(/^application\/problem\+json/);
  });
});
