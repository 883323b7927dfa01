import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';

interface AuditEvent {
  metadata: { name: string; createdAt: string };
  actor: { username: string; role?: string; address?: string };
  action: string;
  outcome?: string;
  resource: { kind: string; name?: string };
  summary?: string;
}

const FILTERS = ['actor', 'kind', 'name', 'action', 'continue'] as const;

/** The audit log (admins): who changed what and when, filtered by who, what and which resource. */
export function AuditPage() {
  const [params, setParams] = useSearchParams();
  const query = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? undefined]));
  const [draft, setDraft] = useState<Record<string, string>>({
    actor: query.actor ?? '',
    kind: query.kind ?? '',
    name: query.name ?? '',
    action: query.action ?? '',
  });
  const list = useQuery({ queryKey: ['audit', query], queryFn: () => api<ResourceList<AuditEvent>>('/audit', { query: { ...query, limit: 50 } }) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v.trim()) next.set(k, v.trim());
    setParams(next);
  };
  const field = (k: string, label: string) => (
    <label>
      {label}
      <input name={k} value={draft[k]} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} />
    </label>
  );
  return (
    <>
      <h1>Audit log</h1>
      <form className="filters" onSubmit={submit}>
        {field('actor', 'Who')}
        {field('action', 'Action')}
        {field('kind', 'Resource kind')}
        {field('name', 'Resource name')}
        <button type="submit">Filter</button>
      </form>
      <ProblemMessage error={list.error} />
      {list.data && (
        <>
          <div className="table-wrap">
            <table aria-label="Audit events">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Summary</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((e) => (
                  <tr key={e.metadata.name}>
                    <td>{when(e.metadata.createdAt)}</td>
                    <td>{e.actor.username}</td>
                    <td>{e.action}</td>
                    <td>
                      {e.resource.kind}
                      {e.resource.name ? `/${e.resource.name}` : ''}
                    </td>
                    <td>{e.outcome ?? 'success'}</td>
                    <td>{e.summary ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {list.data.metadata.continue && (
            <nav className="pager" aria-label="Pages">
              <button type="button" onClick={() => setParams(new URLSearchParams({ ...Object.fromEntries(params), continue: list.data.metadata.continue! }))}>
                Next page
              </button>
            </nav>
          )}
        </>
      )}
    </>
  );
}
