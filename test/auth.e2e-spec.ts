import { createHmac } from 'node:crypto';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { AuditService } from '../src/audit/audit.service';
import { AuditedKinds } from '../src/audit/audited-kinds';
import { ApiAnswer, Json, rawRequest, restClient } from './support/rest-client';
import { startTestServer, TEST_ADMIN, TEST_JWT_SECRET, TestServer } from './support/test-server';

const b64u = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** A JWT made by hand, to tamper with: `secret` undefined leaves the signature empty. */
function handMadeJwt(header: Json, payload: Json, secret?: string, alg = 'sha256'): string {
  const signing = `${b64u(header)}.${b64u(payload)}`;
  return `${signing}.${secret === undefined ? '' : createHmac(alg, secret).update(signing).digest('base64url')}`;
}
const claimsOf = (jwt: string): Json => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

/** Every refusal of the API: 401 (or 403) problem+json, never echoing the credential. */
function expectRefused(res: ApiAnswer, status: 401 | 403, credential?: string) {
  expect(res.status).toBe(status);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, title: status === 401 ? 'Unauthorized' : 'Forbidden' });
  if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^(Bearer|Basic)/);
  if (credential) expect(JSON.stringify(res.body)).not.toContain(credential);
}

describe('users, tokens and roles on the management API', () => {
  let server: TestServer;
  let admin: ReturnType<typeof restClient>;
  let anonymous: ReturnType<typeof restClient>;
  let sessions: () => Promise<number>;
  const PASSWORDS = { ada: 'ada-reads-the-fleet-42', otto: 'otto-changes-configs-42' };

  const login = (username: string, password: string) => anonymous('POST', '/auth/login', { username, password });
  const as = (token: string) => restClient(server, { token });

  beforeAll(async () => {
    server = await startTestServer({ LOGIN_RATE_LIMIT_PER_USER: '1000', LOGIN_RATE_LIMIT_PER_ADDRESS: '1000' });
    admin = restClient(server);
    anonymous = restClient(server, { token: null });
    const db = server.app.get<Connection>(getConnectionToken());
    sessions = () => db.collection('auth_sessions').countDocuments({ revokedAt: null });
    expect((await admin('POST', '/users', { metadata: { name: 'ada' }, spec: { role: 'viewer', password: PASSWORDS.ada } })).status).toBe(201);
    expect((await admin('POST', '/users', { metadata: { name: 'otto' }, spec: { role: 'operator', password: PASSWORDS.otto } })).status).toBe(201);
  });
  afterAll(() => server?.close());

  it('signs in with a password and answers who is signed in', async () => {
    const res = await login('ada', PASSWORDS.ada);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresAt', 'refreshToken']);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(new Date(res.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(800_000);
    expect(claimsOf(res.body.accessToken)).toMatchObject({
      sub: 'ada',
      role: 'viewer',
      typ: 'access',
      iss: 'opamp-commander',
      aud: 'opamp-commander-api',
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
    const me = await as(res.body.accessToken)('GET', '/auth/me');
    expect(me.body).toMatchObject({
      kind: 'User',
      metadata: { name: 'ada' },
      spec: { role: 'viewer', disabled: false },
      status: { source: 'local', hasPassword: true },
    });
    expect(JSON.stringify(me.body)).not.toContain('scrypt');
    // User names are case-insensitive.
    expect((await login('ADA', PASSWORDS.ada)).status).toBe(200);
  });

  it('signs in with HTTP Basic', async () => {
    const basic = (v: string) => anonymous('GET', '/auth/basic', undefined, { authorization: v });
    const ok = await basic(`Basic ${Buffer.from(`otto:${PASSWORDS.otto}`).toString('base64')}`);
    expect(ok.status).toBe(200);
    expect(claimsOf(ok.body.accessToken)).toMatchObject({ sub: 'otto', role: 'operator' });
    const before = await sessions();
    for (const header of [
      '',
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('otto').toString('base64')}`,
      `Basic ${Buffer.from('otto:wrong-password-1').toString('base64')}`,
      `Bearer ${ok.body.accessToken}`,
    ]) {
      const res = await (header ? basic(header) : anonymous('GET', '/auth/basic'));
      expectRefused(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="opamp-commander"/);
    }
    expect(await sessions()).toBe(before);
  });

  it('refuses wrong passwords and unknown users alike, leaving no session', async () => {
    const before = await sessions();
    const wrong = await login('ada', 'not-her-password-1');
    const unknown = await login('nobody', 'not-a-password-1');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toBe('Invalid user name or password.');
      expect(JSON.stringify(res.body)).not.toContain('not-her-password-1');
    }
    expect((await anonymous('POST', '/auth/login', { username: 'ada' })).status).toBe(400);
    expect((await anonymous('POST', '/auth/login', { username: 'ada', password: PASSWORDS.ada, extra: 1 })).status).toBe(400);
    expect(await sessions()).toBe(before);
  });

  it('refuses missing, malformed, wrong, expired, tampered and unsigned access tokens with 401 problem+json', async () => {
    const good = (await login('ada', PASSWORDS.ada)).body.accessToken as string;
    const [h, p] = good.split('.');
    const claims = claimsOf(good);
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string | undefined][] = [
      ['missing', undefined],
      ['empty bearer', 'Bearer'],
      ['not a bearer', `Token ${good}`],
      ['garbage', 'Bearer not-a-jwt'],
      ['two parts', `Bearer ${h}.${p}`],
      ['wrong signature', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-of-at-least-32-characters!')}`],
      ['altered payload, old signature', `Bearer ${h}.${b64u({ ...claims, role: 'admin', sub: 'admin' })}.${good.split('.')[2]}`],
      ['alg none', `Bearer ${handMadeJwt({ alg: 'none', typ: 'JWT' }, { ...claims, sub: 'admin', role: 'admin' })}`],
      ['alg none with a dot-less end', `Bearer ${handMadeJwt({ alg: 'none' }, claims).slice(0, -1)}`],
      ['HS512 with the right secret', `Bearer ${handMadeJwt({ alg: 'HS512', typ: 'JWT' }, claims, TEST_JWT_SECRET, 'sha512')}`],
      ['expired', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 7200, exp: now - 3600 }, TEST_JWT_SECRET)}`],
      ['other audience', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: 'someone-else' }, TEST_JWT_SECRET)}`],
      ['other issuer', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'evil' }, TEST_JWT_SECRET)}`],
      ['no expiry', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: undefined }, TEST_JWT_SECRET)}`],
      ['no issued-at', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: undefined }, TEST_JWT_SECRET)}`],
      ['no audience', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: undefined }, TEST_JWT_SECRET)}`],
      ['no issuer', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: undefined }, TEST_JWT_SECRET)}`],
      ['unknown session', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sid: '0'.repeat(32) }, TEST_JWT_SECRET)}`],
      ['session of another user', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: 'admin' }, TEST_JWT_SECRET)}`],
      ['not an access token', `Bearer ${handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, typ: 'refresh' }, TEST_JWT_SECRET)}`],
    ];
    for (const [name, header] of cases) {
      const res = await anonymous('GET', '/agents', undefined, header ? { authorization: header } : {});
      try {
        expectRefused(res, 401, header?.slice(7));
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    const expired = await anonymous('GET', '/agents', undefined, { authorization: cases.find(([n]) => n === 'expired')![1]! });
    expect(expired.body.detail).toMatch(/expired/);
    expect((await anonymous('GET', '/agents')).body.detail).toMatch(/Missing credentials/);
    // The real one still works.
    expect((await as(good)('GET', '/agents')).status).toBe(200);
  });

  it('rotates refresh tokens; a replayed one revokes the whole family', async () => {
    const first = (await login('otto', PASSWORDS.otto)).body;
    const second = await anonymous('POST', '/auth/refresh', { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect(claimsOf(second.body.accessToken).sid).toBe(claimsOf(first.accessToken).sid);
    const third = await anonymous('POST', '/auth/refresh', { refreshToken: second.body.refreshToken });
    expect(third.status).toBe(200);
    expect((await as(third.body.accessToken)('GET', '/agents')).status).toBe(200);

    // Someone replays the first refresh token: refused, and the family is gone for everyone.
    const replay = await anonymous('POST', '/auth/refresh', { refreshToken: first.refreshToken });
    expectRefused(replay, 401, first.refreshToken);
    expect(replay.body.detail).toMatch(/already used; the session has been revoked/);
    expectRefused(await anonymous('POST', '/auth/refresh', { refreshToken: third.body.refreshToken }), 401);
    expectRefused(await as(third.body.accessToken)('GET', '/agents'), 401);
    expectRefused(await as(first.accessToken)('GET', '/agents'), 401);

    const audit = await admin('GET', '/audit?action=revoke&actor=otto');
    expect(audit.body.items[0]).toMatchObject({
      action: 'revoke',
      resource: { kind: 'sessions', name: 'otto' },
      summary: 'refresh token reused: session revoked',
    });
  });

  it('refuses malformed, unknown and access tokens as refresh tokens', async () => {
    const { accessToken, refreshToken } = (await login('ada', PASSWORDS.ada)).body;
    const [id] = (refreshToken as string).slice(4).split('.');
    for (const token of ['', 'x', accessToken, `ocr_${id}.${'A'.repeat(43)}`, `ocr_${'f'.repeat(32)}.${'A'.repeat(43)}`, `${refreshToken}x`]) {
      const res = await anonymous('POST', '/auth/refresh', { refreshToken: token });
      expectRefused(res, 401, token || undefined);
    }
    // A wrong secret for a real session does not revoke it (only a replay of a real old one does).
    expect((await anonymous('POST', '/auth/refresh', { refreshToken })).status).toBe(200);
    expect((await anonymous('POST', '/auth/refresh', {})).status).toBe(400);
  });

  it('logs out: the access and refresh tokens of the session stop working', async () => {
    const { accessToken, refreshToken } = (await login('ada', PASSWORDS.ada)).body;
    expect((await as(accessToken)('POST', '/auth/logout')).status).toBe(204);
    expectRefused(await as(accessToken)('GET', '/auth/me'), 401);
    expectRefused(await anonymous('POST', '/auth/refresh', { refreshToken }), 401);
    expectRefused(await anonymous('POST', '/auth/logout'), 401);
  });

  it('gives each role its rights: viewer reads, operator changes the fleet, admin manages users', async () => {
    const viewer = as((await login('ada', PASSWORDS.ada)).body.accessToken);
    const operator = as((await login('otto', PASSWORDS.otto)).body.accessToken);
    const group = (name: string) => ({ kind: 'AgentGroup', apiVersion: 'v1', metadata: { name }, spec: { selector: 'env=prod' } });

    expect((await viewer('GET', '/agents')).status).toBe(200);
    expect((await viewer('GET', '/agentgroups')).status).toBe(200);
    expectRefused(await viewer('POST', '/agentgroups', group('by-viewer')), 403);
    expect((await viewer('POST', '/agentgroups', group('by-viewer'))).body.detail).toBe('This needs the operator role; ada has viewer.');
    expectRefused(await viewer('GET', '/users'), 403);
    expectRefused(await viewer('GET', '/audit'), 403);
    expectRefused(await viewer('GET', '/enrollment-tokens'), 403);
    expect((await viewer('POST', '/auth/logout')).status).toBe(204);

    expect((await operator('POST', '/agentgroups', group('by-operator'))).status).toBe(201);
    expect((await operator('DELETE', '/agentgroups/by-operator')).status).toBe(200);
    expectRefused(await operator('GET', '/users'), 403);
    expectRefused(await operator('POST', '/enrollment-tokens', {}), 403);
    expectRefused(await operator('PATCH', '/users/otto', { spec: { role: 'admin' } }), 403);

    // A role change applies to tokens already issued.
    expect((await admin('PATCH', '/users/otto', { spec: { role: 'viewer' } })).body.spec.role).toBe('viewer');
    expectRefused(await operator('POST', '/agentgroups', group('after-demotion')), 403);
    expect((await admin('PATCH', '/users/otto', { spec: { role: 'operator' } })).status).toBe(200);
    expect((await operator('POST', '/agentgroups', group('after-promotion'))).status).toBe(201);
  });

  it('records the signed-in user as the author of a config revision', async () => {
    const operator = as((await login('otto', PASSWORDS.otto)).body.accessToken);
    const created = await operator('POST', '/remoteconfigs?message=by%20otto', {
      kind: 'RemoteConfig',
      apiVersion: 'v1',
      metadata: { name: 'authored' },
      spec: { contentType: 'application/yaml', body: 'receivers: {}\n' },
    });
    expect(created.status).toBe(201);
    expect(created.body.status.lastChange).toMatchObject({ author: 'otto', message: 'by otto' });
  });

  it('manages users: weak passwords, duplicates, self-protection and the last admin are refused', async () => {
    const weak = await admin('POST', '/users', { metadata: { name: 'weak' }, spec: { role: 'viewer', password: 'changeme' } });
    expect(weak.status).toBe(400);
    expect(weak.body.errors).toEqual([{ field: 'spec.password', message: 'must be at least 12 characters' }]);
    expect(
      (await admin('POST', '/users', { metadata: { name: 'weak' }, spec: { role: 'viewer', password: 'passwordpassword' } })).body.errors[0].message,
    ).toMatch(/well-known/);
    expect((await admin('POST', '/users', { metadata: { name: 'Bad Name' }, spec: { role: 'viewer' } })).status).toBe(400);
    expect((await admin('POST', '/users', { metadata: { name: 'x' }, spec: { role: 'root' } })).status).toBe(400);
    expect((await admin('POST', '/users', { metadata: { name: 'ada' }, spec: { role: 'viewer', password: 'another-long-password' } })).status).toBe(409);
    expect((await admin('DELETE', `/users/${TEST_ADMIN.username}`)).status).toBe(409);
    expect((await admin('PATCH', `/users/${TEST_ADMIN.username}`, { spec: { role: 'viewer' } })).status).toBe(409);

    // A second admin may demote the first; the last one stays.
    expect((await admin('POST', '/users', { metadata: { name: 'eve' }, spec: { role: 'admin', password: 'eve-is-admin-too-42' } })).status).toBe(201);
    const eve = as((await login('eve', 'eve-is-admin-too-42')).body.accessToken);
    expect((await eve('DELETE', '/users/eve')).status).toBe(409);
    const list = await admin('GET', '/users?limit=2');
    expect(list.body).toMatchObject({ kind: 'UserList', metadata: { remainingItemCount: 2 } });
    expect(list.body.items.map((u: Json) => u.metadata.name)).toEqual(['ada', 'admin']);
    expect((await admin('DELETE', '/users/eve')).status).toBe(204);
    expectRefused(await eve('GET', '/agents'), 401);
    expect((await admin('GET', '/users/eve')).status).toBe(404);
  });

  it('disabling a user or changing a password ends their sessions', async () => {
    const ada = as((await login('ada', PASSWORDS.ada)).body.accessToken);
    expect((await admin('PATCH', '/users/ada', { spec: { disabled: true } })).body.spec.disabled).toBe(true);
    expectRefused(await ada('GET', '/agents'), 401);
    expect((await login('ada', PASSWORDS.ada)).status).toBe(401);
    expect((await admin('PATCH', '/users/ada', { spec: { disabled: false } })).status).toBe(200);
    const again = as((await login('ada', PASSWORDS.ada)).body.accessToken);
    PASSWORDS.ada = 'ada-has-a-new-password-7';
    expect((await admin('PATCH', '/users/ada', { spec: { password: PASSWORDS.ada } })).status).toBe(200);
    expectRefused(await again('GET', '/agents'), 401);
    expect((await login('ada', PASSWORDS.ada)).status).toBe(200);
  });

  it('sets security headers on every answer, errors included', async () => {
    for (const res of [await admin('GET', '/agents'), await anonymous('GET', '/agents'), await anonymous('GET', '/version')]) {
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      });
      expect(res.headers['strict-transport-security']).toBeUndefined(); // plain HTTP here
      expect(res.headers['access-control-allow-origin']).toBeUndefined(); // CORS off by default
    }
  });

  it('keeps an audit log of every change, with before/after hashes and what changed', async () => {
    const group = (selector: string, resourceVersion?: string) => ({
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'audited', ...(resourceVersion ? { resourceVersion } : {}) },
      spec: { selector },
    });
    const created = await admin('POST', '/agentgroups', group('env=a'));
    await admin('PUT', '/agentgroups/audited', group('env=b', created.body.metadata.resourceVersion));
    await admin('DELETE', '/agentgroups/audited');
    const log = await admin('GET', '/audit?kind=agentgroups&name=audited');
    expect(log.body.kind).toBe('AuditEventList');
    const [deleted, replaced, made] = log.body.items;
    expect(made).toMatchObject({
      kind: 'AuditEvent',
      action: 'create',
      outcome: 'success',
      actor: { username: 'admin', role: 'admin' },
      resource: { kind: 'agentgroups', name: 'audited' },
      before: null,
      request: { method: 'POST', path: '/api/v1/agentgroups', status: 201 },
    });
    expect(made.after).toMatch(/^[0-9a-f]{64}$/);
    expect(replaced).toMatchObject({ action: 'replace', before: made.after, changes: ['selector.text'] });
    expect(deleted).toMatchObject({ action: 'delete', before: replaced.after, changes: ['deletedAt'] });
    expect(new Date(made.metadata.createdAt).getTime()).toBeLessThanOrEqual(new Date(deleted.metadata.createdAt).getTime());

    // Filters and pages.
    const page = await admin('GET', '/audit?kind=agentgroups&name=audited&limit=2');
    expect(page.body.items).toHaveLength(2);
    expect(page.body.metadata.remainingItemCount).toBe(1);
    const rest = await admin('GET', `/audit?kind=agentgroups&name=audited&limit=2&continue=${page.body.metadata.continue}`);
    expect(rest.body.items.map((e: Json) => e.action)).toEqual(['create']);
    expect((await admin('GET', '/audit?action=login&actor=otto')).body.items[0]).toMatchObject({
      action: 'login',
      resource: { kind: 'sessions', name: 'otto' },
    });
    expect((await admin('GET', '/audit?action=login&actor=(unknown user)')).body.items[0]).toMatchObject({
      outcome: 'failure',
      summary: 'password sign-in refused',
    });
    expect((await admin('GET', '/audit?action=login&actor=nobody')).body.items).toEqual([]);
    expect((await admin('GET', `/audit?kind=agentgroups&since=${new Date(Date.now() + 60_000).toISOString()}`)).body.items).toEqual([]);
    expect((await admin('GET', '/audit?since=yesterday')).status).toBe(400);

    // A user's password change shows as a change of `password`, never the hash itself.
    await admin('PATCH', '/users/otto', { spec: { password: 'otto-rotated-password-9' } });
    PASSWORDS.otto = 'otto-rotated-password-9';
    const pw = (await admin('GET', '/audit?kind=users&name=otto&action=update')).body.items[0];
    expect(pw.changes).toEqual(['password']);
    expect(JSON.stringify(await admin('GET', '/audit?limit=1000'))).not.toMatch(/scrypt|otto-rotated|ocr_|oce_/);
  });

  it('snapshots every kind an operator changes through the module that owns it (before/after and changed paths)', async () => {
    // Each owning module registers its kind; one forgotten would leave its entries without before/after.
    expect(server.app.get(AuditedKinds).names()).toEqual(['agentgroups', 'agents', 'enrollment-tokens', 'packages', 'remoteconfigs', 'rollouts', 'users']);
    const config = (body: string, resourceVersion?: string) => ({
      kind: 'RemoteConfig',
      apiVersion: 'v1',
      metadata: { name: 'audited-config', ...(resourceVersion ? { resourceVersion } : {}) },
      spec: { body, contentType: 'application/yaml' },
    });
    const created = await admin('POST', '/remoteconfigs', config('a: 1\n'));
    expect(created.status).toBe(201);
    const put = await admin('PUT', '/remoteconfigs/audited-config', config('a: 2\n', created.body.metadata.resourceVersion));
    expect([put.status, put.body.detail]).toEqual([200, undefined]);
    const [replaced, made] = (await admin('GET', '/audit?kind=remoteconfigs&name=audited-config')).body.items;
    expect(made).toMatchObject({ action: 'create', before: null, after: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(replaced).toMatchObject({ action: 'replace', before: made.after });
    expect(replaced.after).not.toBe(made.after);
    expect(replaced.changes).toEqual(expect.arrayContaining(['latest.revision']));
  });

  it('deletes audit entries older than the retention', async () => {
    const db = server.app.get<Connection>(getConnectionToken());
    const old = new Date(Date.now() - 91 * 86_400_000);
    await db.collection('audit_events').insertOne({
      _id: '000000000000aaaaaaaaaaaa' as never,
      at: old,
      actor: { username: 'ghost' },
      action: 'update',
      resource: { kind: 'agents' },
      outcome: 'success',
    });
    expect((await admin('GET', '/audit?actor=ghost')).body.items).toHaveLength(1);
    expect(await server.app.get(AuditService).deleteExpired()).toBeGreaterThanOrEqual(1);
    expect((await admin('GET', '/audit?actor=ghost')).body.items).toHaveLength(0);
  });
});

describe('login rate limiting, CORS and TLS on the API port', () => {
  it('limits login attempts per user name and per address (429 with Retry-After)', async () => {
    const server = await startTestServer({ LOGIN_RATE_LIMIT_PER_USER: '3', LOGIN_RATE_LIMIT_PER_ADDRESS: '6' });
    try {
      const anonymous = restClient(server, { token: null });
      const attempt = (username: string) => anonymous('POST', '/auth/login', { username, password: 'wrong-password-123' });
      // The test server's own login used one attempt of "admin" and one of the address.
      expect((await attempt('admin')).status).toBe(401);
      expect((await attempt('admin')).status).toBe(401);
      const limited = await attempt('admin');
      expect(limited.status).toBe(429);
      expect(limited.type).toMatch(/^application\/problem\+json/);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Even the right password waits: the bucket counts attempts.
      expect((await anonymous('POST', '/auth/login', TEST_ADMIN)).status).toBe(429);
      // Other names are limited by the address bucket (6 a minute; 5 used).
      expect((await attempt('someone')).status).toBe(401);
      expect((await attempt('someone-else')).status).toBe(429);
    } finally {
      await server.close();
    }
  });

  it('believes no X-Forwarded-For by default: rotating it does not escape the per-address limit', async () => {
    const server = await startTestServer({ LOGIN_RATE_LIMIT_PER_USER: '1000', LOGIN_RATE_LIMIT_PER_ADDRESS: '4' });
    try {
      const anonymous = restClient(server, { token: null });
      const statuses: number[] = [];
      // A client in a private network, claiming another private address on every attempt.
      for (let i = 1; i <= 6; i++) {
        const res = await anonymous('POST', '/auth/login', { username: `user${i}`, password: 'wrong-password-123' }, { 'x-forwarded-for': `10.0.${i}.${i}` });
        statuses.push(res.status);
      }
      // The test server's own login used one attempt of the address.
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    } finally {
      await server.close();
    }
  });

  it('believes X-Forwarded-For from a proxy named in TRUST_PROXY (address or hop count)', async () => {
    for (const trustProxy of ['127.0.0.1', '1']) {
      const server = await startTestServer({ TRUST_PROXY: trustProxy, LOGIN_RATE_LIMIT_PER_USER: '1000', LOGIN_RATE_LIMIT_PER_ADDRESS: '2' });
      try {
        const anonymous = restClient(server, { token: null });
        const attempt = (client: string) =>
          anonymous('POST', '/auth/login', { username: 'nobody', password: 'wrong-password-123' }, { 'x-forwarded-for': client });
        // Each client behind the proxy has a bucket of its own.
        expect([(await attempt('10.1.1.1')).status, (await attempt('10.1.1.1')).status, (await attempt('10.1.1.1')).status]).toEqual([401, 401, 429]);
        expect((await attempt('10.2.2.2')).status).toBe(401);
      } finally {
        await server.close();
      }
    }
  });

  it('answers CORS only for the configured origins', async () => {
    const server = await startTestServer({ CORS_ORIGINS: 'https://ui.example.com' });
    try {
      const preflight = (origin: string) =>
        rawRequest(`${server.baseUrl}/api/v1/agents`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
        });
      const ok = await preflight('https://ui.example.com');
      expect(ok.status).toBe(204);
      expect(ok.headers['access-control-allow-origin']).toBe('https://ui.example.com');
      expect(String(ok.headers['access-control-allow-headers'])).toContain('authorization');
      expect((await preflight('https://evil.example.com')).headers['access-control-allow-origin']).toBeUndefined();
      const get = await rawRequest(`${server.baseUrl}/api/v1/agents`, { headers: { origin: 'https://ui.example.com', ...server.authHeaders } });
      expect(get.headers['access-control-allow-origin']).toBe('https://ui.example.com');
    } finally {
      await server.close();
    }
  });
});
