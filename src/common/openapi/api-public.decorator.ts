import { ApiExtension } from '@nestjs/swagger';

/** Marks an operation the guard lets through without credentials; the document gives it `security: []`. */
export const PUBLIC_OPERATION_EXTENSION = 'x-opamp-commander-public';

export function ApiPublic(): MethodDecorator & ClassDecorator {
  return ApiExtension(PUBLIC_OPERATION_EXTENSION, true) as MethodDecorator & ClassDecorator;
}
