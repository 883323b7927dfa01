import type { SelectorRequirement } from './label-selector';
import { plainOfStored } from '../stored-any-value';

/** Where a key may be found for an agent, in the order the REST API documents them. */
export interface AgentLabelSources {
  /** Server-side labels set through the API. */
  labels?: Record<string, unknown> | null;
  description?: {
    identifying?: { key: string; value: unknown }[];
    nonIdentifying?: { key: string; value: unknown }[];
  } | null;
}

/** One key's values across sources; a key may be present without a matchable (scalar) value. */
type Lookup = (key: string) => { present: boolean; values: string[] };

/** Attribute values compare as text: strings as they are, numbers and booleans as JSON writes them. */
export function selectorValueText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * The texts a stored value offers to a selector: a scalar its text, an array the texts of its
 * scalar elements (so `tags=a` holds when the array `tags` holds "a", as MongoDB matches arrays),
 * anything else none.
 */
export function selectorValueTexts(stored: unknown): string[] {
  const v = plainOfStored(stored);
  const items = Array.isArray(v) ? v : [v];
  return items.map(selectorValueText).filter((t): t is string => t !== undefined);
}

function holds(r: SelectorRequirement, lookup: Lookup): boolean {
  const { present, values } = lookup(r.key);
  switch (r.operator) {
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'In':
      return values.some((v) => r.values.includes(v));
    case 'NotIn':
      return !values.some((v) => r.values.includes(v));
  }
}

/** True when every requirement holds for these labels (the empty list matches everything). Pure. */
export function matches(requirements: SelectorRequirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) =>
    holds(r, (key) => (Object.prototype.hasOwnProperty.call(labels, key) ? { present: true, values: [labels[key]] } : { present: false, values: [] })),
  );
}

/**
 * True when every requirement holds for an agent, a key being looked up in its server-side labels,
 * identifying and non-identifying attributes alike: `k=v` holds when any of them has k with value v,
 * `k!=v` when none does. Agrees exactly with `selectorToTermsFilter` over the agent's stored terms.
 */
export function matchesAgent(requirements: SelectorRequirement[], agent: AgentLabelSources): boolean {
  // Labels set through the API are strings; attributes keep the type the agent reported.
  const entries: { key: string; value: unknown }[] = [
    ...Object.entries(agent.labels ?? {}).map(([key, value]) => ({ key, value })),
    ...(agent.description?.identifying ?? []),
    ...(agent.description?.nonIdentifying ?? []),
  ];
  return requirements.every((r) =>
    holds(r, (key) => {
      const found = entries.filter((e) => e.key === key);
      return { present: found.length > 0, values: found.flatMap((e) => selectorValueTexts(e.value)) };
    }),
  );
}
