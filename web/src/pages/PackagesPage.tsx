import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { UploadPackageForm } from '../components/UploadPackageForm';
import { bytes, newestFirst, shortHash } from '../format';
import { useSession } from '../session';
import type { AgentPackage, FleetPackageCounts } from '../types';

/** Versions shown per page of the catalogue (the API's largest page). */
export const PACKAGE_PAGE = 1000;

/** Whether the files of a version are signed: all, some (how many) or none. */
export function signedText(p: AgentPackage): string {
  const files = p.status.files;
  const signed = files.filter((f) => f.signed).length;
  if (!files.length) return '—';
  const verified = files.filter((f) => f.signatureVerified).length;
  if (signed === 0) return 'no';
  const what = signed === files.length ? 'yes' : `${signed} of ${files.length}`;
  return verified === signed ? `${what} (verified)` : what;
}

export function sizeOf(p: AgentPackage): number | undefined {
  const sizes = p.spec.files.map((f) => f.size);
  return sizes.some((s) => s === undefined) ? undefined : sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
}

/** One package of the catalogue: its versions, newest first. */
interface CataloguedPackage {
  name: string;
  type: string;
  versions: AgentPackage[];
}

/** The catalogue's versions grouped by package (names in order, versions newest first). */
export function byPackage(items: AgentPackage[]): CataloguedPackage[] {
  const packages = new Map<string, CataloguedPackage>();
  for (const p of items) {
    const entry = packages.get(p.spec.package) ?? { name: p.spec.package, type: p.spec.type, versions: [] };
    entry.versions.push(p);
    packages.set(p.spec.package, entry);
  }
  const list = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const p of list) p.versions.sort((a, b) => newestFirst(a.spec.version, b.spec.version));
  return list;
}

/**
 * The package catalogue: one row per package with its versions and how many agents run each
 * (from the fleet's indexed counts), and an upload form for operators.
 */
export function PackagesPage() {
  const { canWrite } = useSession();
  const list = useQuery({ queryKey: ['packages'], queryFn: () => api<ResourceList<AgentPackage>>('/packages', { query: { limit: PACKAGE_PAGE } }) });
  const fleet = useQuery({ queryKey: ['fleet-packages'], queryFn: () => api<{ items: FleetPackageCounts[] }>('/fleet/packages') });
  const packages = byPackage(list.data?.items ?? []);
  const running = new Map((fleet.data?.items ?? []).map((f) => [f.name, f]));
  return (
    <>
      <h1>Packages</h1>
      <ProblemMessage error={list.error ?? fleet.error} />
      {list.data && (
        <div className="table-wrap">
          <table aria-label="Packages">
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Type</th>
                <th scope="col">Versions</th>
                <th scope="col">Newest</th>
                <th scope="col">Agents reporting it</th>
                <th scope="col">Agents per version</th>
              </tr>
            </thead>
            <tbody>
              {packages.map((p) => {
                const f = running.get(p.name);
                const agentsOn = (v: string) => f?.versions.find((x) => x.version === v)?.agents ?? 0;
                const newest = p.versions[0];
                return (
                  <tr key={p.name}>
                    <th scope="row">
                      <Link to={`/packages/${encodeURIComponent(p.name)}`}>{p.name}</Link>
                    </th>
                    <td>{p.type}</td>
                    <td data-testid={`versions-${p.name}`}>{p.versions.length}</td>
                    <td>
                      {newest.spec.version}{' '}
                      <span className="hint-inline">
                        ({bytes(sizeOf(newest))}, signed: {signedText(newest)}
                        {newest.spec.files[0] ? (
                          <>
                            , SHA-256 <code title={newest.spec.files[0].sha256}>{shortHash(newest.spec.files[0].sha256)}</code>
                          </>
                        ) : null}
                        )
                      </span>
                    </td>
                    <td data-testid={`agents-${p.name}`}>{f?.agents ?? 0}</td>
                    <td data-testid={`per-version-${p.name}`}>{p.versions.map((v) => `${v.spec.version}: ${agentsOn(v.spec.version)}`).join(' · ')}</td>
                  </tr>
                );
              })}
              {packages.length === 0 && (
                <tr>
                  <td colSpan={6}>No packages yet.</td>
                </tr>
              )}
            </tbody>
          </table>
          {list.data.metadata.remainingItemCount > 0 && <p>{list.data.metadata.remainingItemCount} more versions are not shown.</p>}
        </div>
      )}
      <FleetOnly catalogued={new Set(packages.map((p) => p.name))} fleet={fleet.data?.items ?? []} />
      {canWrite && <UploadPackageForm />}
    </>
  );
}

/** Packages agents report that the catalogue does not hold (installed by other means): they have a page too. */
function FleetOnly({ catalogued, fleet }: { catalogued: Set<string>; fleet: FleetPackageCounts[] }) {
  const others = fleet.filter((f) => !catalogued.has(f.name));
  if (!others.length) return null;
  return (
    <section aria-labelledby="h-uncatalogued">
      <h2 id="h-uncatalogued">Reported by agents, not in the catalogue</h2>
      <ul>
        {others.map((f) => (
          <li key={f.name}>
            <Link to={`/packages/${encodeURIComponent(f.name)}`}>{f.name}</Link>: {f.agents} agents
          </li>
        ))}
      </ul>
    </section>
  );
}
