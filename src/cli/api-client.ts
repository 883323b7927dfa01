import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { ApiError, CliError, describeFetchFailure, NetworkError, oneLine, Problem } from './cli-errors';
import type { Credentials } from './cli-config';
import { isObject, Resource, ResourceList } from './resource-fields';

/**
 * The REST client of opampctl: Node's fetch against `<server>/api/v1`, a bearer token when there
 * is one, a refresh with the refresh token on 401 (persisted through `onCredentials`), and every
 * error answer turned into an ApiError carrying its problem document.
 */

export interface ClientOptions {
  server: string;
  credentials?: Credentials;
  /** A token given by OPAMPCTL_TOKEN: used as is, never refreshed or stored. */
  token?: string;
  timeoutMs: number;
  /** Called when a refresh replaced the credentials (or with undefined when they are no longer valid). */
  onCredentials?: (c: Credentials | undefined) => void;
  /** Prints each request (`-v`). */
  trace?: (line: string) => void;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Send without credentials (login, refresh). */
  anonymous?: boolean;
  /** Send this file's bytes as the body (application/octet-stream), streamed from disk, with no time limit. */
  uploadFile?: { path: string; size: number };
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** Access tokens this close to their expiry are refreshed before use. */
const REFRESH_MARGIN_MS = 30_000;

export class ApiClient {
  credentials: Credentials | undefined;

  constructor(private readonly opts: ClientOptions) {
    this.credentials = opts.credentials;
  }

