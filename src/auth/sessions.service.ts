import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { UnauthorizedError } from '../common/domain-errors';
import { FreshCache } from '../common/fresh-cache';
import { KeyedMutex } from '../common/keyed-mutex';
import { FleetJobs } from '../cluster/fleet-jobs.service';
import { AuditService } from '../audit/audit.service';
import { randomSecret, safeEqual, sha256Hex } from './secret-compare';
import { AuthSession } from './session.schema';
import { SessionsRepository } from './sessions.repository';
import { AuthenticatedUser, User } from './user.schema';
import { UsersRepository } from './users.repository';

/** What login, refresh and the OAuth flows answer. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ISO 8601). */
  expiresAt: string;
}

/** Claims of an access token besides the registered ones (iss, aud, iat, exp, jti). */
export interface AccessClaims {
  sub: string;
  sid: string;
  role: string;
  typ: 'access';
}

export const JWT_ISSUER = 'opamp-commander';
export const JWT_AUDIENCE = 'opamp-commander-api';

/** Refresh tokens: `ocr_<session id>.<secret>`. */
const REFRESH_TOKEN = /^ocr_([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;
/** Replaced refresh tokens remembered per session to recognise a replay. */
const KEEP_PREVIOUS = 50;
const DAY_MS = 86_400_000;
/**
 * How long a verified sign-in (live session, enabled user, their role) is used without asking the
 * database again. A revocation, a disabled or deleted user or a new role made on this replica
 * applies at once; made on another replica, within this time.
 */
export const SIGN_IN_FRESH_MS = 10_000;
const SIGN_IN_CACHE_MAX = 10_000;

/**
 * Sign-in sessions: each is a refresh token family. A refresh rotates the token; presenting a
 * replaced one again means it was copied, so the whole family (and every access token of it)
 * is revoked. Only the token of the last refresh, within REFRESH_TOKEN_REUSE_GRACE_SECONDS of
 * it, is exchanged once more: its holder lost the answer.
 */
@Injectable()
export class SessionsService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Sessions');
  private readonly rotations = new KeyedMutex();
  /** Verified sign-ins by session id; the session's end bounds each entry too. */
  private readonly signIns = new FreshCache<string, AuthenticatedUser & { sessionExpiresAt: number }>(SIGN_IN_FRESH_MS, SIGN_IN_CACHE_MAX);

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly users: UsersRepository,
    private readonly jwt: JwtService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: FleetJobs,
  ) {}

  onApplicationBootstrap(): void {
    // Fleet-wide: one replica at a time.
    this.jobs.schedule('session-retention', 3_600_000, () => this.deleteExpired());
  }

  /** Starts a session for a user who just proved who they are. */
  async start(user: Pick<User, '_id' | 'role'>, method: string, address: string): Promise<TokenPair> {
    const id = randomBytes(16).toString('hex');
    const secret = randomSecret();
    const now = new Date();
    await this.sessions.insert({
      _id: id,
      username: user._id,
      method,
      refreshHash: sha256Hex(secret),
      previousHashes: [],
      createdAt: now,
      refreshedAt: now,
      expiresAt: new Date(now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000),
      revokedAt: null,
      address,
    });
    return this.issue(id, user, secret);
  }

  /** Rotates a refresh token: the old one stops working, a replayed old one revokes the family. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const m = REFRESH_TOKEN.exec(refreshToken);
    if (!m) throw new UnauthorizedError('The refresh token is malformed.');
    const [, id, secret] = m;
    return this.rotations.run(id, async () => {
      const session = await this.sessions.findById(id);
      const hash = sha256Hex(secret);
      if (!session) throw new UnauthorizedError('The refresh token is not valid.');
      // The token replaced last, shortly ago: its holder never got the answer with the next one.
      const lostAnswer = !!session.graceHash && safeEqual(hash, session.graceHash) && (session.graceUntil?.getTime() ?? 0) > Date.now();
      if (!lostAnswer && !safeEqual(hash, session.refreshHash)) {
        if (session.previousHashes.some((h) => safeEqual(hash, h))) {
          if (!session.revokedAt) {
            await this.revoke(id, 'refresh token reused');
            await this.audit.record({
              actor: { username: session.username },
              action: 'revoke',
              resource: { kind: 'sessions', name: session.username },
              summary: 'refresh token reused: session revoked',
            });
            this.logger.warn(`A replaced refresh token of ${session.username} was presented again: session revoked`);
          }
          throw new UnauthorizedError('This refresh token was already used; the session has been revoked. Sign in again.');
        }
        throw new UnauthorizedError('The refresh token is not valid.');
      }
      if (session.revokedAt) throw new UnauthorizedError('The session has been revoked. Sign in again.');
      if (session.expiresAt.getTime() <= Date.now()) throw new UnauthorizedError('The refresh token has expired. Sign in again.');
      const user = await this.users.findById(session.username);
      if (!user || user.disabled) {
        await this.revoke(id, 'user gone or disabled');
        throw new UnauthorizedError('The user of this session no longer exists or is disabled.');
      }
      const next = randomSecret();
      const now = new Date();
      // The grace follows the token its holder presented: after a lost answer that is still the old one.
      const rotated = await this.sessions.rotate(id, session.refreshHash, {
        refreshHash: sha256Hex(next),
        previousHashes: [...session.previousHashes, session.refreshHash].slice(-KEEP_PREVIOUS),
        refreshedAt: now,
        expiresAt: new Date(now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000),
        graceHash: hash,
        graceUntil: new Date(now.getTime() + this.config.auth.refreshReuseGraceSeconds * 1000),
      });
      if (!rotated) throw new UnauthorizedError('The refresh token is not valid.');
      return this.issue(id, user, next);
    });
  }

  /** The session an access token names, when it is still live. */
  async live(id: string): Promise<AuthSession | undefined> {
    const s = await this.sessions.findById(id);
    return s && !s.revokedAt && s.expiresAt.getTime() > Date.now() ? s : undefined;
  }

  /** A sign-in verified within SIGN_IN_FRESH_MS for this session and user, if any. */
  recentSignIn(sessionId: string, username: string): AuthenticatedUser | undefined {
    const s = this.signIns.fresh(sessionId);
    if (!s || s.username !== username || s.sessionExpiresAt <= Date.now()) return undefined;
    return { username: s.username, role: s.role, sessionId: s.sessionId };
  }

  rememberSignIn(user: AuthenticatedUser, sessionExpiresAt: Date): void {
    this.signIns.set(user.sessionId, { ...user, sessionExpiresAt: sessionExpiresAt.getTime() });
  }

  /** Forgets the verified sign-ins of a user whose role, password or state changed. */
  forgetSignInsOf(username: string): void {
    this.signIns.forgetWhere((s) => s.username === username);
  }

  async revoke(id: string, reason: string): Promise<void> {
    this.signIns.forget(id);
    await this.sessions.revoke(id, reason, new Date());
  }

  async revokeAllOf(username: string, reason: string): Promise<void> {
    this.forgetSignInsOf(username);
    await this.sessions.revokeAllOf(username, reason, new Date());
  }

  /** Sessions whose refresh token expired more than a day ago are deleted. */
  async deleteExpired(): Promise<number> {
    return this.sessions.deleteExpiredBefore(new Date(Date.now() - DAY_MS));
  }

  private async issue(sessionId: string, user: Pick<User, '_id' | 'role'>, refreshSecret: string): Promise<TokenPair> {
    const ttl = this.config.auth.accessTokenTtlSeconds;
    const claims: AccessClaims = { sub: user._id, sid: sessionId, role: user.role, typ: 'access' };
    const accessToken = await this.jwt.signAsync(claims, { expiresIn: ttl, jwtid: randomBytes(12).toString('base64url') });
    const { exp } = this.jwt.decode<{ exp: number }>(accessToken);
    return { accessToken, refreshToken: `ocr_${sessionId}.${refreshSecret}`, expiresAt: new Date(exp * 1000).toISOString() };
  }
}
