import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, credentialsFrom } from './api-client';
import type { Credentials } from './cli-config';
import { ApiError, CliError } from './cli-errors';

/**
 * The client against a small HTTP server on loopback that behaves like the API's auth: tokens
 * that expire, a refresh endpoint that rotates them, problem+json errors, paged lists.
 */
describe('REST client', () => {
  let server: http.Server;
  let base: string;
  let valid = 'access-2';
  const seen: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
        const send = (status: number, doc: unknown, type = 'application/json') => {
          res.writeHead(status, { 'content-type': type });
          res.end(typeof doc === 'string' ? doc : JSON.stringify(doc));
        };
        if (req.url === '/api/v1/auth/refresh') {
          const { refreshToken } = JSON.parse(body) as { refreshToken: string };
          if (refreshToken !== 'refresh-1')
            return send(401, { title: 'Unauthorized', status: 401, detail: 'refresh token already used' }, 'application/problem+json');
          valid = 'access-3';
          return send(200, { accessToken: 'access-3', refreshToken: 'refresh-2', expiresAt: '2099-01-01T00:00:00.000Z' });
        }
        if (req.headers.authorization !== `Bearer ${valid}`)
          return send(401, { title: 'Unauthorized', status: 401, detail: 'token expired' }, 'application/problem+json');
        if (req.url?.startsWith('/api/v1/things')) {
          const page = new URL(req.url, 'http://x').searchParams.get('continue');
          return send(
            200,
            page
              ? { items: [{ metadata: { name: 'b' } }], metadata: { remainingItemCount: 0 } }
              : { items: [{ metadata: { name: 'a' } }], metadata: { continue: 'p2', remainingItemCount: 1 } },
          );
        }
        if (req.url === '/api/v1/text') return send(200, 'plain text', 'text/plain');
        return send(404, { title: 'Not Found', status: 404, detail: `${req.url} not found` }, 'application/problem+json');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('refreshes on 401 with the refresh token, retries, and hands the new tokens over to be stored', async () => {
    valid = 'access-2';
    const stored: (Credentials | undefined)[] = [];
    const client = new ApiClient({
      server: base,
      credentials: { accessToken: 'access-1', refreshToken: 'refresh-1', username: 'ada' },
      timeoutMs: 5000,
      onCredentials: (c) => stored.push(c),
    });
    const list = await client.list('/things', {}, false);
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['a']);
    expect(stored).toEqual([{ accessToken: 'access-3', refreshToken: 'refresh-2', expiresAt: '2099-01-01T00:00:00.000Z', username: 'ada' }]);
    expect(seen.slice(-3)).toEqual(['GET /api/v1/things Bearer access-1', 'POST /api/v1/auth/refresh -', 'GET /api/v1/things Bearer access-3']);
  });

  it('forgets credentials whose refresh is refused and says to log in again', async () => {
    valid = 'something-else';
    const stored: (Credentials | undefined)[] = [];
    const client = new ApiClient({
      server: base,
      credentials: { accessToken: 'old', refreshToken: 'used' },
      timeoutMs: 5000,
      onCredentials: (c) => stored.push(c),
    });
    await expect(client.get('/things')).rejects.toThrow(/session has expired; log in again/);
    expect(stored).toEqual([undefined]);
  });

  it('refreshes ahead of time when the access token is about to expire', async () => {
    valid = 'access-2';
    const client = new ApiClient({
      server: base,
      credentials: { accessToken: 'access-2', refreshToken: 'refresh-1', expiresAt: new Date(Date.now() + 1000).toISOString() },
      timeoutMs: 5000,
    });
    await client.get('/things');
    expect(seen.slice(-2)).toEqual(['POST /api/v1/auth/refresh -', 'GET /api/v1/things Bearer access-3']);
  });

  it('follows continue cursors with all, and returns text answers as text', async () => {
    valid = 'access-2';
    const client = new ApiClient({ server: base, token: 'access-2', timeoutMs: 5000 });
    expect((await client.list('/things', {}, true)).items.map((i) => i.metadata?.name)).toEqual(['a', 'b']);
    expect((await client.request<string>('GET', '/text')).body).toBe('plain text');
  });

  it('turns problem documents into ApiErrors, 404 into undefined for find, and 401 into a hint to log in', async () => {
    valid = 'access-2';
    const client = new ApiClient({ server: base, token: 'access-2', timeoutMs: 5000 });
    await expect(client.get('/nothing')).rejects.toThrow('Error from server (404 Not Found): /api/v1/nothing not found');
    expect(await client.find('/nothing')).toBeUndefined();
    const anonymous = new ApiClient({ server: base, timeoutMs: 5000 });
    const err = await anonymous.get('/things').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('Error from server (401 Unauthorized): token expired; log in with "opampctl login"');
  });

  it('reports an unreachable server as one line', async () => {
    const client = new ApiClient({ server: 'http://127.0.0.1:39', timeoutMs: 2000 });
    const err = await client.get('/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/^cannot reach the server at http:\/\/127.0.0.1:39: /);
  });

  it('reads token answers in either spelling and expiry form', () => {
    expect(credentialsFrom({ accessToken: 'a', refreshToken: 'r', expiresAt: '2030-01-01T00:00:00Z' })).toEqual({
      accessToken: 'a',
      refreshToken: 'r',
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    expect(credentialsFrom({ access_token: 'a', expires_at: 1893456000 }).expiresAt).toBe('2030-01-01T00:00:00.000Z');
    expect(credentialsFrom({ accessToken: 'b' }, { accessToken: 'a', refreshToken: 'r' })).toEqual({
      accessToken: 'b',
      refreshToken: 'r',
      expiresAt: undefined,
    });
  });
});
