import { Link } from 'react-router';
import { CountBars } from '../components/CountBars';
import { newestFirst } from '../format';
import type { AgentPackage, GroupPackageStatus, PackageRef } from '../types';

/** Per package the group offers: its agents on the offered version, behind, ahead, failed, installing, and per version run. */
export function GroupPackagesStatus({ packages }: { packages: GroupPackageStatus[] }) {
  return (
    <section aria-labelledby="h-group-packages">
      <h2 id="h-group-packages">Package offers</h2>
      {packages.map((p) => (
        <div key={p.name} className="group-package">
          <p data-testid={`group-package-${p.name}`}>
            <Link to={`/packages/${encodeURIComponent(p.name)}`}>{p.name}</Link> {p.version}: {p.current} current, {p.behind} behind, {p.ahead} ahead,{' '}
            {p.failed} failed, {p.installing} installing, {p.notReported} not reporting it.
          </p>
          {p.versions.length > 0 && (
            <CountBars
              label={`Agents of the group per version of ${p.name}`}
              head={['Version', 'Agents']}
              rows={[...p.versions]
                .sort((a, b) => newestFirst(a.version, b.version))
                .map((v) => ({
                  key: v.version,
                  label: v.version,
                  count: v.agents,
                  note: v.version === p.version ? <span className="badge ok">offered</span> : undefined,
                }))}
            />
          )}
        </div>
      ))}
    </section>
  );
}

/**
 * The packages the group names (spec.packages), as rows of package, version and force; saved with
 * the group. Viewers see them as text.
 */
export function GroupPackagesEditor({
  packages,
  onChange,
  catalogue,
  canWrite,
}: {
  packages: PackageRef[];
  onChange: (p: PackageRef[]) => void;
  catalogue: AgentPackage[];
  canWrite: boolean;
}) {
  if (!canWrite) return <p>Packages: {packages.length ? packages.map((p) => `${p.name} ${p.version}${p.force ? ' (forced)' : ''}`).join(', ') : 'none'}</p>;
  const names = [...new Set(catalogue.map((p) => p.spec.package))].sort();
  const versionsOf = (name: string) =>
    catalogue
      .filter((p) => p.spec.package === name)
      .map((p) => p.spec.version)
      .sort(newestFirst);
  const set = (i: number, change: Partial<PackageRef>) => onChange(packages.map((p, j) => (j === i ? { ...p, ...change } : p)));
  return (
    <fieldset className="package-rows">
      <legend>Packages</legend>
      {packages.length === 0 && <p className="hint">None: the group offers no packages.</p>}
      {packages.map((p, i) => {
        const versions = versionsOf(p.name);
        return (
          <div key={i} className="inline-form">
            <label>
              Package {i + 1}
              <select value={p.name} onChange={(e) => set(i, { name: e.target.value, version: versionsOf(e.target.value)[0] ?? '' })}>
                <option value="">(choose)</option>
                {[...new Set([...names, ...(p.name ? [p.name] : [])])].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Version of package {i + 1}
              <select value={p.version} onChange={(e) => set(i, { version: e.target.value })} disabled={!p.name}>
                {[...new Set([...versions, ...(p.version ? [p.version] : [])])].map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
            <label className="check">
              <input type="checkbox" checked={p.force ?? false} onChange={(e) => set(i, { force: e.target.checked || undefined })} />
              Force (allow a downgrade)
            </label>
            <button type="button" className="secondary" onClick={() => onChange(packages.filter((_, j) => j !== i))} aria-label={`Remove package ${i + 1}`}>
              Remove
            </button>
          </div>
        );
      })}
      <div>
        <button type="button" className="secondary" onClick={() => onChange([...packages, { name: '', version: '' }])} disabled={names.length === 0}>
          Add package
        </button>
        {names.length === 0 && <span className="hint"> The catalogue holds no packages yet.</span>}
      </div>
    </fieldset>
  );
}
