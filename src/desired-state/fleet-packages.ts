import { isOlderVersion } from './package-policy';

/** One package across the fleet: how many agents report it, run each version, are in each status. */
export interface FleetPackageCounts {
  name: string;
  agents: number;
  versions: { version: string; agents: number }[];
  statuses: Record<string, number>;
  latest?: string;
  behindLatest?: number;
}

/** A package term (see Agent.packageTerms) taken apart: `pkg:NAME`, `pkg:NAME@VERSION`, `pkg:NAME#STATUS`. */
export function parsePackageTerm(term: string): { name: string; version?: string; status?: string } | undefined {
  if (!term.startsWith('pkg:')) return undefined;
  const rest = term.slice(4);
  const at = rest.search(/[@#]/);
  if (at < 0) return { name: rest };
  const name = rest.slice(0, at);
  return rest[at] === '@' ? { name, version: rest.slice(at + 1) } : { name, status: rest.slice(at + 1) };
}

/**
 * The fleet's package counts from the counts of each term: versions newest first (semantic order),
 * and against the newest catalogued version (`latest`, per name) how many agents run something else.
 */
export function fleetPackageCounts(counts: ReadonlyMap<string, number>, latest: ReadonlyMap<string, string | undefined> = new Map()): FleetPackageCounts[] {
  const byName = new Map<string, FleetPackageCounts>();
  const of = (name: string) => {
    let p = byName.get(name);
    if (!p) byName.set(name, (p = { name, agents: 0, versions: [], statuses: {} }));
    return p;
  };
  for (const [term, n] of counts) {
    const t = parsePackageTerm(term);
    if (!t || n === 0) continue;
    const p = of(t.name);
    if (t.version !== undefined) p.versions.push({ version: t.version, agents: n });
    else if (t.status !== undefined) p.statuses[t.status] = n;
    else p.agents = n;
  }
  const out = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of out) {
    p.versions.sort((a, b) => (isOlderVersion(a.version, b.version) ? 1 : isOlderVersion(b.version, a.version) ? -1 : a.version < b.version ? -1 : 1));
    const newest = latest.get(p.name);
    if (newest) {
      p.latest = newest;
      p.behindLatest = Math.max(0, p.agents - (p.versions.find((v) => v.version === newest)?.agents ?? 0));
    }
  }
  return out;
}
