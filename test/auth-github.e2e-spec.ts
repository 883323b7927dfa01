import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { FakeGithub } from './support/fake-github';
import { ApiAnswer, rawRequest, restClient } from './support/rest-client';
import { startTestServer, TestServer } from './support/test-server';

const STATE_COOKIE = 'occ_oauth_state';
const claimsSub = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')).sub as string;

describe('GitHub sign-in against a fake GitHub on loopback', () => {
  let github: FakeGithub;
  let server: TestServer;
  let admin: ReturnType<typeof restClient>;
  let anonymous: ReturnType<typeof restClient>;
  let sessions: () => Promise<number>;
  let users: () => Promise<number>;

  beforeAll(async () => {
    github = await FakeGithub.start();
    github.addUser({ id: 101, login: 'Octocat', name: 'The Octocat', orgs: ['acme', 'other'] });
    github.addUser({ id: 202, login: 'outsider', orgs: ['elsewhere'] });
    github.addUser({ id: 303, login: 'contractor', orgs: [] });
    server = await startTestServer({
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_BASE_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_ALLOWED_ORGS: 'ACME',
      GITHUB_DEFAULT_ROLE: 'operator',
    });
    admin = restClient(server);
    anonymous = restClient(server, { token: null });
    const db = server.app.get<Connection>(getConnectionToken());
    sessions = () => db.collection('auth_sessions').countDocuments();
    users = () => db.collection('users').countDocuments();
  });
  afterAll(async () => {
    await server?.close();
    await github?.close();
  });

  /** Step 1: the server's redirect to GitHub, and the state cookie it set. */
  async function start(): Promise<{ authorizeUrl: URL; cookie: string }> {
    const res = await anonymous('GET', '/auth/github');
    expect(res.status).toBe(302);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${STATE_COOKIE}=[\\w-]+; Path=/api/v1/auth/github; Max-Age=600; HttpOnly; SameSite=Lax$`));
    return { authorizeUrl: new URL(String(res.headers.location)), cookie: setCookie.split(';')[0] };
  }

  /** Step 2: GitHub (the fake) approves and sends the browser back: the callback URL. */
  async function authorize(authorizeUrl: URL, as: string | undefined): Promise<URL> {
    github.approveAs = as;
    const res = await rawRequest(authorizeUrl.toString());
    expect(res.status).toBe(302);
    return new URL(String(res.headers.location));
  }

  const callback = (url: URL, cookie?: string): Promise<ApiAnswer> => rawRequest(url.toString(), { headers: cookie ? { cookie } : {} });

  it('signs a member of an allowed organisation in through the browser flow, creating the user with the default role', async () => {
    const { authorizeUrl, cookie } = await start();
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${github.url}/login/oauth/authorize`);
    expect(authorizeUrl.searchParams.get('client_id')).toBe(github.clientId);
    expect(authorizeUrl.searchParams.get('scope')).toBe('read:user read:org');
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${server.baseUrl}/api/v1/auth/github/callback`);
    expect(authorizeUrl.searchParams.get('state')).toMatch(/^[\w-]+\.[\w-]+$/);

    const back = await authorize(authorizeUrl, 'Octocat');
    const res = await callback(back, cookie);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresAt', 'refreshToken']);
    expect(String(res.headers['set-cookie'])).toMatch(new RegExp(`^${STATE_COOKIE}=; .*Max-Age=0`));
    const me = await restClient(server, { token: res.body.accessToken })('GET', '/auth/me');
    expect(me.body).toMatchObject({
      metadata: { name: 'github:octocat' },
      spec: { role: 'operator', githubLogin: 'octocat' },
      status: { source: 'github', githubLinked: true, hasPassword: false },
    });
    expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /login/oauth/access_token', 'GET /user', 'GET /user/orgs']),
    );
    // A second sign-in finds the same user.
    const second = await start();
    const again = await callback(await authorize(second.authorizeUrl, 'Octocat'), second.cookie);
    expect(claimsSub(again.body.accessToken)).toBe('github:octocat');
    // The cookie of one flow does not fit the state of another.
    const third = await start();
    expect((await callback(await authorize(third.authorizeUrl, 'Octocat'), cookie)).status).toBe(401);
  });

  it('refuses forged, altered, expired-looking, cookie-less and replayed states, leaving no session', async () => {
    const s0 = await sessions();
    const { authorizeUrl, cookie } = await start();
    const back = await authorize(authorizeUrl, 'Octocat');
    const state = back.searchParams.get('state')!;
    const [payload, mac] = state.split('.');
    const variants: [string, (u: URL) => void, string | undefined][] = [
      ['no state', (u) => u.searchParams.delete('state'), cookie],
      ['forged state', (u) => u.searchParams.set('state', 'forged.state'), cookie],
      [
        'altered payload',
        (u) => u.searchParams.set('state', `${Buffer.from(JSON.stringify({ n: 'x', e: Date.now() + 1e9 })).toString('base64url')}.${mac}`),
        cookie,
      ],
      ['altered signature', (u) => u.searchParams.set('state', `${payload}.${mac.slice(0, -2)}AA`), cookie],
      ['no cookie', () => undefined, undefined],
      ['another browser', () => undefined, `${STATE_COOKIE}=someone-elses-nonce`],
      ['no code', (u) => u.searchParams.delete('code'), cookie],
    ];
    for (const [name, change, withCookie] of variants) {
      const u = new URL(back);
      change(u);
      const res = await callback(u, withCookie);
      try {
        expect(res.status).toBe(401);
        expect(res.type).toMatch(/^application\/problem\+json/);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    // The untouched callback still works once; the same code again is refused by GitHub.
    expect((await callback(back, cookie)).status).toBe(200);
    const replay = await callback(back, cookie);
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toBe('GitHub did not accept the authorization code.');
    expect(await sessions()).toBe(s0 + 1);
  });

  it('refuses a user who denies access on GitHub, and one outside the allowed organisations, creating nothing', async () => {
    const [s0, u0] = [await sessions(), await users()];
    const denied = await start();
    const deniedRes = await callback(await authorize(denied.authorizeUrl, undefined), denied.cookie);
    expect(deniedRes.status).toBe(401);
    expect(deniedRes.body.detail).toMatch(/denied/);

    const outsider = await start();
    const res = await callback(await authorize(outsider.authorizeUrl, 'outsider'), outsider.cookie);
    expect(res.status).toBe(403);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toBe('GitHub user outsider is not a member of an allowed organisation');
    expect([await sessions(), await users()]).toEqual([s0, u0]);
  });

  it('lets an admin link a GitHub account outside the organisations to a user with its own role', async () => {
    expect((await admin('POST', '/users', { metadata: { name: 'carla' }, spec: { role: 'viewer', githubLogin: 'Contractor' } })).status).toBe(201);
    const flow = await start();
    const res = await callback(await authorize(flow.authorizeUrl, 'contractor'), flow.cookie);
    expect(res.status).toBe(200);
    const me = await restClient(server, { token: res.body.accessToken })('GET', '/auth/me');
    expect(me.body).toMatchObject({ metadata: { name: 'carla' }, spec: { role: 'viewer', githubLogin: 'contractor' }, status: { githubLinked: true } });
    // Disabled: refused.
    await admin('PATCH', '/users/carla', { spec: { disabled: true } });
    const again = await start();
    expect((await callback(await authorize(again.authorizeUrl, 'contractor'), again.cookie)).status).toBe(403);
  });

  it('signs the CLI in with the device flow', async () => {
    const started = await anonymous('POST', '/auth/github/device');
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({
      userCode: expect.stringMatching(/^\w{4}-\w{4}$/),
      verificationUri: `${github.url}/login/device`,
      expiresIn: 900,
      interval: 5,
    });
    const poll = () => anonymous('POST', '/auth/github/device/token', { deviceCode: started.body.deviceCode });

    const pending = await poll();
    expect(pending.status).toBe(400);
    expect(pending.type).toMatch(/^application\/problem\+json/);
    expect(pending.body).toMatchObject({ error: 'authorization_pending', interval: 5 });

    github.approveDevice(started.body.userCode, 'Octocat');
    const done = await poll();
    expect(done.status).toBe(200);
    const me = await restClient(server, { token: done.body.accessToken })('GET', '/auth/me');
    expect(me.body.metadata.name).toBe('github:octocat');
    // The device code is spent.
    expect((await poll()).body.error).toBe('incorrect_device_code');
  });

  it('refuses denied and unknown device codes, and outsiders, with no session', async () => {
    const s0 = await sessions();
    const started = (await anonymous('POST', '/auth/github/device')).body;
    github.approveDevice(started.userCode, 'Octocat', true);
    const denied = await anonymous('POST', '/auth/github/device/token', { deviceCode: started.deviceCode });
    expect(denied.body).toMatchObject({ status: 400, error: 'access_denied' });

    const outsider = (await anonymous('POST', '/auth/github/device')).body;
    github.approveDevice(outsider.userCode, 'outsider');
    expect((await anonymous('POST', '/auth/github/device/token', { deviceCode: outsider.deviceCode })).status).toBe(403);

    expect((await anonymous('POST', '/auth/github/device/token', { deviceCode: 'made-up' })).body.error).toBe('incorrect_device_code');
    expect((await anonymous('POST', '/auth/github/device/token', { deviceCode: 'bad code!' })).status).toBe(400);
    expect(await sessions()).toBe(s0);
  });

  it('signs the web UI in: the callback below the registered one sets the session cookie and returns to the UI; a refusal comes back as a message', async () => {
    expect((await anonymous('GET', '/auth/session/providers')).body).toEqual({ password: true, github: true });
    const res = await anonymous('GET', '/auth/github?for=web');
    expect(res.status).toBe(302);
    const authorizeUrl = new URL(String(res.headers.location));
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${server.baseUrl}/api/v1/auth/github/callback/web`);
    const cookie = String(res.headers['set-cookie']).split(';')[0];
    const back = await authorize(authorizeUrl, 'Octocat');
    expect(back.pathname).toBe('/api/v1/auth/github/callback/web');
    const done = await callback(back, cookie);
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe('/');
    const setCookies = ([] as string[]).concat(done.headers['set-cookie'] ?? []);
    const refresh = setCookies.find((c) => c.startsWith('opamp_commander_refresh='));
    expect(refresh).toMatch(/^opamp_commander_refresh=[^;]+; Path=\/api\/v1\/auth\/session; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    expect(JSON.stringify(done.body ?? '')).not.toMatch(/refreshToken|accessToken/);
    // What the UI does when it loads: the cookie gives it an access token for the GitHub user.
    const restored = await rawRequest(`${server.baseUrl}/api/v1/auth/session/refresh`, {
      method: 'POST',
      headers: { cookie: refresh!.split(';')[0], 'x-requested-with': 'test' },
    });
    expect(restored.status).toBe(200);
    expect(claimsSub(restored.body.accessToken)).toBe('github:octocat');

    // An outsider is sent back to the UI with the reason, and no session is made.
    const s0 = await sessions();
    const again = await anonymous('GET', '/auth/github?for=web');
    const refused = await callback(await authorize(new URL(String(again.headers.location)), 'outsider'), String(again.headers['set-cookie']).split(';')[0]);
    expect(refused.status).toBe(302);
    expect(new URL(String(refused.headers.location), server.baseUrl).pathname).toBe('/sign-in');
    expect(new URL(String(refused.headers.location), server.baseUrl).searchParams.get('signInError')).toBe(
      'GitHub user outsider is not a member of an allowed organisation',
    );
    expect(([] as string[]).concat(refused.headers['set-cookie'] ?? []).some((c) => c.startsWith('opamp_commander_refresh='))).toBe(false);
    // A code meant for the web callback is not taken by the API callback (redirect_uri differs).
    const third = await anonymous('GET', '/auth/github?for=web');
    const webBack = await authorize(new URL(String(third.headers.location)), 'Octocat');
    const apiUrl = new URL(webBack);
    apiUrl.pathname = '/api/v1/auth/github/callback';
    expect((await callback(apiUrl, String(third.headers['set-cookie']).split(';')[0])).status).toBe(401);
    expect(await sessions()).toBe(s0);
  });

  it('answers 404 problem+json when GitHub sign-in is not configured', async () => {
    const plain = await startTestServer();
    try {
      const res = await rawRequest(`${plain.baseUrl}/api/v1/auth/github`);
      expect(res.status).toBe(404);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toMatch(/not configured/);
      expect((await rawRequest(`${plain.baseUrl}/api/v1/auth/session/providers`)).body).toEqual({ password: true, github: false });
    } finally {
      await plain.close();
    }
  });
});
