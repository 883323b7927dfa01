import { SetMetadata } from '@nestjs/common';
import type { Role } from '../common/roles';

export const REQUIRED_ROLE = 'auth:role';

/**
 * The least role a route (or every route of a controller) needs. Without it: viewer for
 * GET/HEAD, operator for every other method.
 */
export const Roles = (role: Role) => SetMetadata(REQUIRED_ROLE, role);
