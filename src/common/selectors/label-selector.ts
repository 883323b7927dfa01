/**
 * Label selectors: the one internal form (a list of requirements, all of which must hold) that
 * the text syntax (`env=prod,tier in (a,b)`) and the object syntax (`matchLabels` +
 * `matchExpressions`) both turn into.
 */
export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export const SELECTOR_OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** One requirement on one key. `In`/`NotIn` carry at least one value; the others carry none. */
export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** The object form of a selector, as in Kubernetes' LabelSelector. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Longest key accepted: a DNS-subdomain prefix (253) + '/' + a name (63), as Kubernetes allows. */
export const MAX_SELECTOR_KEY_LENGTH = 317;
/** Longest value accepted; attribute values can be longer than Kubernetes' 63. */
export const MAX_SELECTOR_VALUE_LENGTH = 1024;

/** Keys: letters, digits and `._-/:`, starting and ending with a letter or digit (`service.name`, `app.kubernetes.io/name`). */
export const SELECTOR_KEY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._\-/:]*[A-Za-z0-9])?$/;

/** Why a key is not acceptable, or undefined when it is. */
export function selectorKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'key must not be empty';
  if (key.length > MAX_SELECTOR_KEY_LENGTH) return `key must be at most ${MAX_SELECTOR_KEY_LENGTH} characters`;
  if (!SELECTOR_KEY_PATTERN.test(key)) return `key "${key}" must consist of letters, digits and "._-/:", beginning and ending with a letter or digit`;
  return undefined;
}

/** Why a value is not acceptable, or undefined when it is. */
export function selectorValueProblem(value: string): string | undefined {
  if (value.length > MAX_SELECTOR_VALUE_LENGTH) return `value must be at most ${MAX_SELECTOR_VALUE_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'value must not contain control characters';
  return undefined;
}

/** A selector that cannot be understood; `field` is the path of the offending part, `column` (1-based) its place in a text selector. */
export class SelectorError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** Renders requirements back as text selector syntax (canonical, for logs and messages). */
export function formatSelector(requirements: SelectorRequirement[]): string {
  const q = (v: string) => (/^[A-Za-z0-9._\-/:]+$/.test(v) ? v : JSON.stringify(v));
  return requirements
    .map((r) => {
      switch (r.operator) {
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
        case 'In':
          return r.values.length === 1 ? `${r.key}=${q(r.values[0])}` : `${r.key} in (${r.values.map(q).join(',')})`;
        case 'NotIn':
          return r.values.length === 1 ? `${r.key}!=${q(r.values[0])}` : `${r.key} notin (${r.values.map(q).join(',')})`;
      }
    })
    .join(',');
}
