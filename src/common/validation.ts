import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/** A 400 whose problem document names every offending field. */
export class RequestValidationException extends BadRequestException {
  constructor(readonly fieldErrors: { field: string; message: string }[]) {
    super(`Invalid request: ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
}

function flatten(errors: ValidationError[], prefix = ''): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** The one validation pipe: whitelist on, unknown fields rejected, types converted. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationException(flatten(errors)),
  });
}
