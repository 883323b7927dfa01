import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Fastify, { FastifyInstance } from 'fastify';
import { pageCsp, serveWebUi } from './web-ui';

describe('serving the web UI', () => {
  let root: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'web-ui-'));
    fs.mkdirSync(path.join(root, 'assets'));
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>ui</title><script type="module" src="/assets/app-1.js"></script>');
    fs.writeFileSync(path.join(root, 'assets', 'app-1.js'), 'console.log(1)');
    fs.writeFileSync(path.join(os.tmpdir(), 'outside-web-ui.txt'), 'secret');
    app = Fastify();
    await serveWebUi(app, root);
    app.get('/api/v1/ping', async () => ({ ping: 'pong' }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('answers / and client routes with index.html under the page CSP, never cached, with a fresh style nonce each time', async () => {
    const nonces = new Set<string>();
    for (const url of ['/', '/agents', '/agents/0190a0c2-7f5e-7c4b-9a51-3b8f5d2e1a90?x=1', '/groups/new']) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<title>ui</title>');
      const nonce = /<meta name="csp-style-nonce" content="([A-Za-z0-9+/=]{24})">/.exec(res.body)?.[1];
      expect(nonce).toBeDefined();
      nonces.add(nonce!);
      expect(res.headers['content-security-policy']).toBe(pageCsp(nonce));
      expect(res.headers['content-security-policy']).toContain(`style-src 'self' 'nonce-${nonce}'`);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
    expect(nonces.size).toBe(4);
  });

  it('has a CSP without inline scripts (no script nonce either) that forbids framing', () => {
    const csp = pageCsp('abc');
    expect(csp).toContain("script-src 'self';");
    // Inline allowed only for style attributes (they cannot run script); never for scripts or <style> elements.
    expect(csp.split('; ').filter((d) => d.includes('unsafe-inline'))).toEqual(["style-src-attr 'unsafe-inline'"]);
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(pageCsp()).toContain("style-src 'self';");
  });

  it('serves hashed assets cached for good', async () => {
    const res = await app.inject({ url: '/assets/app-1.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toMatch(/immutable/);
  });

  it('leaves API paths, missing files and paths outside its folder to the not-found handler', async () => {
    expect((await app.inject({ url: '/api/v1/ping' })).json()).toEqual({ ping: 'pong' });
    for (const url of ['/api/v1/no-such-thing', '/api/docs-nope', '/healthz/x', '/assets/missing.js', '/../outside-web-ui.txt', '/%2e%2e/outside-web-ui.txt']) {
      const res = await app.inject({ url });
      expect([url, res.statusCode]).toEqual([url, 404]);
      expect(res.body).not.toContain('secret');
    }
  });

  it('says how to build it when it is not built', async () => {
    const bare = Fastify();
    await serveWebUi(bare, path.join(root, 'nothing-here'));
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('npm run build');
    await bare.close();
  });
});
