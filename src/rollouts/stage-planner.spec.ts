import { geometricStages, parseStage, planStages, rolloutFraction } from './stage-planner';

const uids = (n: number, prefix = 'agent') => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

describe('stage planner', () => {
  it.each([
    ['1 → 25% → 100% of 100', 100, ['1', '25%', '100%'], [1, 25, 100]],
    ['5% of 10 still reaches one agent', 10, ['5%', '100%'], [1, 10]],
    ['counts add up', 50, [2, 3, '100%'], [2, 5, 50]],
    ['a count beyond the fleet takes everyone', 3, [10], [3]],
    ['50% of 1', 1, ['50%', '100%'], [1, 1]],
    ['an empty target', 0, ['1', '100%'], [0, 0]],
  ])('%s', (_what, n, stages, sizes) => {
    const plan = planStages('r1', uids(n), (stages as (string | number)[]).map(parseStage));
    expect(plan.map((s) => s.length)).toEqual(sizes);
  });

  it('stages are cumulative: every agent of a stage is in the next', () => {
    const plan = planStages('r1', uids(200), ['1', '5%', '25%', '100%'].map(parseStage));
    for (let i = 1; i < plan.length; i++) expect(plan[i]).toEqual(expect.arrayContaining(plan[i - 1]));
  });

  it('a retried rollout picks the same canaries; another rollout picks others', () => {
    const first = planStages('checkout-v7', uids(500), [{ count: 3 }])[0];
    expect(planStages('checkout-v7', [...uids(500)].reverse(), [{ count: 3 }])[0]).toEqual(first);
    expect(planStages('checkout-v8', uids(500), [{ count: 3 }])[0]).not.toEqual(first);
  });

  it('an agent that joins later lands in the stage its place says, and nobody already reached is dropped', () => {
    const before = planStages('r', uids(1000), [{ percent: 10 }])[0];
    const joined = 'agent-late';
    const after = planStages('r', [...uids(1000), joined], [{ percent: 10 }])[0];
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after.includes(joined)).toBe(rolloutFraction('r', joined) < 0.1);
  });

  it('a per-stage selector picks its stage among the agents it admits first', () => {
    const canary = new Set(['agent-0007', 'agent-0042']);
    const plan = planStages('r', uids(100), [{ matches: (u) => canary.has(u) }, { percent: 50 }, { percent: 100 }]);
    expect(plan[0].sort()).toEqual([...canary].sort());
    expect(plan[1]).toEqual(expect.arrayContaining([...canary]));
    expect(plan[1].length).toBeGreaterThanOrEqual(50);
    expect(plan[2]).toHaveLength(100);
  });

  it('fractions spread evenly enough that 25% takes about a quarter of a large fleet', () => {
    const plan = planStages('spread', uids(4000), [{ percent: 25 }])[0];
    expect(plan.length).toBeGreaterThan(900);
    expect(plan.length).toBeLessThan(1100);
  });

  it.each([
    [3, 5, 100, [3, 15, 75, 'all']],
    [1, 2, 5, [1, 2, 4, 'all']],
    [10, 3, 5, ['all']],
  ])('geometric stages initial %i × %i over %i agents', (initial, multiplier, total, expected) => {
    expect(geometricStages(initial, multiplier, total).map((s) => (s.percent === 100 ? 'all' : s.count))).toEqual(expected);
  });

  it.each([['abc'], ['-1'], ['0%'], ['150%']])('refuses the stage %s', (text) => {
    expect(() => planStages('r', uids(5), [parseStage(text)])).toThrow(RangeError);
  });
});
