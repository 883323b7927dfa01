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
    const r2 = await refresh(second);
    expect(r2.status).toBe(200);
    const third = setCookie(r2.headers).value;

    // The first cookie was replaced two refreshes ago: a copy, not a lost answer.
    const replay = await refresh(first);
    expect(replay.status).toBe(401);
    expect(setCookie(replay.headers)).toEqual({ value: '', attributes: expect.stringContaining('Max-Age=0') });
    // The reuse revoked the whole family, the rotated cookie too.
    expect((await refresh(third)).status).toBe(401);
  });

  it('keeps the session of a reload that cut its refresh short: the cookie replaced last is exchanged again, until the browser moves on', async () => {
    const first = setCookie((await signIn()).headers).value;
    // The answer of this refresh never reaches the browser (the page was reloaded): it still sends `first`.
    const lost = setCookie((await refresh(first)).headers).value;
    const again = await refresh(first);
    expect(again.status).toBe(200);
    const next = setCookie(again.headers).value;
    expect(next).not.toBe(lost);
    // Cut short once more: still the same cookie, still accepted.
    expect((await refresh(first)).status).toBe(200);
    const now = setCookie((await refresh(first)).headers).value;
    // The browser stored an answer and moved on: `first` is now a replay and ends the session.
    const moved = await refresh(now);
    expect(moved.status).toBe(200);
    expect((await refresh(first)).status).toBe(401);
    expect((await refresh(setCookie(moved.headers).value)).status).toBe(401);
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

describe('browser sessions under the login rate limit', () => {
  it('lets a browser refresh on every page load past the per-address limit; refused tokens are what it counts', async () => {
    // Three attempts a minute per address; the test server's own login used one, this sign-in another.
    const server = await startTestServer({ LOGIN_RATE_LIMIT_PER_ADDRESS: '3' });
    try {
      const url = (p: string) => `${server.baseUrl}/api/v1${p}`;
      const refresh = (cookie: string) => rawRequest(url('/auth/session/refresh'), { method: 'POST', headers: { ...CSRF, cookie: `${COOKIE}=${cookie}` } });
      const login = await rawRequest(url('/auth/session'), {
        method: 'POST',
        headers: CSRF,
        body: { username: TEST_ADMIN.username, password: TEST_ADMIN.password },
      });
      expect(login.status).toBe(200);
      // Twenty page loads in a row, each rotating the cookie: none is refused.
      let cookie = setCookie(login.headers).value;
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await refresh(cookie);
        statuses.push(r.status);
        if (r.status === 200) cookie = setCookie(r.headers).value;
      }
      expect(statuses).toEqual(Array(20).fill(200));
      // A guessed token costs an attempt; the next guess finds the bucket empty and is not even tried.
      const guess = `ocr_${'0'.repeat(32)}.${'1'.repeat(43)}`;
      expect((await refresh(guess)).status).toBe(401);
      const limited = await refresh(guess);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Until it refills, the address's valid refreshes wait too: 429, and the session and its cookie are kept.
      const waiting = await refresh(cookie);
      expect(waiting.status).toBe(429);
      expect(waiting.headers['set-cookie']).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

describe('browser sessions without the reuse grace', () => {
  it('with REFRESH_TOKEN_REUSE_GRACE_SECONDS=0 even the cookie replaced last is a replay', async () => {
    const strict = await startTestServer({ REFRESH_TOKEN_REUSE_GRACE_SECONDS: '0' });
    try {
      const call = (p: string, cookie?: string) =>
        rawRequest(`${strict.baseUrl}/api/v1/auth/session${p}`, {
          method: 'POST',
          headers: { ...CSRF, ...(cookie ? { cookie: `${COOKIE}=${cookie}` } : {}) },
          ...(cookie ? {} : { body: { username: TEST_ADMIN.username, password: TEST_ADMIN.password } }),
        });
      const first = setCookie((await call('')).headers).value;
      const second = setCookie((await call('/refresh', first)).headers).value;
      expect((await call('/refresh', first)).status).toBe(401);
      expect((await call('/refresh', second)).status).toBe(401);
    } finally {
      await strict.close();
    }
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
