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

/** The package catalogue: every version (newest first within a package), what the fleet runs, and an upload form for operators. */
export function PackagesPage() {
  const { canWrite } = useSession();
  const list = useQuery({ queryKey: ['packages'], queryFn: () => api<ResourceList<AgentPackage>>('/packages', { query: { limit: PACKAGE_PAGE } }) });
  const fleet = useQuery({ queryKey: ['fleet-packages'], queryFn: () => api<{ items: FleetPackageCounts[] }>('/fleet/packages') });
  const versions = [...(list.data?.items ?? [])].sort((a, b) => a.spec.package.localeCompare(b.spec.package) || newestFirst(a.spec.version, b.spec.version));
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
                <th scope="col">Version</th>
                <th scope="col">Type</th>
                <th scope="col">Files</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Signed</th>
                <th scope="col">Agents running it</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((p) => {
                const runs = running.get(p.spec.package)?.versions.find((v) => v.version === p.spec.version)?.agents ?? 0;
                const first = p.spec.files[0];
                return (
                  <tr key={p.metadata.name}>
                    <th scope="row">
                      <Link to={`/packages/${encodeURIComponent(p.spec.package)}`}>{p.spec.package}</Link>
                    </th>
                    <td>{p.spec.version}</td>
                    <td>{p.spec.type}</td>
                    <td>{p.spec.files.map((f) => f.name).join(', ') || '—'}</td>
                    <td>{bytes(sizeOf(p))}</td>
                    <td>
                      {first ? (
                        <code title={first.sha256}>
                          {shortHash(first.sha256)}
                          {p.spec.files.length > 1 ? ' …' : ''}
                        </code>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>{signedText(p)}</td>
                    <td>{runs}</td>
                  </tr>
                );
              })}
              {versions.length === 0 && (
                <tr>
                  <td colSpan={8}>No packages yet.</td>
                </tr>
              )}
            </tbody>
          </table>
          {list.data.metadata.remainingItemCount > 0 && <p>{list.data.metadata.remainingItemCount} more versions are not shown.</p>}
        </div>
      )}
      <FleetOnly catalogued={new Set(versions.map((v) => v.spec.package))} fleet={fleet.data?.items ?? []} />
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
