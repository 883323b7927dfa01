import type { StoredPackageStatus } from '../agents/agent.schema';
import { packageHash } from '../protocol/package-hash';
import { combinedState, observePackages, packageCounts, packageTarget } from './package-progress';

const FILE = 'ab'.repeat(32);
const target = packageTarget('otelcol', '1.1.0', [FILE]);
const HASH = target.hashes[0];
const status = (over: Partial<StoredPackageStatus>): StoredPackageStatus => ({
  name: 'otelcol',
  agentHasVersion: '1.0.0',
  agentHasHash: 'old',
  serverOfferedVersion: '1.0.0',
  serverOfferedHash: 'old',
  status: 'INSTALLED',
  errorMessage: '',
  ...over,
});

describe('package progress of a rollout (pure)', () => {
  it('a target carries the package hash of each catalogued file, as offers make it', () => {
    expect(HASH).toBe(packageHash({ name: 'otelcol', version: '1.1.0', contentHash: Buffer.from(FILE, 'hex') }).toString('hex'));
  });

  it.each<[string, StoredPackageStatus[] | undefined, string, string | undefined]>([
    ['nothing reported', undefined, 'pending', undefined],
    ['runs the old version, not offered the new one yet', [status({})], 'pending', undefined],
    ['downloading the new one', [status({ serverOfferedVersion: '1.1.0', serverOfferedHash: HASH, status: 'DOWNLOADING' })], 'installing', undefined],
    ['installing the new one', [status({ serverOfferedVersion: '1.1.0', status: 'INSTALLING' })], 'installing', undefined],
    [
      'failed the new one',
      [status({ serverOfferedVersion: '1.1.0', serverOfferedHash: HASH, status: 'INSTALL_FAILED', errorMessage: 'hash mismatch' })],
      'failed',
      'otelcol 1.1.0: hash mismatch',
    ],
    ['failed the old one (not this rollout’s)', [status({ status: 'INSTALL_FAILED', errorMessage: 'x' })], 'pending', undefined],
    [
      'runs the new one',
      [status({ agentHasVersion: '1.1.0', agentHasHash: HASH, serverOfferedVersion: '1.1.0', serverOfferedHash: HASH })],
      'installed',
      undefined,
    ],
    [
      'runs the version under another hash (another file)',
      [status({ agentHasVersion: '1.1.0', agentHasHash: 'ff', serverOfferedVersion: '1.1.0' })],
      'pending',
      undefined,
    ],
  ])('%s → %s', (_what, reported, state, error) => {
    expect(observePackages([target], reported)).toEqual(error ? { state, error } : { state });
  });

  it('several targets: the worst of them (failed, pending, installing, installed)', () => {
    const addon = packageTarget('addon', '0.2.0', []);
    const runs = status({ agentHasVersion: '1.1.0', agentHasHash: HASH });
    expect(observePackages([target, addon], [runs]).state).toBe('pending');
    const addonInstalling = { ...status({ name: 'addon', serverOfferedVersion: '0.2.0', status: 'DOWNLOADING' }) };
    expect(observePackages([target, addon], [runs, addonInstalling]).state).toBe('installing');
    // A target without catalogued files is judged by version alone.
    expect(observePackages([target, addon], [runs, status({ name: 'addon', agentHasVersion: '0.2.0' })]).state).toBe('installed');
  });

  it.each<[Parameters<typeof combinedState>[0], Parameters<typeof combinedState>[1], string]>([
    [undefined, 'installed', 'applied'],
    [undefined, 'installing', 'applying'],
    ['applied', 'pending', 'pending'],
    ['applying', 'installed', 'applying'],
    ['applied', 'failed', 'failed'],
    ['failed', 'installed', 'failed'],
    ['applied', undefined, 'applied'],
  ])('config %s, packages %s → %s', (config, packages, state) => {
    expect(combinedState(config, packages)).toBe(state);
  });

  it('counts a stage; once out of time every agent not installed counts as failed', () => {
    expect(packageCounts(['installed', 'installing', 'pending', 'failed', 'installed'], false)).toEqual({ installed: 2, installing: 1, failed: 1, pending: 1 });
    expect(packageCounts(['installed', 'installing', 'pending'], true)).toEqual({ installed: 1, installing: 0, failed: 2, pending: 0 });
  });
});
