import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiPublic } from '../common/openapi/api-public.decorator';

export const IS_PUBLIC = 'auth:public';

/**
 * Marks a route (or a controller) reachable without credentials: sign-in, refresh, version,
 * ping. The OpenAPI document then gives it `security: []` (or only the scheme it takes itself).
 */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiPublic());
