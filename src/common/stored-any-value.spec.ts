import { plainAttributes, plainOfStored, storedArray, storedDouble, storedKvlist } from './stored-any-value';

describe('stored AnyValue form', () => {
  it('reads arrays and key/value lists back as plain JSON, nested arrays included', () => {
    const stored = storedArray([
      storedArray(['a']),
      storedKvlist([
        { key: 'x.y', value: 1 },
        { key: '$z', value: storedArray([true]) },
      ]),
    ]);
    expect(plainOfStored(stored)).toEqual([['a'], { 'x.y': 1, $z: [true] }]);
  });

  it('never puts an array directly inside an array, nor a reported key in a field name', () => {
    const stored = storedArray([storedArray([storedArray([])]), storedKvlist([{ key: 'a.b', value: 'v' }])]);
    const walk = (v: unknown, insideArray: boolean): void => {
      if (Array.isArray(v)) {
        expect(insideArray).toBe(false);
        v.forEach((x) => walk(x, true));
      } else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          expect(k).not.toContain('.');
          walk(x, false);
        }
      }
    };
    walk(stored, false);
  });

  it('stores doubles that are not finite as text', () => {
    expect(storedDouble(1.5)).toBe(1.5);
    expect(plainOfStored(storedArray([storedDouble(Infinity), storedDouble(-Infinity), storedDouble(NaN)]))).toEqual(['Infinity', '-Infinity', 'NaN']);
  });

  it('reads values stored before the form existed as they are', () => {
    expect(plainOfStored(['a', 'b'])).toEqual(['a', 'b']);
    expect(plainOfStored({ k: 'v' })).toEqual({ k: 'v' });
    expect(plainOfStored('s')).toBe('s');
    expect(plainOfStored(null)).toBeNull();
  });

  it('keeps a key named __proto__ as a plain key', () => {
    const out = plainAttributes([{ key: '__proto__', value: storedKvlist([{ key: '__proto__', value: 1 }]) }]) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});
