import * as semver from 'semver';
import type { PackageRef } from '../agents/agent-package-assignment';
import type { StoredPackageStatus } from '../agents/agent.schema';

/**
 * Which packages an agent should run and which version of each it is offered (issue 21). Pure:
 * desired state names the packages (group, then the agent's own), the policy decides per package
 * from what the agent reports it runs. Forward-only: a version older (semantic-version order) than
 * the installed one is never offered unless the reference says `force`; the agent keeps what it
 * runs instead, and the refusal is shown in its status.
 */

/** A named package and where the name comes from (`group/NAME` or `agent`). */
export interface DesiredPackage extends PackageRef {
  origin: string;
}

/** What the agent should get for one package. */
export interface PackagePlanEntry {
  name: string;
  /** The version to offer: the desired one, or (refused downgrade) the one the agent runs. */
  version: string;
  /** install: offer `version` (an install, upgrade or forced downgrade); keep: offer what the agent runs, so it keeps it. */
  action: 'install' | 'keep';
  desired: DesiredPackage;
  /** The version the agent reports it runs, if any. */
  installedVersion?: string;
  /** The package hash the agent reports for what it runs (hex), if any. */
  installedHash?: string;
  /** Set on a forced downgrade (audited). */
  downgrade?: boolean;
  /** Why the desired version is not what is offered. */
  refusal?: string;
}

/**
 * The packages an agent should run: its group's, each overridden by the agent's own package of
 * the same name (and the agent's others added), in name order.
 */
export function mergePackages(group: { name: string; packages: readonly PackageRef[] } | undefined, own: readonly PackageRef[] | undefined): DesiredPackage[] {
  const out = new Map<string, DesiredPackage>();
  for (const p of group?.packages ?? []) out.set(p.name, { ...p, origin: `group/${group!.name}` });
  for (const p of own ?? []) out.set(p.name, { ...p, origin: 'agent' });
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A group's packages with other versions in place of those of the same name, in the group's
 * order, the others after (a rollout's versions over its group's).
 */
export function withPackageVersions(group: readonly PackageRef[], versions: readonly PackageRef[]): PackageRef[] {
  const out = new Map(group.map((p) => [p.name, { ...p }]));
  for (const p of versions) out.set(p.name, { ...p });
  return [...out.values()];
}

/**
 * True when `a` is an older version than `b` in semantic-version order. Versions that are not
 * semver themselves (`v1.2`, `1.2`) are read as the nearest semver (`1.2.0`); one with no number
 * at all is never "older".
 */
export function isOlderVersion(a: string, b: string): boolean {
  const x = asSemver(a);
  const y = asSemver(b);
  return !!x && !!y && semver.lt(x, y, { loose: true });
}

function asSemver(v: string): string | undefined {
  return semver.valid(v, { loose: true }) ?? semver.coerce(v, { includePrerelease: true })?.version ?? undefined;
}

/** The version of each desired package to offer, given what the agent reports it runs. */
export function planPackages(desired: readonly DesiredPackage[], reported: readonly StoredPackageStatus[] | undefined): PackagePlanEntry[] {
  const runs = new Map((reported ?? []).filter((s) => s.agentHasVersion).map((s) => [s.name, s]));
  return desired.map((d): PackagePlanEntry => {
    const has = runs.get(d.name);
    const installed = has ? { installedVersion: has.agentHasVersion, installedHash: has.agentHasHash || undefined } : {};
    if (!has || !isOlderVersion(d.version, has.agentHasVersion)) return { name: d.name, version: d.version, action: 'install', desired: d, ...installed };
    if (d.force) return { name: d.name, version: d.version, action: 'install', desired: d, ...installed, downgrade: true };
    return {
      name: d.name,
      version: has.agentHasVersion,
      action: 'keep',
      desired: d,
      ...installed,
      refusal: `${d.version} is older than the installed ${has.agentHasVersion}: not offered (forward-only; set force: true to downgrade)`,
    };
  });
}
