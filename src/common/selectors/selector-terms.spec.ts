import type { SelectorRequirement } from './label-selector';
import { parseSelector } from './selector-parser';
import { AgentLabelSources, matchesAgent } from './selector-matcher';
import { agentSelectorTerms, excludedTermsOnly, selectorToTermsFilter } from './selector-terms';

/**
 * The MongoDB semantics of the few operators a terms filter uses ($and, equality, $in, $nin on
 * an array field that may be missing), to check filters against `matchesAgent` without a database.
 * The e2e tests run the same filters on FerretDB.
 */
type Doc = Record<string, unknown>;
function evaluate(doc: { selectorTerms?: string[] }, query: Doc): boolean {
  return Object.entries(query).every(([k, cond]) => {
    if (k === '$and') return (cond as Doc[]).every((q) => evaluate(doc, q));
    if (k !== 'selectorTerms') throw new Error(`field ${k} not modelled`);
    const terms = doc.selectorTerms ?? [];
    if (typeof cond === 'string') return terms.includes(cond);
    return Object.entries(cond as Doc).every(([op, arg]) => {
      switch (op) {
        case '$in':
          return terms.some((t) => (arg as string[]).includes(t));
        case '$nin':
          return !terms.some((t) => (arg as string[]).includes(t));
        default:
          throw new Error(`operator ${op} not modelled`);
      }
    });
  });
}

const stored = (a: AgentLabelSources) => ({ selectorTerms: agentSelectorTerms(a) });

describe('agentSelectorTerms', () => {
  it('gives a key term and a value term per key, values as text of their type, sorted and unique', () => {
    expect(
      agentSelectorTerms({
        labels: { team: 'payments' },
        description: {
          identifying: [
            { key: 'service.name', value: 'checkout' },
            { key: 'replicas', value: 3 },
          ],
          nonIdentifying: [
            { key: 'debug', value: true },
            { key: 'tags', value: ['a', 'b', { x: 1 }] },
            { key: 'resource', value: { a: 1 } },
            { key: 'nothing', value: null },
            { key: 'team', value: 'payments' },
            { key: 'query', value: 'a=b,c' },
          ],
        },
      }),
    ).toEqual([
      'debug',
      'debug=true',
      'nothing',
      'query',
      'query=a=b,c',
      'replicas',
      'replicas=3',
      'resource',
      'service.name',
      'service.name=checkout',
      'tags',
      'tags=a',
      'tags=b',
      'team',
      'team=payments',
    ]);
  });

  it('leaves out keys no selector can name and values no selector can express', () => {
    const terms = agentSelectorTerms({
      description: {
        identifying: [
          { key: 'a=b', value: 'c' },
          { key: '', value: 'x' },
          { key: 'long', value: 'x'.repeat(1025) },
          { key: 'ctl', value: 'a\u0001b' },
        ],
        nonIdentifying: [],
      },
    });
    expect(terms).toEqual(['ctl', 'long']);
  });

  it('gives none for an agent without labels or description', () => {
    expect(agentSelectorTerms({})).toEqual([]);
    expect(agentSelectorTerms({ labels: null, description: null })).toEqual([]);
  });
});

