import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../common/domain-errors';
import { IS_PUBLIC } from './public.decorator';
import { REQUIRED_ROLE } from './roles.decorator';
import { Role, roleAtLeast } from '../common/roles';
import { AuthenticatedUser } from './user.schema';

/** Routes outside /api/v1 are infrastructure (/healthz, /readyz, /metrics), public by design. */
const API_PREFIX = '/api/v1/';

/** Why passport-jwt failed, in words for the problem document (never the token itself). */
function reasonOf(info: unknown): string {
  const name = (info as { name?: string } | undefined)?.name;
  const message = (info as { message?: string } | undefined)?.message ?? '';
  if (name === 'TokenExpiredError') return 'The access token has expired; refresh it or sign in again.';
  if (name === 'JsonWebTokenError' || name === 'NotBeforeError') return 'The access token is not valid.';
  if (/no auth token/i.test(message)) return 'Missing credentials: send Authorization: Bearer <access token> (POST /api/v1/auth/login gets one).';
  return 'The access token is not valid.';
}

/**
 * The one global guard of the API: every route needs a valid access token unless marked
 * @Public(), and the role @Roles() names (default: viewer to read, operator to change).
 */
@Injectable()
export class ApiAccessGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthenticatedUser }>();
    if (!(req.routeOptions?.url ?? req.url).startsWith(API_PREFIX)) return true;
    await super.canActivate(context);
    const needed: Role = this.reflector.getAllAndOverride<Role>(REQUIRED_ROLE, targets) ?? (['GET', 'HEAD'].includes(req.method) ? 'viewer' : 'operator');
    if (!roleAtLeast(req.user?.role, needed)) {
      throw new ForbiddenError(`This needs the ${needed} role; ${req.user?.username} has ${req.user?.role}.`);
    }
    return true;
  }

  override handleRequest<TUser>(err: unknown, user: TUser, info: unknown): TUser {
    // err comes from validate() (a refused session, or a database failure, which stays a 500).
    if (err) throw err;
    if (!user) throw new UnauthorizedError(reasonOf(info));
    return user;
  }
}
