import { UsageError } from '../cli-errors';
import { mergePackages, packageRef } from './packages-command';

describe('update packages: references and merging', () => {
  it('reads NAME@VERSION, with force when asked; anything else is a usage error', () => {
    expect(packageRef('otelcol@1.2.0', false)).toEqual({ name: 'otelcol', version: '1.2.0' });
    expect(packageRef('otelcol-contrib@0.149.0-rc.1+b7', true)).toEqual({ name: 'otelcol-contrib', version: '0.149.0-rc.1+b7', force: true });
    for (const bad of ['otelcol', '@1.0.0', 'Otelcol@1', 'otelcol@', 'otelcol@1.0.0@2', '../x@1']) expect(() => packageRef(bad, false)).toThrow(UsageError);
  });

  it('replaces entries of the same name in place and appends new ones; others are kept', () => {
    const current = [
      { name: 'a', version: '1.0.0', force: true },
      { name: 'b', version: '2.0.0' },
    ];
    expect(
      mergePackages(current, [
        { name: 'a', version: '1.1.0' },
        { name: 'c', version: '3.0.0' },
      ]),
    ).toEqual([
      { name: 'a', version: '1.1.0' },
      { name: 'b', version: '2.0.0' },
      { name: 'c', version: '3.0.0' },
    ]);
    expect(mergePackages([], [{ name: 'a', version: '1.0.0' }])).toEqual([{ name: 'a', version: '1.0.0' }]);
  });
});
