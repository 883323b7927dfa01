import { ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** Documents a successful JSON answer with its schema. */
export function ApiJsonResponse(status: number, schema: SchemaObject, description = 'OK'): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { 'application/json': { schema } } });
}

/** Documents a successful answer without a body. */
export function ApiEmptyResponse(status = 204, description = 'Done; no body'): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description });
}

/** Documents Node's own 431 (no body) for operations whose query string can outgrow the 16 KiB header limit. */
export function ApiHeadersTooLargeResponse(): MethodDecorator & ClassDecorator {
  return ApiResponse({
    status: 431,
    description: 'Request line and headers over 16 KiB (a very long selector or search): answered by Node.js, without a body',
  });
}

/** Documents a successful plain-text answer. */
export function ApiTextResponse(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { 'text/plain': { schema: { type: 'string' } } } });
}
