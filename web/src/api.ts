/**
 * The one way the UI talks to the server: the public REST API under /api/v1. The access token
 * lives in this module's memory only; the refresh token is an HttpOnly cookie the browser
 * sends to /api/v1/auth/session/refresh, which page scripts never see.
 */

/** An RFC 9457 problem document as the API sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  /** Where a config body's syntax error is (remote configs). */
  line?: number;
  column?: number;
}

export class ApiError extends Error {
  constructor(
    readonly problem: Problem,
    /** The answer's Retry-After, in seconds (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface BrowserSession {
  accessToken: string;
  expiresAt: string;
}

/** Sent on every cookie-authenticated request (the server refuses them without it: CSRF). */
const CSRF = { 'x-requested-with': 'opamp-commander-web' };

let accessToken: string | undefined;
let refreshing: Promise<boolean> | undefined;
let onSignedOut: (() => void) | undefined;

export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

async function problemOf(res: Response): Promise<Problem> {
  try {
    const body = (await res.json()) as Problem;
    return { ...body, status: body.status ?? res.status };
  } catch {
    return { status: res.status, title: res.statusText };
  }
}

async function sessionCall(path: string, init: RequestInit): Promise<BrowserSession> {
  const res = await fetch(`/api/v1/auth/session${path}`, { ...init, credentials: 'same-origin', headers: { ...CSRF, ...(init.headers ?? {}) } });
  if (!res.ok) throw new ApiError(await problemOf(res), Number(res.headers.get('retry-after')) || undefined);
  const session = (await res.json()) as BrowserSession;
  accessToken = session.accessToken;
  return session;
}

export function signIn(username: string, password: string): Promise<BrowserSession> {
  return sessionCall('', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
}

/** Tries of a refresh that meets a busy or unreachable server before the page counts as signed out. */
const REFRESH_TRIES = 4;

/** A new access token from the session cookie; false when there is no (longer a) session. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= refreshOrWait().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/**
 * Only a refused token (401) ends the session at once. A 429 or 503 (Retry-After) or a server
 * that cannot be reached (a restart, a rolling update) is waited out and tried again: signing
 * the user out for the server's trouble would be a misleading answer.
 */
async function refreshOrWait(): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sessionCall('/refresh', { method: 'POST' });
      return true;
    } catch (err) {
      const busy = err instanceof ApiError ? err.status === 429 || err.status === 503 : err instanceof TypeError;
      if (!busy || attempt >= REFRESH_TRIES) {
        accessToken = undefined;
        return false;
      }
      const seconds = Math.min((err instanceof ApiError ? err.retryAfterSeconds : undefined) ?? attempt, 30);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }
}

export async function signOut(): Promise<void> {
  try {
    if (accessToken)
      await fetch('/api/v1/auth/session', { method: 'DELETE', credentials: 'same-origin', headers: { authorization: `Bearer ${accessToken}`, ...CSRF } });
  } finally {
    accessToken = undefined;
  }
}

type Query = Record<string, string | number | boolean | undefined>;

/** A call of the REST API with the access token; an expired one is refreshed once and the call retried. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; query?: Query } = {}): Promise<T> {
  const res = await call(path, init);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/**
 * Uploads bytes (a package file) as application/octet-stream with PUT; the answer is JSON. The
 * server streams the body into storage and refuses it (413, 400) with a problem document.
 */
export async function apiUpload<T>(path: string, body: Blob, query: Query = {}): Promise<T> {
  return (await (await call(path, { method: 'PUT', query, bytes: body })).json()) as T;
}

/** The same for an answer that is text (a diff). */
export async function apiText(path: string, query: Query = {}): Promise<string> {
  return (await call(path, { query, accept: 'text/plain' })).text();
}

async function call(path: string, init: { method?: string; body?: unknown; bytes?: Blob; query?: Query; accept?: string }): Promise<Response> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
  const url = `/api/v1${path}${qs.size ? `?${qs}` : ''}`;
  const send = () =>
    fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: init.accept ?? 'application/json',
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.bytes !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
      },
      body: init.bytes ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
    });
  let res = await send();
  if (res.status === 401) {
    if (await refreshSession()) res = await send();
    else onSignedOut?.();
  }
  if (!res.ok) throw new ApiError(await problemOf(res));
  return res;
}

/** A page of a list endpoint. */
export interface ResourceList<T> {
  kind: string;
  metadata: { continue?: string; remainingItemCount: number };
  items: T[];
}

/** The number of items a list query matches, from one item and the exact remaining count. */
export async function countOf(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<number> {
  const page = await api<ResourceList<unknown>>(path, { query: { ...query, limit: 1 } });
  return page.items.length + page.metadata.remainingItemCount;
}

/**
 * Opens a Server-Sent Events stream of the API with the access token. fetch, not EventSource:
 * EventSource cannot send the Authorization header, and the access token is never put in a URL
 * or a cookie. An expired token is refreshed once, as for any call.
 */
export async function openStream(path: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
  const send = () =>
    fetch(`/api/v1${path}`, {
      headers: {
        accept: 'text/event-stream',
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
        ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
      },
      signal,
    });
  let res = await send();
  if (res.status === 401) {
    if (await refreshSession()) res = await send();
    else onSignedOut?.();
  }
  if (!res.ok) throw new ApiError(await problemOf(res));
  return res;
}

/** The ways of signing in the server offers (public: asked before anyone is signed in). */
export async function signInProviders(): Promise<{ password: boolean; github: boolean }> {
  const res = await fetch('/api/v1/auth/session/providers', { credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(await problemOf(res));
  return (await res.json()) as { password: boolean; github: boolean };
}
