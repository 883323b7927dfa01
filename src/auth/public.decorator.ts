import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:public';

/** Marks a route (or a controller) reachable without credentials: sign-in, refresh, version, ping. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
