import type { FastifyRequest } from 'fastify';

/**
 * The web UI's refresh token lives in this cookie, out of reach of page scripts (HttpOnly),
 * never sent cross-site (SameSite=Strict) and only to the session routes (Path).
 */
export const REFRESH_COOKIE = 'opamp_commander_refresh';
export const REFRESH_COOKIE_PATH = '/api/v1/auth/session';

/**
 * Cookie-authenticated requests must carry this header. A cross-site form or image cannot set
 * a custom header, and a cross-origin script cannot without a CORS preflight that the API's
 * CORS settings never allow for it: together with SameSite=Strict this stops CSRF.
 */
export const CSRF_HEADER = 'x-requested-with';

/** The Set-Cookie value that stores a refresh token (or clears it with maxAgeSeconds 0). */
export function refreshCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${REFRESH_COOKIE}=${value}; Path=${REFRESH_COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The refresh token of the request's cookie header, if there is one. */
export function refreshTokenOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === REFRESH_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value || undefined;
    }
  }
  return undefined;
}

/** True when the request came over TLS (directly, or through a trusted proxy that says so). */
export function isSecureRequest(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}
