import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '../../common/database-errors';
import { InvalidError, NotFoundError } from '../../common/domain-errors';
import { FreshCache } from '../../common/fresh-cache';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { randomSecret, safeEqual, sha256Hex } from '../secret-compare';
import { EnrollmentToken } from './enrollment-token.schema';
import { EnrollmentTokensRepository } from './enrollment-tokens.repository';
import { ChangeFeed } from '../../cluster/change-feed';

/** Enrollment tokens: `oce_<16 hex id>.<43 base64url secret>`. */
const TOKEN = /^oce_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;
/** How long a positive check is used without asking the database (a revocation on another replica takes at most this long). */
const FRESH_MS = 10_000;
const CACHE_MAX = 10_000;
const TOUCH_MS = 60_000;

export type TokenCheck = { ok: true; id: string; labels: Record<string, string> } | { ok: false; message: string };

/** Creates, lists and revokes enrollment tokens, and checks the ones agents present. */
@Injectable()
export class EnrollmentTokensService {
  private readonly logger = new Logger('EnrollmentTokens');
  /**
   * Recently verified tokens, by secret hash: used without a lookup for FRESH_MS, and while the
   * database is unreachable for AGENT_TOKEN_CACHE_SECONDS after the last successful check.
   */
  private readonly cache = new FreshCache<string, { result: TokenCheck & { ok: true }; expiresAt: number }>(FRESH_MS, CACHE_MAX);
  private readonly touched = new Map<string, number>();
  /** lastUsedAt writes in flight, by token id (a revocation waits for them, see revoke()). */
  private readonly touching = new Map<string, Promise<unknown>>();
  private readonly outageGraceMs: number;

  constructor(
    private readonly tokens: EnrollmentTokensRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly feed: ChangeFeed,
  ) {
    this.outageGraceMs = config.auth.agentTokenCacheSeconds * 1000;
  }

  /** A new token; the secret is in `token`, and nowhere else ever again. */
  async create(
    input: { description?: string; labels?: Record<string, string>; expiresAt?: Date },
    createdBy: string,
  ): Promise<{ doc: EnrollmentToken; token: string }> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new InvalidError('spec.expiresAt must be in the future', { errors: [{ field: 'spec.expiresAt', message: 'must be in the future' }] });
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomSecret();
    const doc: EnrollmentToken = {
      _id: id,
      description: input.description ?? '',
      secretHash: sha256Hex(secret),
      labels: input.labels ?? {},
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      createdBy,
      createdAt: new Date(),
      lastUsedAt: null,
    };
    await this.tokens.insert(doc);
    this.feed.resourceChanged('enrollment-tokens', 'ADDED', id);
    return { doc, token: `oce_${id}.${secret}` };
  }

  async get(id: string): Promise<EnrollmentToken> {
    const doc = /^[0-9a-f]{16}$/.test(id) ? await this.tokens.findById(id) : undefined;
    if (!doc) throw new NotFoundError(`enrollment token ${id} not found`);
    return doc;
  }

  async list(limit: number, after?: string): Promise<{ items: EnrollmentToken[]; remaining: number }> {
    return this.tokens.page(limit, after);
  }

  /** Revokes a token: agents already connected stay, new connections with it are refused. */
  async revoke(id: string): Promise<EnrollmentToken> {
    this.cache.forgetWhere((entry) => entry.result.id === id);
    // FerretDB rewrites a whole document per update, so a lastUsedAt write racing this one can
    // put revokedAt back to null: wait for ours, then make sure the revocation stuck.
    await this.touching.get(id);
    for (let attempt = 0; attempt < 3; attempt++) {
      const doc = await this.get(id);
      if (doc.revokedAt) break;
      await this.tokens.revoke(id, new Date());
    }
    this.feed.resourceChanged('enrollment-tokens', 'MODIFIED', id);
    return this.get(id);
  }

  /**
   * Checks a presented token (constant-time comparison of the secret's hash). Throws the
   * database's error when it cannot be reached and the token was not verified recently.
   */
  async check(token: string): Promise<TokenCheck> {
    const m = TOKEN.exec(token);
    if (!m) return { ok: false, message: 'The credential is not an enrollment token.' };
    const [, id, secret] = m;
    const hash = sha256Hex(secret);
    const now = Date.now();
    const cached = this.cache.entry(hash);
    const usable = cached && cached.value.expiresAt > now ? { result: cached.value.result, verifiedAt: cached.verifiedAt } : undefined;
    if (usable && usable.verifiedAt > now - FRESH_MS) return usable.result;
    let doc: EnrollmentToken | undefined;
    try {
      doc = await this.tokens.findById(id);
    } catch (err) {
      if (usable && isDatabaseUnavailable(err) && usable.verifiedAt > Date.now() - this.outageGraceMs) {
        this.logger.warn(
          `database unreachable; admitting an agent with enrollment token ${id}, verified ${Math.round((now - usable.verifiedAt) / 1000)} s ago`,
        );
        return usable.result;
      }
      throw err;
    }
    const refused = (message: string): TokenCheck => {
      this.cache.forget(hash);
      return { ok: false, message };
    };
    if (!doc || !safeEqual(hash, doc.secretHash)) return refused('The enrollment token is not valid.');
    if (doc.revokedAt) return refused('The enrollment token has been revoked.');
    if (doc.expiresAt && doc.expiresAt.getTime() <= now) return refused('The enrollment token has expired.');
    const result = { ok: true as const, id, labels: doc.labels ?? {} };
    this.cache.set(hash, { result, expiresAt: doc.expiresAt?.getTime() ?? Infinity }, now);
    this.touch(id, now);
    return result;
  }

  private touch(id: string, now: number): void {
    if ((this.touched.get(id) ?? 0) > now - TOUCH_MS) return;
    this.touched.set(id, now);
    const write = this.tokens
      .touch(id, new Date(now))
      .catch(() => undefined)
      .finally(() => this.touching.delete(id));
    this.touching.set(id, write);
  }
}
