import {
  LabelSelectorObject,
  SELECTOR_OPERATORS,
  SelectorError,
  SelectorOperator,
  SelectorRequirement,
  selectorKeyProblem,
  selectorValueProblem,
} from './label-selector';
import { parseSelector } from './selector-parser';

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Most requirements one selector may hold (a guard against absurd input, not a design limit). */
export const MAX_SELECTOR_REQUIREMENTS = 100;
const MAX_VALUES = 100;

/**
 * Turns `matchLabels` + `matchExpressions` into requirements, checking every part strictly:
 * unknown fields, bad keys, unknown operators, values where none belong or none where some must.
 * Errors carry the path of the offending part under `field` (e.g. `spec.selector.matchExpressions[1].values`).
 */
export function requirementsFromObject(selector: unknown, field = 'selector'): SelectorRequirement[] {
  if (!isPlainObject(selector)) throw new SelectorError(`${field} must be an object with matchLabels and/or matchExpressions, or a selector string`, field);
  for (const k of Object.keys(selector)) {
    if (k !== 'matchLabels' && k !== 'matchExpressions')
      throw new SelectorError(`${field}.${k} is not a known field (matchLabels, matchExpressions)`, `${field}.${k}`);
  }
  const out: SelectorRequirement[] = [];
  const { matchLabels, matchExpressions } = selector as Record<string, unknown>;
  if (matchLabels !== undefined && matchLabels !== null) {
    const f = `${field}.matchLabels`;
    if (!isPlainObject(matchLabels)) throw new SelectorError(`${f} must be an object of key: value`, f);
    for (const [key, value] of Object.entries(matchLabels)) {
      const kf = `${f}[${JSON.stringify(key)}]`;
      const keyProblem = selectorKeyProblem(key);
      if (keyProblem) throw new SelectorError(`${kf}: ${keyProblem}`, kf);
      if (typeof value !== 'string') throw new SelectorError(`${kf} must be a string`, kf);
      const valueProblem = selectorValueProblem(value);
      if (valueProblem) throw new SelectorError(`${kf}: ${valueProblem}`, kf);
      out.push({ key, operator: 'In', values: [value] });
    }
  }
  if (matchExpressions !== undefined && matchExpressions !== null) {
    const f = `${field}.matchExpressions`;
    if (!Array.isArray(matchExpressions)) throw new SelectorError(`${f} must be an array`, f);
    matchExpressions.forEach((e: unknown, i) => out.push(expression(e, `${f}[${i}]`)));
  }
  if (out.length > MAX_SELECTOR_REQUIREMENTS)
    throw new SelectorError(`${field} has ${out.length} requirements; at most ${MAX_SELECTOR_REQUIREMENTS} are allowed`, field);
  return out;
}

function expression(e: unknown, f: string): SelectorRequirement {
  if (!isPlainObject(e)) throw new SelectorError(`${f} must be an object {key, operator, values}`, f);
  for (const k of Object.keys(e)) {
    if (k !== 'key' && k !== 'operator' && k !== 'values') throw new SelectorError(`${f}.${k} is not a known field (key, operator, values)`, `${f}.${k}`);
  }
  if (typeof e.key !== 'string') throw new SelectorError(`${f}.key must be a string`, `${f}.key`);
  const keyProblem = selectorKeyProblem(e.key);
  if (keyProblem) throw new SelectorError(`${f}.key: ${keyProblem}`, `${f}.key`);
  if (typeof e.operator !== 'string' || !SELECTOR_OPERATORS.includes(e.operator as SelectorOperator)) {
    throw new SelectorError(`${f}.operator must be one of ${SELECTOR_OPERATORS.join(', ')}`, `${f}.operator`);
  }
  const operator = e.operator as SelectorOperator;
  const vf = `${f}.values`;
  const values = e.values ?? [];
  if (!Array.isArray(values)) throw new SelectorError(`${vf} must be an array of strings`, vf);
  if (values.length > MAX_VALUES) throw new SelectorError(`${vf} has ${values.length} values; at most ${MAX_VALUES} are allowed`, vf);
  values.forEach((v: unknown, i) => {
    if (typeof v !== 'string') throw new SelectorError(`${vf}[${i}] must be a string`, `${vf}[${i}]`);
    const problem = selectorValueProblem(v);
    if (problem) throw new SelectorError(`${vf}[${i}]: ${problem}`, `${vf}[${i}]`);
  });
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) throw new SelectorError(`${vf} must not be empty when operator is ${operator}`, vf);
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0)
    throw new SelectorError(`${vf} must be empty when operator is ${operator}`, vf);
  return { key: e.key, operator, values: [...new Set(values as string[])] };
}

/**
 * Either form of a selector: a text selector string, or an object with matchLabels/matchExpressions.
 * `undefined`/`null` select everything, as the empty selector does.
 */
export function selectorRequirements(selector: string | LabelSelectorObject | null | undefined | unknown, field = 'selector'): SelectorRequirement[] {
  if (selector === undefined || selector === null) return [];
  if (typeof selector === 'string') return parseSelector(selector, field);
  return requirementsFromObject(selector, field);
}
