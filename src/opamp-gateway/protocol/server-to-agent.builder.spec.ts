import { PackageType } from '../../gen/opamp/v1/opamp_pb';
import { buildPackagesAvailable, buildRemoteConfig, buildServerToAgent } from './server-to-agent.builder';
import { decodeServerToAgent, encodeServerToAgent } from './opamp-codec';

describe('the ServerToAgent builder: remote config', () => {
  const content = {
    hash: Buffer.from('ab'.repeat(32), 'hex'),
    entries: [
      { fileName: 'collector.yaml', contentType: 'application/yaml', body: Buffer.from('receivers: {}\n') },
      { fileName: '', contentType: '', body: Buffer.from('extensions: {}\n') },
    ],
  };

  it('carries the complete map and always its hash (opamp-go cannot report status without it)', () => {
    const msg = decodeServerToAgent(
      encodeServerToAgent(buildServerToAgent({ instanceUid: new Uint8Array(16), withCapabilities: false, remoteConfig: buildRemoteConfig(content) })),
    );
    expect(Buffer.from(msg.remoteConfig!.configHash).toString('hex')).toBe('ab'.repeat(32));
    const map = msg.remoteConfig!.config!.configMap;
    expect(Object.keys(map).sort()).toEqual(['', 'collector.yaml']);
    expect(Buffer.from(map['collector.yaml'].body).toString()).toBe('receivers: {}\n');
    expect(map['collector.yaml'].contentType).toBe('application/yaml');
    expect(Buffer.from(map[''].body).toString()).toBe('extensions: {}\n');
  });

  it('makes the message once per desired config, however many agents it goes to', () => {
    expect(buildRemoteConfig(content)).toBe(buildRemoteConfig(content));
  });
});

describe('the ServerToAgent builder: packages available', () => {
  const own = 'http://opamp.example.com:4320';
  const offer = {
    hash: Buffer.from('cd'.repeat(32), 'hex'),
    packages: [
      {
        name: 'otelcol',
        version: '1.1.0',
        type: 'top-level' as const,
        hash: Buffer.from('01'.repeat(32), 'hex'),
        file: {
          downloadUrl: `${own}/v1/packages/otelcol/1.1.0/otelcol.bin`,
          contentHash: Buffer.from('02'.repeat(32), 'hex'),
          signature: Buffer.from('sig'),
          headers: {},
        },
      },
      {
        name: 'addon',
        version: '0.2.0',
        type: 'addon' as const,
        hash: Buffer.from('03'.repeat(32), 'hex'),
        file: {
          downloadUrl: 'https://downloads.example.com/addon.zip',
          contentHash: Buffer.from('04'.repeat(32), 'hex'),
          signature: new Uint8Array(),
          headers: {},
        },
      },
      // A package the agent keeps, with no file of the catalogue: offered without a file.
      { name: 'kept', version: '3.0.0', type: 'top-level' as const, hash: Buffer.from('05'.repeat(32), 'hex') },
    ],
  };

  it('carries every package with its file, type, version and hash, and all_packages_hash; the agent’s credential only on this server’s files', () => {
    const built = buildPackagesAvailable(offer, { Authorization: 'Bearer tok' }, own);
    const msg = decodeServerToAgent(
      encodeServerToAgent(buildServerToAgent({ instanceUid: new Uint8Array(16), withCapabilities: false, packagesAvailable: built })),
    );
    const p = msg.packagesAvailable!;
    expect(Buffer.from(p.allPackagesHash).toString('hex')).toBe('cd'.repeat(32));
    expect(Object.keys(p.packages).sort()).toEqual(['addon', 'kept', 'otelcol']);
    const otelcol = p.packages.otelcol;
    expect(otelcol).toMatchObject({ type: PackageType.PackageType_TopLevel, version: '1.1.0' });
    expect(Buffer.from(otelcol.hash).toString('hex')).toBe('01'.repeat(32));
    expect(otelcol.file!.downloadUrl).toBe(`${own}/v1/packages/otelcol/1.1.0/otelcol.bin`);
    expect(Buffer.from(otelcol.file!.contentHash).toString('hex')).toBe('02'.repeat(32));
    expect(Buffer.from(otelcol.file!.signature).toString()).toBe('sig');
    expect(otelcol.file!.headers!.headers.map((h) => [h.key, h.value])).toEqual([['Authorization', 'Bearer tok']]);
    expect(p.packages.addon.type).toBe(PackageType.PackageType_Addon);
    expect(p.packages.addon.file!.headers).toBeUndefined();
    expect(p.packages.kept.file).toBeUndefined();
  });
});
