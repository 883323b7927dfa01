import type { StoredPackageStatus } from '../agents/agent.schema';
import { isOlderVersion, mergePackages, planPackages, withPackageVersions } from './package-policy';

const runs = (name: string, version: string): StoredPackageStatus => ({
  name,
  agentHasVersion: version,
  agentHasHash: 'ab',
  serverOfferedVersion: '',
  serverOfferedHash: '',
  status: 'INSTALLED',
  errorMessage: '',
});

describe('package policy (forward-only offers)', () => {
  it('merges a group’s packages with the agent’s own, the agent’s winning by name', () => {
    const merged = mergePackages(
      {
        name: 'edge',
        packages: [
          { name: 'otelcol', version: '1.0.0' },
          { name: 'addon', version: '0.1.0' },
        ],
      },
      [
        { name: 'otelcol', version: '2.0.0', force: true },
        { name: 'extra', version: '3.0.0' },
      ],
    );
    expect(merged).toEqual([
      { name: 'addon', version: '0.1.0', origin: 'group/edge' },
      { name: 'extra', version: '3.0.0', origin: 'agent' },
      { name: 'otelcol', version: '2.0.0', force: true, origin: 'agent' },
    ]);
    expect(mergePackages(undefined, undefined)).toEqual([]);
  });

  it('orders versions semantically (1.10.0 is newer than 1.9.0; a pre-release is older than its release)', () => {
    expect(isOlderVersion('1.9.0', '1.10.0')).toBe(true);
    expect(isOlderVersion('1.10.0', '1.9.0')).toBe(false);
    expect(isOlderVersion('2.0.0-rc.1', '2.0.0')).toBe(true);
    expect(isOlderVersion('1.0.0', '1.0.0')).toBe(false);
    expect(isOlderVersion('1.0.0', 'nightly')).toBe(false);
    expect(isOlderVersion('v1.2', '1.10.0')).toBe(true);
  });

  it('offers a first install and an upgrade, and never a downgrade unless forced', () => {
    const d = (version: string, force?: boolean) => [{ name: 'otelcol', version, origin: 'group/edge', ...(force ? { force } : {}) }];
    expect(planPackages(d('1.0.0'), undefined)[0]).toMatchObject({ action: 'install', version: '1.0.0' });
    expect(planPackages(d('1.1.0'), [runs('otelcol', '1.0.0')])[0]).toMatchObject({ action: 'install', version: '1.1.0', installedVersion: '1.0.0' });
    const refused = planPackages(d('0.9.0'), [runs('otelcol', '1.0.0')])[0];
    expect(refused).toMatchObject({ action: 'keep', version: '1.0.0', installedHash: 'ab' });
    expect(refused.refusal).toMatch(/0\.9\.0 is older than the installed 1\.0\.0.*force/);
    expect(planPackages(d('0.9.0', true), [runs('otelcol', '1.0.0')])[0]).toMatchObject({ action: 'install', version: '0.9.0', downgrade: true });
    // The same version is no downgrade; another package's version is no reason.
    expect(planPackages(d('1.0.0'), [runs('otelcol', '1.0.0'), runs('addon', '9.0.0')])[0]).toMatchObject({ action: 'install', version: '1.0.0' });
  });
});

describe('withPackageVersions', () => {
  it('puts other versions in place of those of the same name, keeping the group’s order, the others after', () => {
    expect(
      withPackageVersions(
        [
          { name: 'otelcol', version: '1.0.0' },
          { name: 'addon', version: '0.1.0', force: true },
        ],
        [
          { name: 'addon', version: '0.2.0' },
          { name: 'extra', version: '3.0.0' },
        ],
      ),
    ).toEqual([
      { name: 'otelcol', version: '1.0.0' },
      { name: 'addon', version: '0.2.0' },
      { name: 'extra', version: '3.0.0' },
    ]);
  });
});
