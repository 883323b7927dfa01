import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { InvalidError, NotFoundError } from '../../common/domain-errors';
import { randomSecret, safeEqual, sha256Hex } from '../secret-compare';
import { EnrollmentToken } from './enrollment-token.schema';

/** Enrollment tokens: `oce_<16 hex id>.<43 base64url secret>`. */
const TOKEN = /^oce_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;
/** How long a positive check is remembered (a revocation on another replica takes at most this long). */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;
const TOUCH_MS = 60_000;

export type TokenCheck = { ok: true; id: string; labels: Record<string, string> } | { ok: false; message: string };

/** Creates, lists and revokes enrollment tokens, and checks the ones agents present. */
@Injectable()
export class EnrollmentTokensService {
  private readonly cache = new Map<string, { result: TokenCheck & { ok: true }; until: number; expiresAt: number }>();
  private readonly touched = new Map<string, number>();

  constructor(@InjectModel(EnrollmentToken.name) private readonly tokens: Model<EnrollmentToken>) {}

  /** A new token; the secret is in `token`, and nowhere else ever again. */
  async create(input: { description?: string; labels?: Record<string, string>; expiresAt?: Date }, createdBy: string): Promise<{ doc: EnrollmentToken; token: string }> {
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
    await this.tokens.create(doc);
    return { doc, token: `oce_${id}.${secret}` };
  }

  async get(id: string): Promise<EnrollmentToken> {
    const doc = /^[0-9a-f]{16}$/.test(id) ? await this.tokens.findById(id).lean<EnrollmentToken>() : null;
    if (!doc) throw new NotFoundError(`enrollment token ${id} not found`);
    return doc;
  }

  async list(limit: number, after?: string): Promise<{ items: EnrollmentToken[]; remaining: number }> {
    const filter = after ? { _id: { $gt: after } } : {};
    const items = await this.tokens.find(filter).sort({ _id: 1 }).limit(limit).lean<EnrollmentToken[]>();
    const remaining = items.length < limit ? 0 : await this.tokens.countDocuments({ _id: { $gt: items[items.length - 1]._id } });
    return { items, remaining };
  }

  /** Revokes a token: agents already connected stay, new connections with it are refused. */
  async revoke(id: string): Promise<EnrollmentToken> {
    const doc = await this.get(id);
    if (!doc.revokedAt) await this.tokens.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: new Date() } });
    for (const [key, entry] of this.cache) if (entry.result.id === id) this.cache.delete(key);
    return this.get(id);
  }

  /** Checks a presented token (constant-time comparison of the secret's hash). */
  async check(token: string): Promise<TokenCheck> {
    const m = TOKEN.exec(token);
    if (!m) return { ok: false, message: 'The credential is not an enrollment token.' };
    const [, id, secret] = m;
    const hash = sha256Hex(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now && cached.expiresAt > now) return cached.result;
    const doc = await this.tokens.findById(id).lean<EnrollmentToken>();
    if (!doc || !safeEqual(hash, doc.secretHash)) return { ok: false, message: 'The enrollment token is not valid.' };
    if (doc.revokedAt) return { ok: false, message: 'The enrollment token has been revoked.' };
    if (doc.expiresAt && doc.expiresAt.getTime() <= now) return { ok: false, message: 'The enrollment token has expired.' };
    const result = { ok: true as const, id, labels: doc.labels ?? {} };
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { result, until: now + CACHE_MS, expiresAt: doc.expiresAt?.getTime() ?? Infinity });
    this.touch(id, now);
    return result;
  }

  private touch(id: string, now: number): void {
    if ((this.touched.get(id) ?? 0) > now - TOUCH_MS) return;
    this.touched.set(id, now);
    void this.tokens.updateOne({ _id: id }, { $set: { lastUsedAt: new Date(now) } }).catch(() => undefined);
  }
}
