import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { MAX_SELECTOR_KEY_LENGTH, MAX_SELECTOR_VALUE_LENGTH, SELECTOR_KEY_PATTERN } from '../selectors/label-selector';

/** A label value: at most MAX_SELECTOR_VALUE_LENGTH characters, no control characters. */
export const LABEL_VALUE_SCHEMA: SchemaObject = { type: 'string', maxLength: MAX_SELECTOR_VALUE_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]*$' };

/**
 * A map of labels as the validators take it: at most 64, keys of letters, digits and "._-/:"
 * beginning and ending with a letter or digit (`agentKeys`: without "." either, as labels
 * stored on agents). `propertyNames` is JSON Schema's; OpenAPI 3.0 tools that do not know it
 * still read the description.
 */
export function labelMapSchema(opts: { agentKeys?: boolean; nullableValues?: boolean; description?: string } = {}): SchemaObject {
  const keyPattern = opts.agentKeys ? '^[A-Za-z0-9](?:[A-Za-z0-9_\\-/:]*[A-Za-z0-9])?$' : SELECTOR_KEY_PATTERN.source;
  return {
    type: 'object',
    maxProperties: 64,
    description: opts.description ?? `At most 64 labels; keys match ${keyPattern}`,
    additionalProperties: opts.nullableValues ? { ...LABEL_VALUE_SCHEMA, nullable: true } : LABEL_VALUE_SCHEMA,
    ...({ propertyNames: { pattern: keyPattern, maxLength: MAX_SELECTOR_KEY_LENGTH } } as object),
  };
}
