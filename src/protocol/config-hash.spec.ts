import { configMapHash, stableHash } from './config-hash';

const e = (fileName: string, body: string, contentType = 'application/yaml') => ({ fileName, contentType, body: Buffer.from(body) });

describe('configMapHash', () => {
  it('does not depend on entry order', () => {
    expect(configMapHash([e('a', '1'), e('b', '2')])).toEqual(configMapHash([e('b', '2'), e('a', '1')]));
  });

  it('changes with any name, content type or body', () => {
    const base = configMapHash([e('a', '1')]);
    expect(configMapHash([e('a', '2')])).not.toEqual(base);
    expect(configMapHash([e('b', '1')])).not.toEqual(base);
    expect(configMapHash([e('a', '1', 'text/yaml')])).not.toEqual(base);
  });

  it('cannot be fooled by moving bytes between fields', () => {
    expect(configMapHash([e('ab', 'c')])).not.toEqual(configMapHash([e('a', 'bc')]));
    expect(configMapHash([e('a', 'x'), e('b', 'y')])).not.toEqual(configMapHash([e('a', 'xb'), e('', 'y')]));
  });

  it('is 32 bytes and differs for the empty map from any non-empty one', () => {
    expect(configMapHash([])).toHaveLength(32);
    expect(configMapHash([])).not.toEqual(configMapHash([e('', '')]));
  });
});

describe('stableHash', () => {
  it('ignores key order', () => {
    expect(stableHash({ a: 1, b: { c: 2, d: 3 } })).toEqual(stableHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(stableHash({ a: 1 })).not.toEqual(stableHash({ a: 2 }));
  });
});
