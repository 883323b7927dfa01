import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, apiText, type ResourceList } from '../api';
import { DiffView } from '../components/DiffView';
import { SideBySideDiff } from '../components/SideBySideDiff';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';
import { useSession } from '../session';
import type { RemoteConfig } from '../types';

interface Revision {
  metadata: { revision: number; hash: string; author?: string; message?: string; createdAt?: string };
  spec?: { contentType: string; body?: string };
}

/** A config's revisions, newest first: compare any two, roll back to one. */
export function ConfigHistory({ config }: { config: RemoteConfig }) {
  const { canWrite } = useSession();
  const client = useQueryClient();
  const name = config.metadata.name;
  const latest = config.status.latestRevision;
  const revisions = useQuery({
    queryKey: ['revisions', name, latest],
    queryFn: () => api<ResourceList<Revision>>(`/remoteconfigs/${encodeURIComponent(name)}/revisions`, { query: { limit: 100 } }),
  });
  const [from, setFrom] = useState<number>(Math.max(1, latest - 1));
  const [to, setTo] = useState<number>(latest);
  const diff = useQuery({
    queryKey: ['diff', name, from, to],
    queryFn: () => apiText(`/remoteconfigs/${encodeURIComponent(name)}/diff`, { from, to }),
    enabled: latest > 1 && from !== to,
  });
  // The two bodies for the side-by-side view (a revision never changes, so each is read once).
  const body = (n: number) => ({
    queryKey: ['revision', name, n],
    queryFn: () => api<Revision>(`/remoteconfigs/${encodeURIComponent(name)}/revisions/${n}`),
    enabled: latest > 1 && from !== to,
    staleTime: Infinity,
  });
  const fromBody = useQuery(body(from));
  const toBody = useQuery(body(to));
  const rollback = useMutation({
    mutationFn: (revision: number) =>
      api<RemoteConfig>(`/remoteconfigs/${encodeURIComponent(name)}/rollback`, {
        method: 'POST',
        body: { revision, resourceVersion: config.metadata.resourceVersion, message: `rollback to revision ${revision}` },
      }),
    onSuccess: async (saved) => {
      client.setQueryData(['remoteconfig', name], saved);
      await client.invalidateQueries({ queryKey: ['remoteconfigs'] });
    },
  });

  const options = revisions.data?.items.map((r) => r.metadata.revision) ?? [];
  return (
    <section aria-labelledby="h-history">
      <h2 id="h-history">History</h2>
      <ProblemMessage error={revisions.error ?? rollback.error} />
      {revisions.data && (
        <div className="table-wrap">
          <table aria-label="Revisions">
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">When</th>
                <th scope="col">By</th>
                <th scope="col">Message</th>
                <th scope="col">Hash</th>
                {canWrite && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {revisions.data.items.map((r) => (
                <tr key={r.metadata.revision}>
                  <th scope="row">{r.metadata.revision}</th>
                  <td>{when(r.metadata.createdAt)}</td>
                  <td>{r.metadata.author ?? '—'}</td>
                  <td>{r.metadata.message ?? ''}</td>
                  <td>
                    <code>{r.metadata.hash.slice(0, 12)}</code>
                  </td>
                  {canWrite && (
                    <td>
                      {r.metadata.revision !== latest && (
                        <button type="button" className="secondary" disabled={rollback.isPending} onClick={() => rollback.mutate(r.metadata.revision)}>
                          Roll back to {r.metadata.revision}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {latest > 1 && (
        <>
          <h3>Compare</h3>
          <div className="row-actions">
            <label>
              From revision
              <select value={from} onChange={(e) => setFrom(Number(e.target.value))}>
                {options.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            </label>
            <label>
              To revision
              <select value={to} onChange={(e) => setTo(Number(e.target.value))}>
                {options.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            </label>
          </div>
          <ProblemMessage error={diff.error ?? fromBody.error ?? toBody.error} />
          {from === to ? (
            <p>Pick two different revisions.</p>
          ) : (
            <>
              {fromBody.data && toBody.data && (
                <SideBySideDiff
                  label="Side-by-side differences"
                  a={fromBody.data.spec?.body ?? ''}
                  b={toBody.data.spec?.body ?? ''}
                  aLabel={`Revision ${from}`}
                  bLabel={`Revision ${to}`}
                  contentType={toBody.data.spec?.contentType}
                />
              )}
              {diff.data !== undefined && (
                <details className="unified">
                  <summary>Unified diff (changed lines in words)</summary>
                  <DiffView diff={diff.data} />
                </details>
              )}
            </>
          )}
        </>
      )}
    </section>
  );
}
