import type { StoredPackageStatus } from '../agents/agent.schema';
import type { PackageRef } from '../agents/agent-package-assignment';
import { packageHash } from '../protocol/package-hash';
import type { AgentObservation } from './gate-evaluator';
import type { PackageStageCounts, PackageTarget } from './rollout.schema';

/**
 * How a rollout of packages judges an agent (issue 19/21), with no I/O: from the package
 * statuses it reports, whether it runs every target version (INSTALLED, with a package hash of
 * that version), failed one (INSTALL_FAILED for the version offered), works on one, or has not
 * begun. The driver makes the targets once, when the rollout starts, from the catalogue.
 */

export type PackageState = 'installed' | 'installing' | 'failed' | 'pending';

/** What the rollout sees of one agent's packages: the worst of its targets, and why when one failed. */
export interface PackageObservation {
  state: PackageState;
  /** `NAME VERSION: the agent's error`, for the first target that failed. */
  error?: string;
}

/** The target of `name@version`: the package hashes an agent reports when it runs one of the version's files. */
export function packageTarget(name: string, version: string, fileHashesHex: readonly string[]): PackageTarget {
  return {
    name,
    version,
    hashes: fileHashesHex.map((h) => packageHash({ name, version, contentHash: Buffer.from(h, 'hex') }).toString('hex')),
  };
}

const RANK: Record<PackageState, number> = { failed: 3, pending: 2, installing: 1, installed: 0 };

/** One target on one agent. */
function stateOf(t: PackageTarget, s: StoredPackageStatus | undefined): PackageObservation {
  if (!s) return { state: 'pending' };
  const runs = s.agentHasVersion === t.version && (t.hashes.length === 0 || t.hashes.includes(s.agentHasHash));
  if (runs && s.status === 'INSTALLED') return { state: 'installed' };
  const working = s.serverOfferedVersion === t.version || t.hashes.includes(s.serverOfferedHash);
  if (!working) return { state: 'pending' };
  if (s.status === 'INSTALL_FAILED') return { state: 'failed', error: `${t.name} ${t.version}: ${s.errorMessage || 'reported INSTALL_FAILED'}` };
  if (s.status === 'DOWNLOADING' || s.status === 'INSTALLING' || s.status === 'INSTALL_PENDING') return { state: 'installing' };
  return { state: 'pending' };
}

/** Every target on one agent: the worst state among them (failed, then pending, installing, installed). */
export function observePackages(targets: readonly PackageTarget[], reported: readonly StoredPackageStatus[] | undefined): PackageObservation {
  const byName = new Map((reported ?? []).map((s) => [s.name, s]));
  let worst: PackageObservation = { state: 'installed' };
  for (const t of targets) {
    const o = stateOf(t, byName.get(t.name));
    if (RANK[o.state] > RANK[worst.state]) worst = o;
  }
  return worst;
}

/**
 * The rollout's view of an agent from its config state, its package state and its connection
 * settings state (each may be absent: not moved): the worst of them.
 */
export function combinedState(
  config: AgentObservation['state'] | undefined,
  packages: PackageState | undefined,
  settings?: AgentObservation['state'],
): AgentObservation['state'] {
  const pkg: AgentObservation['state'] | undefined =
    packages === undefined ? undefined : packages === 'installed' ? 'applied' : packages === 'installing' ? 'applying' : packages;
  const states = [config, pkg, settings].filter((s): s is AgentObservation['state'] => s !== undefined);
  if (states.includes('failed')) return 'failed';
  if (states.includes('pending')) return 'pending';
  if (states.includes('applying')) return 'applying';
  return 'applied';
}

/** A stage's package counts; agents that ran out of time count as failed. */
export function packageCounts(states: readonly PackageState[], timedOut: boolean): PackageStageCounts {
  const out: PackageStageCounts = { installed: 0, installing: 0, failed: 0, pending: 0 };
  for (const s of states) out[timedOut && s !== 'installed' ? 'failed' : s]++;
  return out;
}

/** `otelcol 1.1.0, addon 0.2.0`. */
export function packagesText(refs: readonly PackageRef[]): string {
  return refs.map((p) => `${p.name} ${p.version}`).join(', ');
}
