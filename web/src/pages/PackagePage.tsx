import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, ApiError, type ResourceList } from '../api';
import { CountBars } from '../components/CountBars';
import { ProblemMessage } from '../components/ProblemMessage';
import { UploadPackageForm } from '../components/UploadPackageForm';
import { attr, bytes, newestFirst, shortHash, when } from '../format';
import { useSession } from '../session';
import type { Agent, AgentPackage, FleetPackageCounts } from '../types';
import { PACKAGE_PAGE } from './PackagesPage';

/** One package: its catalogued versions and files, what the fleet runs of it, upload of a new version and delete. */
export function PackagePage() {
  const { name = '' } = useParams();
  const { canWrite } = useSession();
  const versions = useQuery({
    queryKey: ['packages', name],
    queryFn: () => api<ResourceList<AgentPackage>>('/packages', { query: { package: name, limit: PACKAGE_PAGE } }),
  });
  const items = [...(versions.data?.items ?? [])].sort((a, b) => newestFirst(a.spec.version, b.spec.version));
  return (
    <>
      <p>
        <Link to="/packages">Packages</Link> /
      </p>
      <h1>Package {name}</h1>
      <FleetView name={name} />
      <section aria-labelledby="h-versions">
        <h2 id="h-versions">Versions</h2>
        <ProblemMessage error={versions.error} />
        {versions.data && items.length === 0 && <p>The catalogue holds no version of {name}.</p>}
        {items.map((p) => (
          <VersionCard key={p.metadata.name} p={p} canDelete={canWrite} />
        ))}
      </section>
      {canWrite && <UploadPackageForm key={name} fixedName={name} />}
    </>
  );
}

/** Across the fleet: agents per version (newest first) and per status; how many are behind the newest catalogued version. */
function FleetView({ name }: { name: string }) {
  const q = useQuery({
    queryKey: ['fleet-packages', name],
    queryFn: () => api<{ status: FleetPackageCounts }>(`/fleet/packages/${encodeURIComponent(name)}`),
  });
  const notFound = q.error instanceof ApiError && q.error.status === 404;
  const s = q.data?.status;
  return (
    <section aria-labelledby="h-fleet">
      <h2 id="h-fleet">Across the fleet</h2>
      {notFound ? <p>No agent reports {name}.</p> : <ProblemMessage error={q.error} />}
      {s && (
        <>
          <p data-testid="fleet-package-summary">
            {s.agents} {s.agents === 1 ? 'agent reports' : 'agents report'} {name}
            {s.latest !== undefined ? `; newest catalogued version ${s.latest}, ${s.behindLatest ?? 0} not running it` : ''}.
          </p>
          {s.versions.length > 0 ? (
            <CountBars
              label={`Agents per version of ${name}`}
              head={['Version', 'Agents']}
              total={s.agents}
              rows={[...s.versions]
                .sort((a, b) => newestFirst(a.version, b.version))
                .map((v) => ({
                  key: v.version,
                  label: v.version,
                  count: v.agents,
                  note: v.version === s.latest ? <span className="badge ok">newest</span> : undefined,
                }))}
            />
          ) : (
            <p>No agent reports a version of it.</p>
          )}
          {Object.keys(s.statuses).length > 0 && (
            <CountBars
              label={`Agents per status of ${name}`}
              head={['Status', 'Agents']}
              total={s.agents}
              rows={Object.entries(s.statuses)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([status, n]) => ({ key: status, label: status, count: n }))}
            />
          )}
          {[...s.versions]
            .sort((a, b) => newestFirst(a.version, b.version))
            .map((v) => (
              <VersionAgents key={v.version} name={name} version={v.version} count={v.agents} />
            ))}
        </>
      )}
    </section>
  );
}

/** Agents shown per version in the fleet view; the rest are a link to the filtered agents list away. */
const AGENTS_PER_VERSION = 20;

/** Which agents run one version of the package (GET /agents?package=NAME@VERSION, its first page). */
function VersionAgents({ name, version, count }: { name: string; version: string; count: number }) {
  const filter = `${name}@${version}`;
  const q = useQuery({
    queryKey: ['agents', { package: filter, limit: AGENTS_PER_VERSION }],
    queryFn: () => api<ResourceList<Agent>>('/agents', { query: { package: filter, limit: AGENTS_PER_VERSION } }),
  });
  const items = q.data?.items ?? [];
  const more = q.data?.metadata.remainingItemCount ?? 0;
  return (
    <section className="version-agents" aria-labelledby={`h-run-${filter}`}>
      <h3 id={`h-run-${filter}`}>
        Agents running {version} ({count})
      </h3>
      <ProblemMessage error={q.error} />
      {q.data && items.length === 0 && <p>None now.</p>}
      {items.length > 0 && (
        <ul className="agent-links" aria-label={`Agents running ${name} ${version}`}>
          {items.map((a) => (
            <li key={a.metadata.name}>
              <Link to={`/agents/${a.metadata.name}`}>{a.metadata.name}</Link> {attr(a.status.description?.identifyingAttributes, 'service.name')}
              {a.status.connected ? '' : ' (disconnected)'}
            </li>
          ))}
        </ul>
      )}
      {more > 0 && (
        <p>
          <Link to={`/agents?package=${encodeURIComponent(filter)}`}>All {items.length + more} agents running it</Link>
        </p>
      )}
    </section>
  );
}

/** One version with its files; operators may delete it (soft: never offered again, its name never reused). */
function VersionCard({ p, canDelete }: { p: AgentPackage; canDelete: boolean }) {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => api<AgentPackage>(`/packages/${encodeURIComponent(p.metadata.name)}`, { method: 'DELETE' }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['packages'] });
      await client.invalidateQueries({ queryKey: ['fleet-packages'] });
    },
  });
  const files = p.spec.files.map((f, i) => ({ ...f, ...p.status.files[i] }));
  return (
    <section className="version" aria-labelledby={`h-v-${p.metadata.name}`}>
      <div className="title-row">
        <h3 id={`h-v-${p.metadata.name}`}>
          {p.spec.version} <span className="uid">{p.spec.type}</span>
        </h3>
        {canDelete && (
          <div className="row-actions">
            {confirming ? (
              <>
                <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
                  Confirm delete of {p.metadata.name}
                </button>
                <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                  Keep it
                </button>
              </>
            ) : (
              <button type="button" className="danger" onClick={() => setConfirming(true)} aria-label={`Delete ${p.metadata.name}`}>
                Delete
              </button>
            )}
          </div>
        )}
      </div>
      {p.spec.description && <p>{p.spec.description}</p>}
      <p className="hint">Added {when(p.metadata.createdAt)}.</p>
      <ProblemMessage error={remove.error} />
      <div className="table-wrap">
        <table aria-label={`Files of ${p.metadata.name}`}>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Platform</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
              <th scope="col">Signature</th>
              <th scope="col">Where</th>
            </tr>
          </thead>
          <tbody>
            {files.map((f) => (
              <tr key={f.name}>
                <th scope="row">
                  <code>{f.name}</code>
                </th>
                <td>{f.platform ?? 'any'}</td>
                <td>{bytes(f.size)}</td>
                <td>
                  <code title={f.sha256}>{shortHash(f.sha256)}</code>
                </td>
                <td>{f.signed ? (f.signatureVerified ? 'signed, verified' : 'signed, not verified') : 'none'}</td>
                <td>{f.stored ? 'stored on the server' : f.url ? <code className="uid">{f.url}</code> : '—'}</td>
              </tr>
            ))}
            {files.length === 0 && (
              <tr>
                <td colSpan={6}>No files yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
