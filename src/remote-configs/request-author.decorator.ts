import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** Who a change is recorded as made by while no one is signed in. */
export const ANONYMOUS_AUTHOR = 'anonymous';

/**
 * The author recorded on a change: the signed-in user that authentication puts on the request
 * (`request.user`: username, name, email or sub, first present), else `anonymous`.
 */
export function authorOf(request: { user?: unknown } | undefined): string {
  const user = request?.user as Record<string, unknown> | undefined;
  for (const k of ['username', 'name', 'email', 'sub']) {
    const v = user?.[k];
    if (typeof v === 'string' && v.trim() !== '') return v.trim().slice(0, 256);
  }
  return ANONYMOUS_AUTHOR;
}

/** Controller parameter: the author of the change this request makes. */
export const RequestAuthor = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => authorOf(ctx.switchToHttp().getRequest()));
