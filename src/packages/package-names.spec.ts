import { compareVersions, fileNameProblem, parsePackageId, parsePlatform } from './package-names';

describe('package names', () => {
  it('splits NAME@VERSION and refuses what is not one', () => {
    expect(parsePackageId('otelcol-contrib@0.149.0')).toEqual({ name: 'otelcol-contrib', version: '0.149.0' });
    expect(parsePackageId('agent@1.0.0-rc.1+build.5')).toEqual({ name: 'agent', version: '1.0.0-rc.1+build.5' });
    for (const bad of ['otelcol', 'otelcol@', '@1.0', 'Otelcol@1.0', 'a@1/2', 'a@1@2', 'a@.1', 'a@1 0', `a@${'1'.repeat(65)}`]) {
      expect({ bad, parsed: parsePackageId(bad) }).toEqual({ bad, parsed: undefined });
    }
  });

  it('refuses file names that could leave their place, saying why', () => {
    expect(fileNameProblem('otelcol_0.149.0_linux_amd64.tar.gz')).toBeUndefined();
    expect(fileNameProblem('../x')).toMatch(/path separator/);
    expect(fileNameProblem('/abs')).toMatch(/path separator/);
    expect(fileNameProblem('a\\b')).toMatch(/path separator/);
    expect(fileNameProblem('nul\0')).toMatch(/NUL/);
    expect(fileNameProblem('..')).toMatch(/relative path component/);
    expect(fileNameProblem('.')).toMatch(/relative path component/);
    expect(fileNameProblem('.hidden')).toMatch(/not starting with "."/);
    expect(fileNameProblem('')).toBeDefined();
    expect(fileNameProblem('a b')).toBeDefined();
    expect(fileNameProblem('x'.repeat(256))).toBeDefined();
  });

  it('orders versions as semantic versions', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.1', '1.2.0-alpha', '1.2.0-alpha.10', '1.2.0-alpha.2', '0.9.9', '2.0.0', '1.2'].sort(compareVersions);
    expect(sorted).toEqual(['0.9.9', '1.2', '1.2.0-alpha', '1.2.0-alpha.2', '1.2.0-alpha.10', '1.2.0-rc.1', '1.2.0', '1.10.0', '2.0.0']);
    expect(compareVersions('v1.0.0', '1.0.0')).toBe(0);
    expect(compareVersions('1.0.0+a', '1.0.0+b')).toBeLessThan(0);
  });

  it('reads a platform as os and arch', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', arch: 'amd64' });
    expect(parsePlatform('darwin')).toEqual({ os: 'darwin' });
    expect(parsePlatform(undefined)).toEqual({});
  });
});
