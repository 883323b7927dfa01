import type { SelectorRequirement } from './label-selector';

/** Where the agent document keeps the three places a selector key is looked up. */
export const AGENT_LABEL_FIELDS = {
  labels: 'labels',
  identifying: 'description.identifying',
  nonIdentifying: 'description.nonIdentifying',
} as const;
const ARRAYS = [AGENT_LABEL_FIELDS.identifying, AGENT_LABEL_FIELDS.nonIdentifying];

/**
 * The stored values a selector value stands for. Attribute values keep their type (an agent may
 * report `replicas` as the integer 3), so `replicas=3` also matches the number 3 and `debug=true`
 * the boolean, exactly as `matchesAgent` compares them as text.
 */
export function storedValueCandidates(value: string): (string | number | boolean)[] {
  const out: (string | number | boolean)[] = [value];
  if (value.trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n) && String(n) === value) out.push(n);
  }
  if (value === 'true') out.push(true);
  if (value === 'false') out.push(false);
  return out;
}

const candidates = (values: string[]) => [...new Set(values.flatMap(storedValueCandidates))];

/** "Key k is present": exact with dot notation, which every MongoDB wire server has. */
function keyPresent(key: string): Record<string, unknown>[] {
  return [{ [`${AGENT_LABEL_FIELDS.labels}.${key}`]: { $exists: true } }, ...ARRAYS.map((a) => ({ [`${a}.key`]: key }))];
}

/** "Key k is present with one of these values": one element must hold both, hence $elemMatch. */
function valuePresent(key: string, values: string[]): Record<string, unknown>[] {
  const cands = candidates(values);
  return [{ [`${AGENT_LABEL_FIELDS.labels}.${key}`]: { $in: cands } }, ...ARRAYS.map((a) => ({ [a]: { $elemMatch: { key, value: { $in: cands } } } }))];
}

const and = (clauses: Record<string, unknown>[]) => (clauses.length === 0 ? {} : clauses.length === 1 ? clauses[0] : { $and: clauses });

/**
 * The MongoDB filter selecting exactly the agents the requirements match: a key is looked up in
 * the server-side `labels` map and in the `description.identifying` / `description.nonIdentifying`
 * arrays of `{key, value}`; present in any of them counts. Key+value conditions use `$elemMatch`
 * on `{key, value}`, which FerretDB 1.x does not implement — see `selectorToCoarseAgentFilter`.
 * The empty list gives `{}`.
 *
 * Keys are looked up in `labels` by path (`labels.<key>`), so a label key containing '.' is found
 * only where the labels are stored as that nested path.
 */
export function selectorToAgentFilter(requirements: SelectorRequirement[]): Record<string, unknown> {
  return and(
    requirements.map((r): Record<string, unknown> => {
      switch (r.operator) {
        case 'Exists':
          return { $or: keyPresent(r.key) };
        case 'DoesNotExist':
          return { $nor: keyPresent(r.key) };
        case 'In':
          return { $or: valuePresent(r.key, r.values) };
        case 'NotIn':
          return { $nor: valuePresent(r.key, r.values) };
      }
    }),
  );
}

/**
 * A filter without `$elemMatch` selecting at least the agents the requirements match (a
 * superset), for servers without `$elemMatch` on sub-documents (FerretDB 1.x). Key conditions and
 * label conditions are exact; a key+value condition on an attribute array is narrowed to agents
 * having both the key and the value somewhere in it, and NotIn is narrowed on labels only.
 * Refine the result with `matchesAgent` unless `coarseFilterIsExact` says it is exact.
 */
export function selectorToCoarseAgentFilter(requirements: SelectorRequirement[]): Record<string, unknown> {
  const clauses: Record<string, unknown>[] = [];
  for (const r of requirements) {
    const label = `${AGENT_LABEL_FIELDS.labels}.${r.key}`;
    switch (r.operator) {
      case 'Exists':
        clauses.push({ $or: keyPresent(r.key) });
        break;
      case 'DoesNotExist':
        clauses.push({ $nor: keyPresent(r.key) });
        break;
      case 'In': {
        const cands = candidates(r.values);
        clauses.push({ $or: [{ [label]: { $in: cands } }, ...ARRAYS.map((a) => ({ [`${a}.key`]: r.key, [`${a}.value`]: { $in: cands } }))] });
        break;
      }
      case 'NotIn':
        clauses.push({ [label]: { $nin: candidates(r.values) } });
        break;
    }
  }
  return and(clauses);
}

/** True when the coarse filter of these requirements selects exactly the matching agents. */
export function coarseFilterIsExact(requirements: SelectorRequirement[]): boolean {
  return requirements.every((r) => r.operator === 'Exists' || r.operator === 'DoesNotExist');
}
