import { fleetPackageCounts, parsePackageTerm } from './fleet-packages';

describe('fleet-wide package counts', () => {
  it('takes package terms apart', () => {
    expect(parsePackageTerm('pkg:otelcol')).toEqual({ name: 'otelcol' });
    expect(parsePackageTerm('pkg:otelcol@1.2.0-rc.1+b5')).toEqual({ name: 'otelcol', version: '1.2.0-rc.1+b5' });
    expect(parsePackageTerm('pkg:otelcol#INSTALL_FAILED')).toEqual({ name: 'otelcol', status: 'INSTALL_FAILED' });
    expect(parsePackageTerm('env=prod')).toBeUndefined();
  });

  it('counts agents per version (newest first) and status, and how many are behind the newest catalogued version', () => {
    const counts = new Map([
      ['pkg:otelcol', 10],
      ['pkg:otelcol@1.9.0', 3],
      ['pkg:otelcol@1.10.0', 6],
      ['pkg:otelcol#INSTALLED', 9],
      ['pkg:otelcol#INSTALL_FAILED', 1],
      ['pkg:addon', 2],
      ['pkg:addon@0.1.0', 2],
      ['pkg:gone@1.0.0', 0],
    ]);
    const [addon, otelcol] = fleetPackageCounts(counts, new Map([['otelcol', '1.10.0']]));
    expect(addon).toEqual({ name: 'addon', agents: 2, versions: [{ version: '0.1.0', agents: 2 }], statuses: {} });
    expect(otelcol).toEqual({
      name: 'otelcol',
      agents: 10,
      versions: [
        { version: '1.10.0', agents: 6 },
        { version: '1.9.0', agents: 3 },
      ],
      statuses: { INSTALLED: 9, INSTALL_FAILED: 1 },
      latest: '1.10.0',
      behindLatest: 4,
    });
  });
});

describe('package status names', () => {
  it('are stored in upper case with underscores, like config statuses', async () => {
    const { packageStatusName } = await import('../agents/agent-report.mapper');
    const { PackageStatusEnum } = await import('../gen/opamp/v1/opamp_pb');
    expect(packageStatusName(PackageStatusEnum.PackageStatusEnum_InstallFailed)).toBe('INSTALL_FAILED');
    expect(packageStatusName(PackageStatusEnum.PackageStatusEnum_Installed)).toBe('INSTALLED');
    expect(packageStatusName(PackageStatusEnum.PackageStatusEnum_Downloading)).toBe('DOWNLOADING');
    expect(packageStatusName(PackageStatusEnum.PackageStatusEnum_InstallPending)).toBe('INSTALL_PENDING');
  });
});
