import type { StoredPackageStatus, StoredPackageStatuses } from '../agents/agent.schema';
import { AgentCapabilities as Cap } from '../gen/opamp/v1/opamp_pb';
import { decidePackages, PackageDeliveryFacts, PackagesOffer } from './delivery-policy';

// Packages are hash-gated like configs (server-behaviour.md, "Packages"); a failed install does not loop.

const caps = (...c: Cap[]) => c.reduce((v, x) => v | BigInt(x), 0n);
const ACCEPTS = Cap.AgentCapabilities_AcceptsPackages;
const REPORTS = Cap.AgentCapabilities_ReportsPackageStatuses;
const NOW = new Date('2026-12-02T12:00:00Z');
const OFFER_HASH = 'cc'.repeat(32);
const PKG_HASH = 'dd'.repeat(32);

const offer: PackagesOffer = {
  packages: [{ name: 'otelcol', version: '1.1.0', type: 'top-level', hash: Buffer.from(PKG_HASH, 'hex'), hashHex: PKG_HASH }],
  hash: Buffer.from(OFFER_HASH, 'hex'),
  hashHex: OFFER_HASH,
  origin: 'group/edge',
  refused: [],
};
const status = (s: Partial<StoredPackageStatus>): StoredPackageStatus => ({
  name: 'otelcol',
  agentHasVersion: '',
  agentHasHash: '',
  serverOfferedVersion: '1.1.0',
  serverOfferedHash: PKG_HASH,
  status: 'INSTALLED',
  errorMessage: '',
  ...s,
});
const reported = (allHash: string, ...packages: StoredPackageStatus[]): StoredPackageStatuses => ({
  packages,
  serverProvidedAllPackagesHash: allHash,
  errorMessage: '',
});
const facts = (f: Partial<PackageDeliveryFacts>): PackageDeliveryFacts => ({ capabilities: caps(ACCEPTS, REPORTS), offer, now: NOW, ...f });

describe('packages delivery policy', () => {
  it('offers only to agents that accept packages, and records why not otherwise', () => {
    const d = decidePackages(facts({ capabilities: caps(REPORTS) }));
    expect(d.send).toBeUndefined();
    expect(d.tracking).toMatchObject({ state: 'unsupported', desiredHash: OFFER_HASH });
    expect(decidePackages(facts({})).send).toBe(offer);
  });

  it('is not resent while the agent reports the same all_packages_hash or after this session sent it', () => {
    expect(decidePackages(facts({ reported: reported(OFFER_HASH, status({ status: 'DOWNLOADING' })) })).send).toBeUndefined();
    expect(decidePackages(facts({ sentThisSession: OFFER_HASH })).send).toBeUndefined();
    // Another offer (a changed desired set) goes out although the agent reports the old one.
    expect(decidePackages(facts({ reported: reported('ee'.repeat(32), status({ agentHasVersion: '1.0.0' })) })).send).toBe(offer);
  });

  it('without package statuses, is gated by the hash ever sent', () => {
    const capabilities = caps(ACCEPTS);
    expect(decidePackages(facts({ capabilities })).send).toBe(offer);
    expect(decidePackages(facts({ capabilities, tracking: { state: 'offered', desiredHash: OFFER_HASH, lastSentHash: OFFER_HASH } })).send).toBeUndefined();
  });

  it('follows the agent: offered, installing, installed', () => {
    expect(decidePackages(facts({})).tracking).toMatchObject({ state: 'offered', lastSentHash: OFFER_HASH, lastSentAt: NOW });
    const installing = reported(OFFER_HASH, status({ status: 'DOWNLOADING', downloadPercent: 40 }));
    expect(decidePackages(facts({ reported: installing })).tracking).toMatchObject({ state: 'installing' });
    const installed = reported(OFFER_HASH, status({ agentHasVersion: '1.1.0', agentHasHash: PKG_HASH }));
    expect(decidePackages(facts({ reported: installed })).tracking).toMatchObject({ state: 'installed' });
  });

  it('remembers a failed install and never resends that offer, also in a later session; a new offer goes out', () => {
    const failed = reported(OFFER_HASH, status({ status: 'INSTALL_FAILED', errorMessage: 'content hash mismatch' }));
    const first = decidePackages(facts({ reported: failed }));
    expect(first.send).toBeUndefined();
    expect(first.tracking).toMatchObject({ state: 'failed', failedHashes: [OFFER_HASH], error: 'otelcol: content hash mismatch' });
    // A new session, the agent reporting nothing yet: still not sent.
    const later = decidePackages(facts({ tracking: first.tracking }));
    expect(later.send).toBeUndefined();
    expect(later.tracking).toBeUndefined();
    const next: PackagesOffer = { ...offer, hash: Buffer.from('ff'.repeat(32), 'hex'), hashHex: 'ff'.repeat(32) };
    expect(decidePackages(facts({ offer: next, tracking: first.tracking, reported: failed })).send).toBe(next);
  });

  it('does not count an old failure, left from an earlier offer of another package hash, against this offer', () => {
    const old = reported(OFFER_HASH, status({ status: 'INSTALL_FAILED', serverOfferedHash: '01'.repeat(32) }));
    expect(decidePackages(facts({ reported: old })).tracking).toMatchObject({ state: 'installing', failedHashes: undefined });
  });

  it('never sends an empty offer, and drops tracking when nothing is named any more', () => {
    const empty: PackagesOffer = { ...offer, packages: [], refused: [{ name: 'x', version: '1.0.0', reason: 'not catalogued' }] };
    const d = decidePackages(facts({ offer: empty }));
    expect(d.send).toBeUndefined();
    expect(d.tracking).toMatchObject({ state: 'pending', refused: [{ name: 'x' }] });
    expect(decidePackages(facts({ offer: undefined, tracking: { state: 'installed' } })).tracking).toBeNull();
    expect(decidePackages(facts({ offer: undefined })).tracking).toBeUndefined();
  });
});
