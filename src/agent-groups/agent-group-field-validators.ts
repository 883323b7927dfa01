import { ValidateBy, ValidationOptions } from 'class-validator';
import { SelectorError, selectorKeyProblem, selectorRequirements, selectorValueProblem } from '../common/selectors';

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a value is not a selector (text or object form), or undefined when it is one. */
export function labelSelectorProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' && !isPlainObject(value)) return 'selector must be a selector string or an object with matchLabels and/or matchExpressions';
  try {
    selectorRequirements(value, 'selector');
    return undefined;
  } catch (e) {
    if (e instanceof SelectorError) return e.message;
    throw e;
  }
}

/** A label selector: `"env=prod,tier in (a,b)"` or `{matchLabels, matchExpressions}`; errors name the column or the part. */
export function IsLabelSelector(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLabelSelector',
      validator: {
        validate: (value) => labelSelectorProblem(value) === undefined,
        defaultMessage: (args) => labelSelectorProblem(args?.value) ?? 'invalid selector',
      },
    },
    options,
  );
}

/** Why a value is not a map of labels, or undefined. */
export function labelMapProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'must be an object of key: value';
  const entries = Object.entries(value);
  if (entries.length > 64) return 'must have at most 64 labels';
  for (const [k, v] of entries) {
    const p = selectorKeyProblem(k);
    if (p) return `label ${p}`;
    if (typeof v !== 'string') return `label "${k}" must have a string value`;
    const vp = selectorValueProblem(v);
    if (vp) return `label "${k}": ${vp}`;
  }
  return undefined;
}

export function IsLabelMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLabelMap',
      validator: {
        validate: (value) => labelMapProblem(value) === undefined,
        defaultMessage: (args) => `${args?.property} ${labelMapProblem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Why a value is not a map of HTTP headers, or undefined. */
export function headerMapProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return 'must be an object of header-name: value';
  const entries = Object.entries(value);
  if (entries.length > 64) return 'must have at most 64 headers';
  for (const [k, v] of entries) {
    if (!HEADER_NAME.test(k) || k.length > 256) return `"${k}" is not an HTTP header name`;
    if (typeof v !== 'string') return `header "${k}" must have a string value`;
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (v.length > 8192 || /[\u0000-\u0008\u000a-\u001f\u007f]/.test(v)) return `header "${k}" must be at most 8192 characters without control characters`;
  }
  return undefined;
}

export function IsHeaderMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHeaderMap',
      validator: {
        validate: (value) => headerMapProblem(value) === undefined,
        defaultMessage: (args) => `${args?.property} ${headerMapProblem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}
