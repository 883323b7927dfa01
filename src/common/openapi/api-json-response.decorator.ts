import { ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { API_MAX_HEADER_BYTES } from '../request-limits';

/** Documents a successful JSON answer with its schema. */
export function ApiJsonResponse(status: number, schema: SchemaObject, description = 'OK'): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { 'application/json': { schema } } });
}

/** Documents a successful answer without a body. */
export function ApiEmptyResponse(status = 204, description = 'Done; no body'): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description });
}

/** Documents Node's own 431 (no body) for operations whose query string can outgrow the header limit (API_MAX_HEADER_BYTES). */
export function ApiHeadersTooLargeResponse(what = 'a very long selector or search'): MethodDecorator & ClassDecorator {
  return ApiResponse({
    status: 431,
    description: `Request line and headers over ${API_MAX_HEADER_BYTES / 1024} KiB (${what}): answered by Node.js, without a body`,
  });
}

/** Documents a successful plain-text answer. */
export function ApiTextResponse(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { 'text/plain': { schema: { type: 'string' } } } });
}
