import { CallHandler, ExecutionContext, HttpStatus, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { concatMap, from, Observable, switchMap } from 'rxjs';
import { actorOf, AuditService, AuditSnapshot } from './audit.service';
import { changedPaths } from './audited-resources';

const API_PREFIX = '/api/v1/';
/** Sign-in, refresh and sign-out are audited by the auth module itself, with what they mean. */
const SELF_AUDITED = /^auth\//;

/** What a request changes, read from its route pattern: `/api/v1/<kind>/:<param>/<action…>`. */
export function auditTarget(
  method: string,
  routePattern: string | undefined,
  params: Record<string, string> | undefined,
): { kind: string; name?: string; action: string } | undefined {
  if (['GET', 'HEAD', 'OPTIONS'].includes(method) || !routePattern?.startsWith(API_PREFIX)) return undefined;
  const rest = routePattern.slice(API_PREFIX.length);
  if (SELF_AUDITED.test(rest)) return undefined;
  const [kind, second, ...more] = rest.split('/');
  const name = second?.startsWith(':') ? params?.[second.slice(1)] : undefined;
  const sub = (second?.startsWith(':') ? more : [second, ...more]).filter((s) => s && !s.startsWith(':'));
  const action = sub.length
    ? sub.join('/')
    : method === 'POST'
      ? 'create'
      : method === 'PUT'
        ? 'replace'
        : method === 'PATCH'
          ? 'update'
          : method === 'DELETE'
            ? 'delete'
            : method.toLowerCase();
  return { kind, name, action };
}

/**
 * Records every successful change made through the API: who, what, when, which resource, and
 * the resource's audited fields before and after (hashes and the paths that changed).
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const target = auditTarget(req.method, req.routeOptions?.url, req.params as Record<string, string>);
    if (!target) return next.handle();
    let before: AuditSnapshot | undefined;
    return from(this.audit.snapshot(target.kind, target.name).then((s) => (before = s))).pipe(
      switchMap(() => next.handle()),
      // Written before the answer goes out, so whoever sees the answer finds the entry.
      concatMap(async (body: unknown) => {
        // The answer is not sent yet: its status is the handler's @HttpCode, or Nest's default.
        const status =
          this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (req.method === 'POST' ? HttpStatus.CREATED : HttpStatus.OK);
        await this.recordChange(req, status, target, before, body).catch(() => undefined);
        return body;
      }),
    );
  }

  private async recordChange(
    req: FastifyRequest,
    status: number,
    target: { kind: string; name?: string; action: string },
    before: AuditSnapshot | undefined,
    body: unknown,
  ): Promise<void> {
    const name = target.name ?? ((body as { metadata?: { name?: unknown } } | undefined)?.metadata?.name as string | undefined);
    const after = await this.audit.snapshot(target.kind, name).catch(() => undefined);
    const changes = after ? changedPaths(before?.view ?? null, after.view) : undefined;
    await this.audit.record({
      actor: actorOf(req),
      action: target.action,
      resource: { kind: target.kind, ...(name ? { name } : {}) },
      request: { method: req.method, path: req.url.split('?')[0].slice(0, 512), status, requestId: String(req.id) },
      ...(after ? { before: before?.hash ?? null, after: after.hash, changes } : {}),
    });
  }
}
