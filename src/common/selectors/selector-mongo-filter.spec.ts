import { parseSelector } from './selector-parser';
import { matchesAgent } from './selector-matcher';
import { coarseFilterIsExact, selectorToAgentFilter, selectorToCoarseAgentFilter, storedValueCandidates } from './selector-mongo-filter';

const present = (k: string) => [{ [`labels.${k}`]: { $exists: true } }, { 'description.identifying.key': k }, { 'description.nonIdentifying.key': k }];

describe('selectorToAgentFilter', () => {
  it('selects everything for the empty selector', () => {
    expect(selectorToAgentFilter([])).toEqual({});
  });

  it('looks a key and value up in labels and, with $elemMatch, in both attribute arrays', () => {
    expect(selectorToAgentFilter(parseSelector('service.name=checkout'))).toEqual({
      $or: [
        { 'labels.service.name': { $in: ['checkout'] } },
        { 'description.identifying': { $elemMatch: { key: 'service.name', value: { $in: ['checkout'] } } } },
        { 'description.nonIdentifying': { $elemMatch: { key: 'service.name', value: { $in: ['checkout'] } } } },
      ],
    });
  });

  it('negates with $nor and joins requirements with $and', () => {
    expect(selectorToAgentFilter(parseSelector('a,!b,c notin (x)'))).toEqual({
      $and: [
        { $or: present('a') },
        { $nor: present('b') },
        {
          $nor: [
            { 'labels.c': { $in: ['x'] } },
            { 'description.identifying': { $elemMatch: { key: 'c', value: { $in: ['x'] } } } },
            { 'description.nonIdentifying': { $elemMatch: { key: 'c', value: { $in: ['x'] } } } },
          ],
        },
      ],
    });
  });

  it('matches typed attribute values by their text', () => {
    expect(storedValueCandidates('3')).toEqual(['3', 3]);
    expect(storedValueCandidates('-1.5')).toEqual(['-1.5', -1.5]);
    expect(storedValueCandidates('3.0')).toEqual(['3.0']);
    expect(storedValueCandidates('true')).toEqual(['true', true]);
    expect(storedValueCandidates('')).toEqual(['']);
    expect(storedValueCandidates('0x10')).toEqual(['0x10']);
  });
});

describe('selectorToCoarseAgentFilter (no $elemMatch)', () => {
  it('is exact for key conditions', () => {
    const reqs = parseSelector('a,!b');
    expect(selectorToCoarseAgentFilter(reqs)).toEqual(selectorToAgentFilter(reqs));
    expect(coarseFilterIsExact(reqs)).toBe(true);
  });

  it('narrows key+value conditions without $elemMatch', () => {
    const reqs = parseSelector('env in (prod),zone!=eu');
    expect(coarseFilterIsExact(reqs)).toBe(false);
    const f = selectorToCoarseAgentFilter(reqs);
    expect(JSON.stringify(f)).not.toContain('$elemMatch');
    expect(f).toEqual({
      $and: [
        {
          $or: [
            { 'labels.env': { $in: ['prod'] } },
            { 'description.identifying.key': 'env', 'description.identifying.value': { $in: ['prod'] } },
            { 'description.nonIdentifying.key': 'env', 'description.nonIdentifying.value': { $in: ['prod'] } },
          ],
        },
        { 'labels.zone': { $nin: ['eu'] } },
      ],
    });
  });
});

/**
 * A tiny evaluator of the MongoDB query operators the filters use ($and, $or, $nor, $in, $nin,
 * $exists, $elemMatch, equality, dot paths through arrays), to check the filters' meaning
 * against `matchesAgent` without a MongoDB here (the test database, FerretDB, lacks $elemMatch).
 */
type Doc = Record<string, unknown>;

function valuesAt(doc: unknown, path: string[]): unknown[] {
  if (path.length === 0) return Array.isArray(doc) ? [doc, ...doc] : [doc];
  if (Array.isArray(doc)) return doc.flatMap((d) => valuesAt(d, path));
  if (doc === null || typeof doc !== 'object') return [];
  const [head, ...rest] = path;
  if (!Object.prototype.hasOwnProperty.call(doc, head)) return [];
  return valuesAt((doc as Doc)[head], rest);
}

function evaluate(doc: Doc, query: Doc): boolean {
  return Object.entries(query).every(([k, cond]) => {
    if (k === '$and') return (cond as Doc[]).every((q) => evaluate(doc, q));
    if (k === '$or') return (cond as Doc[]).some((q) => evaluate(doc, q));
    if (k === '$nor') return !(cond as Doc[]).some((q) => evaluate(doc, q));
    const values = valuesAt(doc, k.split('.'));
    if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) return values.some((v) => v === cond);
    return Object.entries(cond as Doc).every(([op, arg]) => {
      switch (op) {
        case '$in':
          return values.some((v) => (arg as unknown[]).includes(v));
        case '$nin':
          return !values.some((v) => (arg as unknown[]).includes(v));
        case '$exists':
          return (values.length > 0) === arg;
        case '$elemMatch': {
          const arr = (doc as Doc) && valuesAt(doc, k.split('.')).find(Array.isArray);
          return Array.isArray(arr) && arr.some((e) => e !== null && typeof e === 'object' && evaluate(e as Doc, arg as Doc));
        }
        default:
          throw new Error(`operator ${op} not modelled`);
      }
    });
  });
}

describe('filters against matchesAgent (random agents and selectors)', () => {
  let seed = 7;
  // mulberry32: small, seeded, with good low bits
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const keys = ['a', 'b', 'c', 'service.name'];
  const vals = ['x', 'y', '3', 'true'];
  const value = () => [vals[rnd(4)], 3, true, ['x']][rnd(8) < 5 ? 0 : rnd(4)];
  const entries = () => Array.from({ length: rnd(4) }, () => ({ key: keys[rnd(4)], value: value() }));
  const agent = () => ({
    // Label keys without dots: `labels.<key>` is a path (see selectorToAgentFilter).
    labels: Object.fromEntries(Array.from({ length: rnd(3) }, () => [['a', 'b', 'c'][rnd(3)], vals[rnd(4)]])),
    ...(rnd(5) === 0 ? {} : { description: { identifying: entries(), nonIdentifying: entries() } }),
  });
  const requirement = () => {
    const key = keys[rnd(4)];
    const some = () => [...new Set(Array.from({ length: 1 + rnd(2) }, () => vals[rnd(4)]))];
    return [
      { key, operator: 'Exists' as const, values: [] },
      { key, operator: 'DoesNotExist' as const, values: [] },
      { key, operator: 'In' as const, values: some() },
      { key, operator: 'NotIn' as const, values: some() },
    ][rnd(4)];
  };

  it('the exact filter selects what matchesAgent matches; the coarse one at least that', () => {
    for (let round = 0; round < 3000; round++) {
      const a = agent();
      const reqs = Array.from({ length: 1 + rnd(3) }, requirement);
      const expected = matchesAgent(reqs, a);
      expect({ reqs, a, exact: evaluate(a, selectorToAgentFilter(reqs)) }).toEqual({ reqs, a, exact: expected });
      const coarse = evaluate(a, selectorToCoarseAgentFilter(reqs));
      if (expected) expect({ reqs, a, coarse }).toEqual({ reqs, a, coarse: true });
      if (coarseFilterIsExact(reqs)) expect(coarse).toBe(expected);
    }
  });
});
