import { InvalidError } from '../common/domain-errors';
import { parseRolloutStages, stagesToApi } from './rollout-stages';

const fields = (raw: unknown): string[] => {
  try {
    parseRolloutStages(raw);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidError);
    return ((e as InvalidError).details?.errors as { field: string }[]).map((x) => x.field);
  }
};

describe('rollout stages as the API takes them', () => {
  it.each([
    [['1', '25%', '100%'], { stages: [{ count: 1 }, { percent: 25 }, { percent: 100 }] }],
    [[2, '100%'], { stages: [{ count: 2 }, { percent: 100 }] }],
    [
      [
        { stage: '10%', bakeSeconds: 30 },
        { stage: '100%', approval: true },
      ],
      {
        stages: [
          { percent: 10, bakeSeconds: 30 },
          { percent: 100, approval: true },
        ],
      },
    ],
    [{ initial: 3, multiplier: 5 }, { geometric: { initial: 3, multiplier: 5 } }],
  ])('%j', (raw, stored) => {
    expect(parseRolloutStages(raw)).toEqual(stored);
  });

  it('a selector stage keeps the selector as written and its parsed requirements', () => {
    const { stages } = parseRolloutStages([{ selector: 'ring=canary' }, '100%']);
    expect(stages?.[0]).toMatchObject({ selector: { text: 'ring=canary' }, requirements: [{ key: 'ring' }] });
  });

  it.each([
    [undefined, ['spec.stages']],
    [[], ['spec.stages']],
    [['0'], ['spec.stages[0]']],
    [
      ['1', '150%', 'many'],
      ['spec.stages[1]', 'spec.stages[2]'],
    ],
    [[{ stage: '5', colour: 'red', bakeSeconds: -1, approval: 'yes' }], ['spec.stages[0].colour', 'spec.stages[0].bakeSeconds', 'spec.stages[0].approval']],
    [[{ bakeSeconds: 5 }], ['spec.stages[0].stage']],
    [[{ selector: 'a in (' }], ['spec.stages[0].selector']],
    [{ initial: 0, multiplier: 1 }, ['spec.stages.initial', 'spec.stages.multiplier']],
    [Array.from({ length: 21 }, () => '1'), ['spec.stages']],
  ])('%j is refused, naming %j', (raw, expected) => {
    expect(fields(raw)).toEqual(expected);
  });

  it('shows stages back as they were written', () => {
    const raw = ['1', { stage: '50%', bakeSeconds: 10 }, { stage: '100%', approval: true }];
    expect(stagesToApi(parseRolloutStages(raw), (s) => s)).toEqual(raw);
    expect(stagesToApi(parseRolloutStages({ initial: 2, multiplier: 4 }), (s) => s)).toEqual({ initial: 2, multiplier: 4 });
  });
});
