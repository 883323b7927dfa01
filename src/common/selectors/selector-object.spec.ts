import { SelectorError } from './label-selector';
import { selectorRequirements } from './selector-object';

function errorOf(v: unknown): SelectorError {
  try {
    selectorRequirements(v, 'spec.selector');
  } catch (e) {
    if (e instanceof SelectorError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('selectorRequirements (object form)', () => {
  it('turns matchLabels and matchExpressions into the same requirements as the text form', () => {
    const fromObject = selectorRequirements({
      matchLabels: { 'service.name': 'checkout' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'staging'] },
        { key: 'zone', operator: 'NotIn', values: ['eu'] },
        { key: 'host.name', operator: 'Exists' },
        { key: 'debug', operator: 'DoesNotExist', values: [] },
      ],
    });
    expect(fromObject).toEqual(selectorRequirements('service.name=checkout,env in (prod,staging),zone notin (eu),host.name,!debug'));
  });

  it('selects everything when empty or absent', () => {
    expect(selectorRequirements({})).toEqual([]);
    expect(selectorRequirements(undefined)).toEqual([]);
  });

  it('names the offending part', () => {
    expect(errorOf({ matchLabel: {} })).toMatchObject({ field: 'spec.selector.matchLabel' });
    expect(errorOf({ matchLabels: { 'bad key': 'x' } })).toMatchObject({ field: 'spec.selector.matchLabels["bad key"]' });
    expect(errorOf({ matchLabels: { a: 1 } })).toMatchObject({ field: 'spec.selector.matchLabels["a"]' });
    expect(
      errorOf({
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['x'] },
          { key: 'b', operator: 'Equals', values: ['y'] },
        ],
      }),
    ).toMatchObject({
      field: 'spec.selector.matchExpressions[1].operator',
      message: 'spec.selector.matchExpressions[1].operator must be one of In, NotIn, Exists, DoesNotExist',
    });
    expect(errorOf({ matchExpressions: [{ key: 'a', operator: 'In' }] })).toMatchObject({ field: 'spec.selector.matchExpressions[0].values' });
    expect(errorOf({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })).toMatchObject({
      field: 'spec.selector.matchExpressions[0].values',
    });
    expect(errorOf({ matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] })).toMatchObject({ field: 'spec.selector.matchExpressions[0].values[0]' });
    expect(errorOf({ matchExpressions: [{ key: 'a', operator: 'Exists', extra: 1 }] })).toMatchObject({ field: 'spec.selector.matchExpressions[0].extra' });
    expect(errorOf({ matchExpressions: {} })).toMatchObject({ field: 'spec.selector.matchExpressions' });
    expect(errorOf(42)).toMatchObject({ field: 'spec.selector' });
    expect(errorOf('a in (b')).toMatchObject({ field: 'spec.selector', column: 8 });
  });
});
