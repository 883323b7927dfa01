import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mongoose from 'mongoose';
import { startServerProcess } from './support/process';
import { startTestServer, TestServer } from './support/test-server';

describe('foundation: the REST surface of a running server', () => {
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer();
    base = `http://127.0.0.1:${server.apiPort}`;
  });
  afterAll(() => server?.close());

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { details: { database: { status: string } } }).details.database.status).toBe('up');
  });

  it('reports its version and answers ping', async () => {
    const v = (await (await fetch(`${base}/api/v1/version`)).json()) as Record<string, string>;
    expect(v.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(v.nodeVersion).toBe(process.version);
    expect(v).toHaveProperty('commit');
    expect(v).toHaveProperty('buildDate');
    expect(await (await fetch(`${base}/api/v1/ping`)).json()).toMatchObject({ ping: 'pong' });
  });

  it('answers unknown routes and bad bodies with RFC 9457 problem+json', async () => {
    const res = await fetch(`${base}/api/v1/no-such-thing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'about:blank', title: 'Not Found', status: 404, instance: '/api/v1/no-such-thing' });

    const bad = await fetch(`${base}/api/v1/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
  });

  it('serves the OpenAPI document and its UI', async () => {
    const doc = (await (await fetch(`${base}/api/docs-json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/readyz', '/api/v1/version', '/api/v1/ping']));
    const ui = await fetch(`${base}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});

describe('foundation: npm start on a fresh machine', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occ-start-'));
  const env = { DATA_DIR: dataDir, API_PORT: '0', OPAMP_PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json' };

  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('starts an embedded database without MONGODB_URI, keeps data across a restart, and exits 0 on SIGTERM', async () => {
    const first = startServerProcess(env);
    const [, uri] = await first.waitFor(/"uri":"(mongodb:\/\/[^"]+)"/, 600_000);
    const [, port] = await first.waitFor(/OpAMP Commander is up: API http:\/\/[^:]+:(\d+)/);
    expect(first.out).toContain(path.join(dataDir, 'db'));

    // First start without ADMIN_PASSWORD / JWT_SECRET: a generated admin password, printed once
    // (outside the JSON log), and a signing key kept in DATA_DIR.
    const [, password] = await first.waitFor(/generated password:\s+(\S+)/);
    const [, keyFile] = await first.waitFor(/generated a signing key and kept it in (\S+) /);
    expect(keyFile).toBe(path.join(dataDir, 'auth', 'jwt-secret'));
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(
      first.out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .join('\n'),
    ).not.toContain(password);
    const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };

    const conn = await mongoose.createConnection(uri).asPromise();
    await conn.collection('restart_probe').insertOne({ marker: 'kept' });
    await conn.close();

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.out).toContain('Stopped');

    const second = startServerProcess(env);
    const [, uri2] = await second.waitFor(/"uri":"(mongodb:\/\/[^"]+)"/, 120_000);
    const [, port2] = await second.waitFor(/OpAMP Commander is up: API http:\/\/[^:]+:(\d+)/);
    // The password is not printed again, and the kept signing key makes tokens survive the restart.
    await second.waitFor(/signing tokens with the key kept in /);
    expect(second.out).not.toContain('generated password');
    const me = await fetch(`http://127.0.0.1:${port2}/api/v1/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ metadata: { name: 'admin' }, spec: { role: 'admin' } });
    const conn2 = await mongoose.createConnection(uri2).asPromise();
    expect(await conn2.collection('restart_probe').findOne({ marker: 'kept' })).not.toBeNull();
    await conn2.close();
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    // The embedded database stopped with the server: its port no longer answers.
    const after = mongoose.createConnection(uri2, { serverSelectionTimeoutMS: 1500 });
    await expect(after.asPromise()).rejects.toThrow();
    await after.close().catch(() => undefined);
  }, 900_000);

  it('stops at once with one clear line on bad configuration', async () => {
    const p = startServerProcess({ ...env, API_PORT: 'eighty' });
    expect(await p.exited).toBe(2);
    expect(
      p.out
        .trim()
        .split('\n')
        .filter((l) => l.includes('Invalid configuration')),
    ).toEqual(['Invalid configuration: API_PORT must be a port number between 0 and 65535, got "eighty"']);
  }, 300_000);

  it.each([
    [
      { JWT_SECRET: 'too-short-secret' },
      'Invalid configuration: JWT_SECRET must be a string of at least 32 characters, got 16 (value hidden)',
      'too-short-secret',
    ],
    [
      { ADMIN_PASSWORD: 'changeme' },
      'Invalid configuration: ADMIN_PASSWORD must be at least 12 characters (value hidden); unset it to have a random one generated',
      'changeme',
    ],
    [
      { ADMIN_PASSWORD: 'password123' },
      'Invalid configuration: ADMIN_PASSWORD must be at least 12 characters (value hidden); unset it to have a random one generated',
      'password123',
    ],
    [
      { ADMIN_PASSWORD: 'changemeplease' },
      'Invalid configuration: ADMIN_PASSWORD is a well-known or trivial password (value hidden); unset it to have a random one generated',
      'changemeplease',
    ],
  ])(
    'refuses a weak secret %j with one line that does not show it',
    async (bad, line, secret) => {
      const p = startServerProcess({ ...env, ...bad });
      expect(await p.exited).toBe(2);
      expect(
        p.out
          .trim()
          .split('\n')
          .filter((l) => l.includes('Invalid configuration')),
      ).toEqual([line]);
      expect(p.out).not.toContain(secret);
    },
    300_000,
  );
});