describe('selectorToTermsFilter', () => {
  it('is {} for the empty selector', () => {
    expect(selectorToTermsFilter([])).toEqual({});
  });

  it('turns requirements into array conditions, negations merged into one $nin', () => {
    expect(selectorToTermsFilter(parseSelector('env=prod'))).toEqual({ selectorTerms: { $in: ['env=prod'] } });
    expect(selectorToTermsFilter(parseSelector('a,!b,c notin (x,y),d in (1,2),e!=z'))).toEqual({
      $and: [{ selectorTerms: 'a' }, { selectorTerms: { $in: ['d=1', 'd=2'] } }, { selectorTerms: { $nin: ['b', 'c=x', 'c=y', 'e=z'] } }],
    });
  });

  const agent: AgentLabelSources = {
    labels: { team: 'payments', env: 'prod' },
    description: {
      identifying: [
        { key: 'service.name', value: 'checkout' },
        { key: 'replicas', value: 3 },
      ],
      nonIdentifying: [
        { key: 'host.name', value: 'node-1' },
        { key: 'debug', value: true },
        { key: 'ratio', value: 0.5 },
        { key: 'tags', value: ['a', 'b'] },
        { key: 'resource', value: { a: 1 } },
        { key: 'env', value: 'staging' },
        { key: 'query', value: 'x=1' },
      ],
    },
  };

  // Each case is checked twice: the terms filter over the stored terms, and matchesAgent in memory.
  it.each([
    ['', true],
    ['team=payments', true],
    ['team=billing', false],
    ['service.name=checkout', true],
    ['host.name in (node-1,node-2)', true],
    ['host.name in (node-3)', false],
    ['replicas=3', true],
    ['replicas=3.0', false],
    ['replicas!=3', false],
    ['ratio=0.5', true],
    ['debug=true', true],
    ['debug=false', false],
    ['debug!=false', true],
    ['tags', true],
    ['tags=a', true],
    ['tags=c', false],
    ['tags notin (b)', false],
    ['tags notin (c,d)', true],
    ['!tags', false],
    ['!missing', true],
    ['missing', false],
    ['missing!=x', true],
    ['missing notin (a,b)', true],
    ['missing in (a,b)', false],
    ['service.name!=checkout', false],
    ['resource', true],
    ['resource=a', false],
    ['resource!=a', true],
    ['query="x=1"', true],
    ['query=x', false],
    ['env=prod', true],
    ['env=staging', true],
    ['env!=prod', false],
    ['env notin (dev)', true],
    ['env=staging,team=payments,!missing', true],
    ['env=staging,team=billing', false],
    ['team,!debug', false],
  ])('%s → %s', (text, expected) => {
    const reqs = parseSelector(text);
    expect(matchesAgent(reqs, agent)).toBe(expected);
    expect(evaluate(stored(agent), selectorToTermsFilter(reqs))).toBe(expected);
  });

  it('treats an agent without terms (or without keys) as having no keys', () => {
    for (const text of ['!a', 'b!=c', 'a notin (x)', 'a', 'a=x']) {
      const reqs = parseSelector(text);
      expect(evaluate({}, selectorToTermsFilter(reqs))).toBe(matchesAgent(reqs, {}));
    }
  });

  it('agrees with matchesAgent on random agents and selectors', () => {
    let seed = 11;
    // mulberry32: small, seeded, with good low bits
    const rnd = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const keys = ['a', 'b', 'c', 'service.name'];
    const vals = ['x', 'y', '3', 'true', 'x=y'];
    const value = () => [vals[rnd(5)], 3, true, ['x', 3], { x: 1 }, null][rnd(10) < 5 ? 0 : rnd(6)];
    const entries = () => Array.from({ length: rnd(4) }, () => ({ key: keys[rnd(4)], value: value() }));
    const randomAgent = (): AgentLabelSources => ({
      labels: Object.fromEntries(Array.from({ length: rnd(3) }, () => [keys[rnd(4)], vals[rnd(5)]])),
      ...(rnd(5) === 0 ? {} : { description: { identifying: entries(), nonIdentifying: entries() } }),
    });
    const requirement = (): SelectorRequirement => {
      const key = keys[rnd(4)];
      const some = () => [...new Set(Array.from({ length: 1 + rnd(2) }, () => vals[rnd(5)]))];
      return [
        { key, operator: 'Exists' as const, values: [] },
        { key, operator: 'DoesNotExist' as const, values: [] },
        { key, operator: 'In' as const, values: some() },
        { key, operator: 'NotIn' as const, values: some() },
      ][rnd(4)];
    };
    for (let round = 0; round < 5000; round++) {
      const a = randomAgent();
      const reqs = Array.from({ length: 1 + rnd(3) }, requirement);
      const expected = matchesAgent(reqs, a);
      expect({ reqs, a, matched: evaluate(stored(a), selectorToTermsFilter(reqs)) }).toEqual({ reqs, a, matched: expected });
    }
  });
});

describe('excludedTermsOnly', () => {
  it('gives the excluded terms of a selector of negations only', () => {
    expect(excludedTermsOnly(parseSelector('a!=x,!b,c notin (y,z)'))).toEqual(['a=x', 'b', 'c=y', 'c=z']);
    expect(excludedTermsOnly(parseSelector('a!=x,b'))).toBeUndefined();
    expect(excludedTermsOnly(parseSelector('a=x'))).toBeUndefined();
    expect(excludedTermsOnly([])).toBeUndefined();
  });

  it('counts like the filter: agents matching = all − agents holding an excluded term', () => {
    const agents = [{}, { labels: { a: 'x' } }, { labels: { a: 'y', b: '1' } }, { labels: { c: 'z' } }].map((a) => agentSelectorTerms(a));
    const reqs = parseSelector('a!=x,!b,c notin (y,z)');
    const excluded = excludedTermsOnly(reqs)!;
    const holding = agents.filter((t) => t.some((x) => excluded.includes(x))).length;
    expect(agents.length - holding).toBe(agents.filter((t) => evaluate({ selectorTerms: t }, selectorToTermsFilter(reqs))).length);
  });
});
