import { SELECTOR_KEY_PATTERN, MAX_SELECTOR_KEY_LENGTH, SelectorRequirement, selectorValueProblem } from './label-selector';
import { AgentLabelSources, selectorValueTexts } from './selector-matcher';

/**
 * Selector terms: every key an agent has (server-side labels, identifying and non-identifying
 * attributes) as one "key present" term and one "key has value" term per value, kept on the agent
 * document in one indexed string array. A selector then becomes plain conditions on that array
 * (`$in`, `$nin`, equality, `$ne`), which every MongoDB wire server evaluates the same way
 * (FerretDB 1.x included) and MongoDB answers from the index `{selectorTerms: 1, _id: 1}`.
 */

/** The stored field holding the terms. */
export const SELECTOR_TERMS_FIELD = 'selectorTerms';

/**
 * Between key and value in a "key has value" term. Selector keys never contain it
 * (SELECTOR_KEY_PATTERN), so a term splits unambiguously at its first `=`, a "key present" term
 * (the bare key) never equals a "key has value" term, and values may contain `=` freely.
 */
export const SELECTOR_TERM_SEPARATOR = '=';

/** The term saying "key k is present". */
export const keyTerm = (key: string): string => key;

/** The term saying "key k has the value (as text) v". */
export const valueTerm = (key: string, value: string): string => `${key}${SELECTOR_TERM_SEPARATOR}${value}`;

/** A key a selector can name; other keys (an attribute `a=b`, say) can never be selected, so they get no terms. */
const selectable = (key: string) => key.length <= MAX_SELECTOR_KEY_LENGTH && SELECTOR_KEY_PATTERN.test(key);

/**
 * The terms of an agent, sorted and without duplicates. Values are compared as `matchesAgent`
 * compares them: the text of a scalar (so `replicas=3` matches the integer 3 and `debug=true` the
 * boolean), each scalar element of an array; a key whose value is none of these (an object, null)
 * is present without a value term. Values a selector cannot express (too long, control
 * characters) get no value term either. Pure.
 */
export function agentSelectorTerms(agent: AgentLabelSources): string[] {
  const terms = new Set<string>();
  const add = (key: string, value: unknown) => {
    if (!selectable(key)) return;
    terms.add(keyTerm(key));
    for (const text of selectorValueTexts(value)) if (!selectorValueProblem(text)) terms.add(valueTerm(key, text));
  };
  for (const [key, value] of Object.entries(agent.labels ?? {})) add(key, value);
  for (const kv of agent.description?.identifying ?? []) add(kv.key, kv.value);
  for (const kv of agent.description?.nonIdentifying ?? []) add(kv.key, kv.value);
  return [...terms].sort();
}

/**
 * The MongoDB filter selecting exactly the agents the requirements match (as `matchesAgent`
 * decides), over the stored terms: `k=v`/`in` → `$in` of value terms, `k` → the key term,
 * `k!=v`/`notin` and `!k` → none of those terms (merged into one `$nin`; as in Kubernetes, they
 * hold for agents without the key). An agent without terms has no keys. The empty list gives `{}`.
 */
export function selectorToTermsFilter(requirements: SelectorRequirement[]): Record<string, unknown> {
  const clauses: Record<string, unknown>[] = [];
  const absent: string[] = [];
  for (const r of requirements) {
    switch (r.operator) {
      case 'Exists':
        clauses.push({ [SELECTOR_TERMS_FIELD]: keyTerm(r.key) });
        break;
      case 'In':
        clauses.push({ [SELECTOR_TERMS_FIELD]: { $in: r.values.map((v) => valueTerm(r.key, v)) } });
        break;
      case 'DoesNotExist':
        absent.push(keyTerm(r.key));
        break;
      case 'NotIn':
        absent.push(...r.values.map((v) => valueTerm(r.key, v)));
        break;
    }
  }
  if (absent.length) clauses.push({ [SELECTOR_TERMS_FIELD]: { $nin: [...new Set(absent)] } });
  return clauses.length === 0 ? {} : clauses.length === 1 ? clauses[0] : { $and: clauses };
}

/**
 * The terms whose presence a selector excludes, when it has no positive requirement (only
 * `k!=v`, `notin`, `!k`); undefined otherwise. Counting such a selector as "all minus those
 * holding any of these terms" lets the database answer both counts from indexes.
 */
export function excludedTermsOnly(requirements: SelectorRequirement[]): string[] | undefined {
  if (requirements.length === 0 || requirements.some((r) => r.operator === 'In' || r.operator === 'Exists')) return undefined;
  const f = selectorToTermsFilter(requirements) as { [SELECTOR_TERMS_FIELD]: { $nin: string[] } };
  return f[SELECTOR_TERMS_FIELD].$nin;
}
