import { hmacBase64url, randomSecret, safeEqual } from '../secret-compare';

/** Cookie binding an OAuth state to the browser that started the sign-in. */
export const STATE_COOKIE = 'occ_oauth_state';
const STATE_TTL_MS = 10 * 60_000;

/** A request as the store sees it: headers, and where it leaves the nonce for the cookie. */
export interface StateRequest {
  headers: Record<string, string | string[] | undefined>;
  oauthStateNonce?: string;
}

export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  for (const part of (Array.isArray(header) ? header.join(';') : (header ?? '')).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The OAuth `state` for passport-oauth2 without a server-side session: `<payload>.<HMAC>`,
 * where the payload holds a random nonce and an expiry, signed with a key derived from the
 * JWT secret. The nonce also goes into a cookie (HttpOnly, SameSite=Lax), and the callback
 * must bring back both: a state forged, altered, expired, or replayed from another browser
 * is refused.
 */
export class SignedStateStore {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** passport-oauth2 calls store(req, meta, callback) when it builds the authorization redirect. */
  store(req: StateRequest, _meta: unknown, callback: (err: Error | null, state?: string) => void): void {
    const nonce = randomSecret(16);
    const payload = Buffer.from(JSON.stringify({ n: nonce, e: this.now() + STATE_TTL_MS })).toString('base64url');
    req.oauthStateNonce = nonce;
    callback(null, `${payload}.${hmacBase64url(this.key, payload)}`);
  }

  /** passport-oauth2 calls verify(req, state, meta, callback) on the callback, before it exchanges the code. */
  verify(req: StateRequest, state: unknown, _meta: unknown, callback: (err: Error | null, ok: boolean, info?: { message: string }) => void): void {
    const problem = this.problem(state, cookieValue(req.headers.cookie, STATE_COOKIE));
    if (problem) callback(null, false, { message: problem });
    else callback(null, true);
  }

  problem(state: unknown, cookieNonce: string | undefined): string | undefined {
    if (typeof state !== 'string' || state.length > 512) return 'The OAuth state is missing.';
    const [payload, mac, extra] = state.split('.');
    if (!payload || !mac || extra !== undefined || !safeEqual(mac, hmacBase64url(this.key, payload))) return 'The OAuth state is not one this server issued.';
    let parsed: { n?: unknown; e?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return 'The OAuth state is not one this server issued.';
    }
    if (typeof parsed.e !== 'number' || parsed.e < this.now()) return 'The OAuth state has expired; start the sign-in again.';
    if (typeof parsed.n !== 'string' || !cookieNonce || !safeEqual(cookieNonce, parsed.n)) {
      return 'The OAuth state does not belong to this browser (its cookie is missing or different); start the sign-in again.';
    }
    return undefined;
  }
}
