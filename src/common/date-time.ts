import { Transform } from 'class-transformer';

/** RFC 3339 date-time, as OpenAPI's `format: date-time` means it. */
export const RFC3339_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Turns an RFC 3339 date-time string into a Date and leaves anything else as it is, for
 * @IsDate to refuse: `@Type(() => Date)` would also take "0.5" or "2026", which the document's
 * `format: date-time` does not allow.
 */
export function ToDateTime(): PropertyDecorator {
  return Transform(({ value }) => {
    if (typeof value !== 'string' || !RFC3339_DATE_TIME.test(value)) return value;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date;
  });
}
