import { allPackagesHash, packageHash } from './package-hash';

const file = (c: string) => new Uint8Array(Buffer.from(c.repeat(64).slice(0, 64), 'hex'));

describe('package hashes (all_packages_hash, PackageAvailable.hash)', () => {
  const a = { name: 'otelcol', version: '1.2.0', contentHash: file('aa') };
  const b = { name: 'addon-x', version: '0.3.1', contentHash: file('bb') };

  it('is the same whatever order the packages are named in, and stable across calls', () => {
    expect(allPackagesHash([a, b]).equals(allPackagesHash([b, a]))).toBe(true);
    expect(allPackagesHash([a, b]).toString('hex')).toBe(allPackagesHash([{ ...a }, { ...b }]).toString('hex'));
    expect(allPackagesHash([a]).length).toBe(32);
  });

  it('changes with a name, a version or the bytes of a file', () => {
    const base = allPackagesHash([a, b]).toString('hex');
    expect(allPackagesHash([{ ...a, version: '1.2.1' }, b]).toString('hex')).not.toBe(base);
    expect(allPackagesHash([{ ...a, contentHash: file('ab') }, b]).toString('hex')).not.toBe(base);
    expect(allPackagesHash([{ ...a, name: 'otelcol2' }, b]).toString('hex')).not.toBe(base);
    expect(allPackagesHash([a]).toString('hex')).not.toBe(base);
    expect(packageHash(a).equals(packageHash({ ...a, version: '1.2.1' }))).toBe(false);
  });

  it('cannot be made to collide by moving text between fields', () => {
    expect(
      packageHash({ name: 'a', version: 'b1', contentHash: new Uint8Array() }).equals(packageHash({ name: 'ab', version: '1', contentHash: new Uint8Array() })),
    ).toBe(false);
    expect(allPackagesHash([]).equals(packageHash({ name: '', version: '', contentHash: new Uint8Array() }))).toBe(false);
  });
});
