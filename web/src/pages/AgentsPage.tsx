import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { attr, healthWord, when } from '../format';
import type { Agent } from '../types';

/** Query parameters of GET /api/v1/agents that the URL carries, so that a view can be shared. */
const FILTERS = ['selector', 'connected', 'healthy', 'transport', 'group', 'sort', 'continue'] as const;
const PAGE_SIZE = 50;

export function AgentsPage() {
  const [params, setParams] = useSearchParams();
  const query = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? undefined]));
  const [selector, setSelector] = useState(query.selector ?? '');
  const list = useQuery({
    queryKey: ['agents', query],
    queryFn: () => api<ResourceList<Agent>>('/agents', { query: { ...query, limit: PAGE_SIZE } }),
    placeholderData: (prev) => prev,
  });

  const update = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('continue' in changes)) next.delete('continue');
    setParams(next);
  };

  const search = (e: FormEvent) => {
    e.preventDefault();
    update({ selector: selector.trim() || undefined });
  };

  const select = (name: (typeof FILTERS)[number], label: string, options: [string, string][]) => (
    <label>
      {label}
      <select value={query[name] ?? ''} onChange={(e) => update({ [name]: e.target.value || undefined })}>
        <option value="">any</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );

  const total = list.data ? list.data.items.length + list.data.metadata.remainingItemCount : undefined;
  return (
    <>
      <h1>Agents</h1>
      <form className="search" role="search" onSubmit={search}>
        <label className="grow">
          Selector
          <input
            name="selector"
            value={selector}
            onChange={(e) => setSelector(e.target.value)}
            placeholder="service.name=checkout,env in (prod,staging),!canary"
            spellCheck={false}
            autoComplete="off"
          />
        </label>
        <button type="submit">Search</button>
      </form>
      <div className="filters">
        {select('connected', 'Connected', [
          ['true', 'connected'],
          ['false', 'disconnected'],
        ])}
        {select('healthy', 'Health', [
          ['true', 'healthy'],
          ['false', 'not healthy'],
        ])}
        {select('transport', 'Transport', [
          ['websocket', 'WebSocket'],
          ['http', 'plain HTTP'],
          ['grpc', 'gRPC'],
        ])}
        {select('sort', 'Sort', [
          ['uid', 'uid'],
          ['-lastSeen', 'last seen, newest first'],
          ['lastSeen', 'last seen, oldest first'],
          ['-firstSeen', 'first seen, newest first'],
        ])}
        {query.group && (
          <span className="chip">
            group {query.group}{' '}
            <button type="button" onClick={() => update({ group: undefined })} aria-label={`Remove the group filter ${query.group}`}>
              ×
            </button>
          </span>
        )}
        <button type="button" onClick={() => void list.refetch()}>
          Refresh
        </button>
      </div>
      <ProblemMessage error={list.error} />
      {list.data && (
        <>
          <p role="status">
            {total === 0 ? 'No agents match.' : `${query.continue ? 'More of' : 'Showing'} ${list.data.items.length} of ${query.continue ? 'the remaining' : ''} ${total} agents`}
          </p>
          <div className="table-wrap">
            <table aria-label="Agents">
              <thead>
                <tr>
                  <th scope="col">Instance uid</th>
                  <th scope="col">Service</th>
                  <th scope="col">Version</th>
                  <th scope="col">Host</th>
                  <th scope="col">Transport</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Health</th>
                  <th scope="col">Config</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((a) => {
                  const id = a.status.description?.identifyingAttributes;
                  const non = a.status.description?.nonIdentifyingAttributes;
                  return (
                    <tr key={a.metadata.name}>
                      <th scope="row">
                        <Link to={`/agents/${a.metadata.name}`}>
                          <code>{a.metadata.name}</code>
                        </Link>
                      </th>
                      <td>{attr(id, 'service.name')}</td>
                      <td>{attr(id, 'service.version')}</td>
                      <td>{attr(non, 'host.name')}</td>
                      <td>{a.status.connection.transport}</td>
                      <td>{a.status.connected ? 'connected' : 'disconnected'}</td>
                      <td>{healthWord(a.status.health?.healthy)}</td>
                      <td>{a.status.remoteConfig?.state ?? '—'}</td>
                      <td>{when(a.status.connection.lastSeenAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            {query.continue && (
              <button type="button" onClick={() => update({ continue: undefined })}>
                First page
              </button>
            )}
            {list.data.metadata.continue && (
              <button type="button" onClick={() => update({ continue: list.data.metadata.continue })}>
                Next page
              </button>
            )}
          </nav>
        </>
      )}
    </>
  );
}
