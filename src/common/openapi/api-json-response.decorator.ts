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

/** Documents a successful plain-text answer. */
export function ApiTextResponse(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { 'text/plain': { schema: { type: 'string' } } } });
}
