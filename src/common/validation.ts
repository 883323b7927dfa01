import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/** A 400 whose problem document names every offending field. */
export class RequestValidationException extends BadRequestException {
  constructor(readonly fieldErrors: { field: string; message: string }[]) {
    super(`Invalid request: ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
}

/** Constraints that say what type a value must be; when one fails, the rules about its size or range are noise. */
const TYPE_CONSTRAINTS = new Set([
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isObject',
  'isDate',
  'isDateString',
  'isIso8601',
  'isISO8601',
  'isEnum',
  'nestedValidation',
]);

/**
 * One message per problem of a field: a missing value is "X is required" (not every rule the
 * value would have had to meet); a value of the wrong type gets only the type message (a word
 * where a number belongs says so, not also each range rule); otherwise each failed rule is a
 * distinct problem. A required field's own message (IsDefined with a message) is kept.
 */
function fieldMessages(e: ValidationError): string[] {
  const constraints = e.constraints ?? {};
  const keys = Object.keys(constraints);
  if (!keys.length) return [];
  if (e.value === undefined || e.value === null) return [constraints.isDefined ?? `${e.property} is required`];
  const typeKeys = keys.filter((k) => TYPE_CONSTRAINTS.has(k));
  return (typeKeys.length ? typeKeys.slice(0, 1) : keys).map((k) => constraints[k]);
}

function flatten(errors: ValidationError[], prefix = ''): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = fieldMessages(e).map((message) => ({ field, message }));
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
