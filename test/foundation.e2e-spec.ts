import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mongoose from 'mongoose';
import { RunningServer } from '../src/server';
import { startServerProcess } from './support/process';
import { startTestServer } from './support/test-server';

describe('foundation: the REST surface of a running server', () => {
  let server: RunningServer;
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
    await first.waitFor(/OpAMP Commander is up/);
    expect(first.out).toContain(path.join(dataDir, 'db'));

    const conn = await mongoose.createConnection(uri).asPromise();
    await conn.collection('restart_probe').insertOne({ marker: 'kept' });
    await conn.close();

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.out).toContain('Stopped');

    const second = startServerProcess(env);
    const [, uri2] = await second.waitFor(/"uri":"(mongodb:\/\/[^"]+)"/, 120_000);
    await second.waitFor(/OpAMP Commander is up/);
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
    expect(p.out.trim().split('\n').filter((l) => l.includes('Invalid configuration'))).toEqual([
      'Invalid configuration: API_PORT must be a port number between 0 and 65535, got "eighty"',
    ]);
  }, 300_000);
});
