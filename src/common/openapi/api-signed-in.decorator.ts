import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { Role } from '../roles';
import { ApiProblemResponsesWith } from './api-problem-responses.decorator';

/** The security scheme of the web UI's refresh cookie (the document defines it, POST /auth/session uses it). */
export const REFRESH_COOKIE_SCHEME = 'refreshCookie';

/**
 * Documents an operation behind the API's guard: a bearer access token, 401 without a valid
 * one, and 403 when the operation needs more than the viewer role every user has. `role`
 * must be the one the guard applies (@Roles, or viewer for GET and operator otherwise).
 */
export function ApiSignedIn(role: Role): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth('bearer'),
    role === 'viewer' ? ApiProblemResponsesWith({}, 401) : ApiProblemResponsesWith({ 403: `Signed in, but this needs the ${role} role` }, 401, 403),
  );
}
