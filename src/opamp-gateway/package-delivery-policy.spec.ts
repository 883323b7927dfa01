import type { StoredPackageStatus, StoredPackageStatuses } from '../agents/agent.schema';
import { AgentCapabilities as Cap } from '../gen/opamp/v1/opamp_pb';
import { decidePackages, PackageDeliveryFacts, PackagesOffer, settledPackageStatuses } from './delivery-policy';

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

  it('an agent that has exactly the packages offered runs that offer: its stale report of a failed upgrade is settled', () => {
    const FAILED_OFFER = 'ef'.repeat(32);
    const UPGRADE = 'ab'.repeat(32);
    // opamp-go, offered back what it kept after a failed upgrade, reports nothing: its last report is of the upgrade.
    const stale = reported(
      FAILED_OFFER,
      status({
        agentHasVersion: '1.1.0',
        agentHasHash: PKG_HASH,
        serverOfferedVersion: '1.2.0',
        serverOfferedHash: UPGRADE,
        status: 'INSTALL_FAILED',
        errorMessage: 'hash mismatch',
      }),
    );
    const settled = settledPackageStatuses(stale, offer);
    expect(settled).toEqual(reported(OFFER_HASH, status({ agentHasVersion: '1.1.0', agentHasHash: PKG_HASH, status: 'INSTALLED' })));
    expect(decidePackages(facts({ reported: settled })).tracking).toMatchObject({ state: 'installed' });
    expect(decidePackages(facts({ reported: settled, sentThisSession: undefined })).send).toBeUndefined();
    // Read as said, it is never installed.
    expect(decidePackages(facts({ reported: stale, sentThisSession: OFFER_HASH })).tracking?.state).not.toBe('installed');
    // On the offer already, a kept INSTALL_FAILED of the package it has is settled too.
    expect(settledPackageStatuses({ ...stale, serverProvidedAllPackagesHash: OFFER_HASH }, offer)?.packages[0].status).toBe('INSTALLED');
  });

  it('settles nothing for an agent that does not have exactly the offer', () => {
    const failedUpgrade = status({ agentHasVersion: '1.0.0', agentHasHash: 'ab'.repeat(32), status: 'INSTALL_FAILED' });
    expect(settledPackageStatuses(reported(OFFER_HASH, failedUpgrade), offer)).toBeUndefined();
    expect(settledPackageStatuses(reported(OFFER_HASH, status({ status: 'INSTALL_FAILED' })), offer)).toBeUndefined();
    // It has the offered package and one more the offer would remove: not on the offer yet.
    const extra = status({ name: 'addon', agentHasVersion: '0.1.0', agentHasHash: 'ac'.repeat(32) });
    expect(settledPackageStatuses(reported('ef'.repeat(32), status({ agentHasVersion: '1.1.0', agentHasHash: PKG_HASH }), extra), offer)).toBeUndefined();
    // Still downloading another version: what it will run is not known yet.
    const downloading = status({
      agentHasVersion: '1.1.0',
      agentHasHash: PKG_HASH,
      serverOfferedVersion: '1.2.0',
      serverOfferedHash: 'ab'.repeat(32),
      status: 'DOWNLOADING',
    });
    expect(settledPackageStatuses(reported('ef'.repeat(32), downloading), offer)).toBeUndefined();
    // Already said right: nothing to write.
    expect(settledPackageStatuses(reported(OFFER_HASH, status({ agentHasVersion: '1.1.0', agentHasHash: PKG_HASH })), offer)).toBeUndefined();
    expect(settledPackageStatuses(undefined, offer)).toBeUndefined();
  });
});
