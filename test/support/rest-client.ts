import * as http from 'node:http';
import * as https from 'node:https';

/** A small JSON client for the REST API in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed JSON
export type Json = any;

export interface ApiAnswer {
  status: number;
  type: string;
  headers: http.IncomingHttpHeaders;
  body: Json;
}

/**
 * One HTTP(S) request with node:http, so that a test CA can be trusted (`ca`) and any header
 * sent as is. JSON bodies are encoded and answers decoded when they are JSON.
 */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: unknown; rawBody?: string; ca?: Buffer | string } = {},
): Promise<ApiAnswer> {
  const u = new URL(url);
  const payload = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = {
    ...(payload !== undefined && opts.rawBody === undefined ? { 'content-type': 'application/json' } : {}),
    ...opts.headers,
  };
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method: opts.method ?? 'GET', headers, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const type = String(res.headers['content-type'] ?? '');
        let body: Json = text;
        if (type.includes('json') && text) body = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, type, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A JSON client for `/api/v1` of a test server, sending its admin token (or `token`, or none
 * with `token: null`).
 */
export function restClient(server: { apiPort: number; token?: string; baseUrl?: string }, opts: { token?: string | null; ca?: Buffer | string } = {}) {
  const base = `${server.baseUrl ?? `http://127.0.0.1:${server.apiPort}`}/api/v1`;
  const token = opts.token === undefined ? server.token : opts.token;
  return async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    return rawRequest(`${base}${path}`, { method, body, ca: opts.ca, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  };
}
