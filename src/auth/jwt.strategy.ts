import { createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { UnauthorizedError } from '../common/domain-errors';
import { JWT_SIGNING_SECRET } from './jwt-secret';
import { isRole } from '../common/roles';
import { AccessClaims, JWT_AUDIENCE, JWT_ISSUER, SessionsService } from './sessions.service';
import { AuthenticatedUser } from './user.schema';
import { UsersService } from './users.service';

/**
 * passport-jwt: an access token in `Authorization: Bearer …`, HS256 only (so `alg: none` and
 * any other algorithm are refused), our issuer and audience, with `exp` and `iat` (jsonwebtoken
 * checks `exp` only when present: a signed token without it would never expire), not expired;
 * then its session must be live and its user enabled. The role comes from the stored user, so a changed role
 * applies at once on this replica (SIGN_IN_FRESH_MS elsewhere).
 */
/** `exp` and `iat` present as NumericDates, `iat` not after `exp`. */
function hasLifetime(claims: { exp?: unknown; iat?: unknown }): boolean {
  return Number.isFinite(claims.exp) && Number.isFinite(claims.iat) && (claims.iat as number) <= (claims.exp as number);
}

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(JWT_SIGNING_SECRET) secret: string,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // A key object, not the string: given a string, jsonwebtoken first tries to parse it as a
      // public key and builds an exception every time (~2 ms of CPU per authenticated request).
      secretOrKey: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as Buffer, // passed through to jsonwebtoken, which takes key objects
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  async validate(claims: Partial<AccessClaims> & { exp?: unknown; iat?: unknown }): Promise<AuthenticatedUser> {
    if (claims.typ !== 'access' || typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || !hasLifetime(claims)) {
      throw new UnauthorizedError('The access token is not valid.');
    }
    // Recently verified: no lookup (see SIGN_IN_FRESH_MS for how soon changes elsewhere apply).
    const recent = this.sessions.recentSignIn(claims.sid, claims.sub);
    if (recent) return recent;
    const session = await this.sessions.live(claims.sid);
    if (!session || session.username !== claims.sub) throw new UnauthorizedError('The session of this access token has ended. Sign in again.');
    const user = await this.users.active(claims.sub);
    if (!user || !isRole(user.role)) throw new UnauthorizedError('The user of this access token no longer exists or is disabled.');
    const signedIn = { username: user._id, role: user.role, sessionId: session._id };
    this.sessions.rememberSignIn(signedIn, session.expiresAt);
    return signedIn;
  }
}