  get server(): string {
    return this.opts.server;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(`${this.opts.server}/api/v1${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u.toString();
  }

  private bearer(): string | undefined {
    return this.opts.token ?? this.credentials?.accessToken;
  }

  private async send(method: string, path: string, o: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json, text/plain' };
    const token = o.anonymous ? undefined : this.bearer();
    if (token) headers.authorization = `Bearer ${token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const url = this.url(path, o.query);
    this.opts.trace?.(`${method} ${url}`);
    try {
      const res = o.uploadFile
        ? await fetch(url, {
            method,
            headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(o.uploadFile.size) },
            // Opened anew on each send (a refresh after 401 sends again); fetch reads it as it goes out.
            body: Readable.toWeb(fs.createReadStream(o.uploadFile.path)) as ReadableStream<Uint8Array>,
            duplex: 'half',
          } as RequestInit)
        : await fetch(url, {
            method,
            headers,
            body: o.body === undefined ? undefined : JSON.stringify(o.body),
            signal: AbortSignal.timeout(this.opts.timeoutMs),
          });
      this.opts.trace?.(`${res.status} ${res.statusText}`);
      return res;
    } catch (err) {
      throw new NetworkError(describeFetchFailure(err, this.opts.server));
    }
  }

  /** Sends a request; error statuses throw ApiError. JSON answers are parsed, others returned as text. */
  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse<T>> {
    if (!o.anonymous && !this.opts.token && this.canRefresh() && this.expiresSoon()) await this.refresh();
    let res = await this.send(method, path, o);
    if (res.status === 401 && !o.anonymous && !this.opts.token && this.canRefresh()) {
      await res.arrayBuffer().catch(() => undefined);
      await this.refresh();
      res = await this.send(method, path, o);
    }
    const body = await readBody(res);
    if (!res.ok) {
      const problem: Problem = isObject(body) ? (body as Problem) : { detail: typeof body === 'string' ? oneLine(body, 200) : '' };
      const err = new ApiError(res.status, problem, res.statusText);
      if (res.status === 401 && !o.anonymous) {
        throw new ApiError(res.status, { ...problem, detail: `${problem.detail ?? 'not authenticated'}; log in with "opampctl login"` }, res.statusText);
      }
      throw err;
    }
    return { status: res.status, body: body as T };
  }

  get<T = Resource>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query }).then((r) => r.body);
  }

  /** GET that answers undefined for 404 instead of throwing. */
  async find<T = Resource>(path: string, query?: RequestOptions['query']): Promise<T | undefined> {
    try {
      return await this.get<T>(path, query);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * A list, one page or (with `all`) every page by following `metadata.continue`. Returns the
   * items and what the last page said remains.
   */
  async list(path: string, query: RequestOptions['query'], all: boolean): Promise<ResourceList> {
    const items: Resource[] = [];
    let cont: string | undefined = typeof query?.continue === 'string' ? query.continue : undefined;
    for (;;) {
      const page = await this.get<ResourceList>(path, { ...query, continue: cont });
      if (!page || !Array.isArray(page.items)) throw new CliError(`unexpected answer from ${path}: not a list`);
      items.push(...page.items);
      cont = page.metadata?.continue;
      if (!all || !cont) return { kind: page.kind, apiVersion: page.apiVersion, metadata: all ? {} : page.metadata, items };
    }
  }

  /**
   * Opens a Server-Sent Events stream (GET, no timeout: it stays open); error statuses throw
   * ApiError like any request. `signal` ends it.
   */
  async openStream(path: string, query: RequestOptions['query'], lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    if (!this.opts.token && this.canRefresh() && this.expiresSoon()) await this.refresh();
    const open = async () => {
      const headers: Record<string, string> = { accept: 'text/event-stream, application/problem+json' };
      const token = this.bearer();
      if (token) headers.authorization = `Bearer ${token}`;
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const url = this.url(path, query);
      this.opts.trace?.(`GET ${url} (stream)`);
      try {
        return await fetch(url, { headers, signal });
      } catch (err) {
        throw new NetworkError(describeFetchFailure(err, this.opts.server));
      }
    };
    let res = await open();
    if (res.status === 401 && !this.opts.token && this.canRefresh()) {
      await res.arrayBuffer().catch(() => undefined);
      await this.refresh();
      res = await open();
    }
    if (!res.ok) {
      const body = await readBody(res);
      const problem: Problem = isObject(body) ? (body as Problem) : { detail: typeof body === 'string' ? oneLine(body, 200) : '' };
      throw Object.assign(new ApiError(res.status, problem, res.statusText), { retryAfter: Number(res.headers.get('retry-after')) || undefined });
    }
    return res;
  }

  private canRefresh(): boolean {
    return Boolean(this.credentials?.refreshToken);
  }

  private expiresSoon(): boolean {
    const at = this.credentials?.expiresAt ? Date.parse(this.credentials.expiresAt) : NaN;
    return Number.isFinite(at) && at - Date.now() < REFRESH_MARGIN_MS;
  }

  /** Trades the refresh token for new tokens and stores them. */
  private async refresh(): Promise<void> {
    const old = this.credentials!;
    let res: Response;
    try {
      res = await this.send('POST', '/auth/refresh', { body: { refreshToken: old.refreshToken }, anonymous: true });
    } catch (err) {
      throw err instanceof CliError ? err : new CliError(String(err));
    }
    const body = await readBody(res);
    if (!res.ok || !isObject(body) || typeof (body.accessToken ?? body.access_token) !== 'string') {
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        this.credentials = undefined;
        this.opts.onCredentials?.(undefined);
        throw new CliError('your session has expired; log in again with "opampctl login"');
      }
      throw isObject(body) ? new ApiError(res.status, body as Problem, res.statusText) : new CliError(`refreshing the access token failed (${res.status})`);
    }
    this.credentials = credentialsFrom(body, old);
    this.opts.onCredentials?.(this.credentials);
  }
}

/** Credentials from a login or refresh answer `{accessToken, refreshToken, expiresAt}`; expiresAt may be ISO text or epoch seconds/ms. */
export function credentialsFrom(body: Record<string, unknown>, base: Credentials = {}): Credentials {
  const exp = body.expiresAt ?? body.expires_at;
  let expiresAt: string | undefined;
  if (typeof exp === 'string' && Number.isFinite(Date.parse(exp))) expiresAt = new Date(Date.parse(exp)).toISOString();
  else if (typeof exp === 'number') expiresAt = new Date(exp < 1e12 ? exp * 1000 : exp).toISOString();
  else if (typeof body.expiresIn === 'number') expiresAt = new Date(Date.now() + body.expiresIn * 1000).toISOString();
  const access = body.accessToken ?? body.access_token;
  const refresh = body.refreshToken ?? body.refresh_token;
  return {
    ...base,
    accessToken: typeof access === 'string' ? access : base.accessToken,
    refreshToken: typeof refresh === 'string' ? refresh : base.refreshToken,
    expiresAt,
  };
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
