import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { REFRESH_COOKIE } from './auth/refresh-cookie';
import { PUBLIC_OPERATION_EXTENSION } from './common/openapi/api-public.decorator';
import { REFRESH_COOKIE_SCHEME } from './common/openapi/api-signed-in.decorator';
import { applyValidationConstraints } from './common/openapi/validation-constraints';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * What the decorators cannot say: request schemas carry the validators' constraints
 * (validation-constraints.ts); operations marked public (ApiPublic, @Public) get
 * `security: []` (or keep only a scheme of their own, as Basic sign-in does) instead of the
 * document-wide bearer requirement; /metrics, served by the Prometheus module, is public text.
 */
export function finishOpenApiDocument(doc: OpenAPIObject): OpenAPIObject {
  applyValidationConstraints(doc.components?.schemas ?? {});
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const ext = op as unknown as Record<string, unknown>;
      const isPublic = ext[PUBLIC_OPERATION_EXTENSION] === true || path === '/metrics';
      delete ext[PUBLIC_OPERATION_EXTENSION];
      if (!isPublic) continue;
      op.security = (op.security ?? []).filter((requirement) => !('bearer' in requirement));
      if (path === '/metrics') {
        op.summary ??= 'Prometheus metrics of this replica (text exposition format)';
        op.responses = { '200': { description: 'Metrics in the Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } };
      }
    }
  }
  return doc;
}

/** Serves the OpenAPI document at /api/docs-json and Swagger UI at /api/docs. */
export function setupOpenApi(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('OpAMP Commander')
    .setDescription(
      'Management API for fleets of OpenTelemetry agents managed over OpAMP. Every error is an RFC 9457 `application/problem+json` document. ' +
        'Operations need `Authorization: Bearer <access token>` (POST /api/v1/auth/login) unless they say `security: []`.',
    )
    .setVersion(version)
    .addBearerAuth(undefined, 'bearer')
    .addBasicAuth(undefined, 'basic')
    .addCookieAuth(
      REFRESH_COOKIE,
      {
        type: 'apiKey',
        in: 'cookie',
        name: REFRESH_COOKIE,
        description: 'The refresh token POST /api/v1/auth/session set (HttpOnly; sent only to /api/v1/auth/session)',
      },
      REFRESH_COOKIE_SCHEME,
    )
    .addSecurityRequirements('bearer')
    .build();
  SwaggerModule.setup('api/docs', app, () => finishOpenApiDocument(SwaggerModule.createDocument(app, config)), { jsonDocumentUrl: 'api/docs-json' });
}
