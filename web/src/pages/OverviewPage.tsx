import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, countOf, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import type { Agent, AgentGroup } from '../types';
import { attr, when } from '../format';

type Filter = Record<string, string>;

/**
 * Each count is a filter of the agents list, and links to it. A negated filter (disconnected,
 * not healthy) is counted as all agents less the others: two counts an index answers (and that
 * the page reads anyway), where the negation itself makes the database read every agent.
 */
const COUNTS: { label: string; query: Filter; allLess?: Filter }[] = [
  { label: 'Agents', query: {} },
  { label: 'Connected', query: { connected: 'true' } },
  { label: 'Disconnected', query: { connected: 'false' }, allLess: { connected: 'true' } },
  { label: 'Healthy', query: { healthy: 'true' } },
  { label: 'Unhealthy', query: { healthy: 'false' }, allLess: { healthy: 'true' } },
  { label: 'WebSocket', query: { transport: 'websocket' } },
  { label: 'Plain HTTP', query: { transport: 'http' } },
  { label: 'gRPC', query: { transport: 'grpc' } },
  { label: 'Config applied', query: { configState: 'applied' } },
  { label: 'Config applying', query: { configState: 'applying' } },
  { label: 'Config failed', query: { configState: 'failed' } },
  { label: 'Config pending', query: { configState: 'pending' } },
];

/** Agents per value of one attribute (GET /fleet/facets), each a link to the agents it selects. */
function Facet({ title, attribute }: { title: string; attribute: string }) {
  const q = useQuery({
    queryKey: ['agent-facet', attribute],
    queryFn: () => api<{ values: { value: string; count: number }[]; truncated: boolean }>('/fleet/facets', { query: { key: attribute } }),
  });
  return (
    <section aria-label={title}>
      <h3>{title}</h3>
      <ProblemMessage error={q.error} />
      {q.data &&
        (q.data.values.length === 0 ? (
          <p>No agent reports {attribute}.</p>
        ) : (
          <ul className="facet" data-testid={`facet-${attribute}`}>
            {q.data.values.slice(0, 10).map((v) => (
              <li key={v.value}>
                <Link to={`/agents?${new URLSearchParams({ selector: `${attribute}=${v.value}` })}`}>
                  {v.value} <span className="count">{v.count}</span>
                </Link>
              </li>
            ))}
            {(q.data.values.length > 10 || q.data.truncated) && <li>… and more</li>}
          </ul>
        ))}
    </section>
  );
}

/** One count of agents; the same filter shares its query (and its request) with every count that reads it. */
function useAgentCount(filter: Filter, enabled = true) {
  return useQuery({ queryKey: ['count', 'agents', filter], queryFn: () => countOf('/agents', filter), enabled });
}

function Count({ label, query, allLess }: { label: string; query: Filter; allLess?: Filter }) {
  const all = useAgentCount(allLess ? {} : query);
  const less = useAgentCount(allLess ?? {}, allLess !== undefined);
  const value = !allLess ? all.data : all.data !== undefined && less.data !== undefined ? Math.max(0, all.data - less.data) : undefined;
  const href = `/agents${Object.keys(query).length ? `?${new URLSearchParams(query)}` : ''}`;
  return (
    <li className="stat">
      <Link to={href}>
        <span className="stat-value" data-testid={`count-${label}`}>
          {value ?? '…'}
        </span>
        <span className="stat-label">{label}</span>
      </Link>
    </li>
  );
}

/** A short list of agents that need a look, linking to each and to the whole filtered list. */
function Attention({ title, query }: { title: string; query: Record<string, string> }) {
  const q = useQuery({ queryKey: ['agents', 'attention', query], queryFn: () => api<ResourceList<Agent>>('/agents', { query: { ...query, limit: 5 } }) });
  const more = q.data?.metadata.remainingItemCount ?? 0;
  return (
    <section aria-label={title}>
      <h3>{title}</h3>
      <ProblemMessage error={q.error} />
      {q.data &&
        (q.data.items.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {q.data.items.map((a) => (
              <li key={a.metadata.name}>
                <Link to={`/agents/${a.metadata.name}`}>{attr(a.status.description?.identifyingAttributes, 'service.name') || a.metadata.name}</Link>{' '}
                <span className="uid">{a.metadata.name.slice(0, 8)}</span>, last seen {when(a.status.connection.lastSeenAt)}
              </li>
            ))}
            {more > 0 && (
              <li>
                <Link to={`/agents?${new URLSearchParams(query)}`}>{more} more</Link>
              </li>
            )}
          </ul>
        ))}
    </section>
  );
}

export function OverviewPage() {
  const groups = useQuery({ queryKey: ['agentgroups', 'overview'], queryFn: () => api<ResourceList<AgentGroup>>('/agentgroups', { query: { limit: 100 } }) });
  return (
    <>
      <h1>Fleet overview</h1>
      <ul className="stats" aria-label="Agent counts">
        {COUNTS.map((c) => (
          <Count key={c.label} {...c} />
        ))}
      </ul>
      <h2>Needs attention</h2>
      <div className="cards">
        <Attention title="Unhealthy" query={{ healthy: 'false', sort: '-lastSeen' }} />
        <Attention title="Disconnected most recently" query={{ connected: 'false', sort: '-lastSeen' }} />
        <Attention title="Config FAILED" query={{ configState: 'failed', sort: '-lastSeen' }} />
      </div>
      <h2>By version and platform</h2>
      <div className="cards">
        <Facet title="Agent version" attribute="service.version" />
        <Facet title="Agent type" attribute="service.name" />
        <Facet title="Operating system" attribute="os.type" />
      </div>
      <h2>By group</h2>
      <ProblemMessage error={groups.error} />
      {groups.data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Agents</th>
              <th scope="col">Connected</th>
              <th scope="col">Healthy</th>
              <th scope="col">Applied</th>
              <th scope="col">Applying</th>
              <th scope="col">Failed</th>
              <th scope="col">Pending</th>
            </tr>
          </thead>
          <tbody>
            {groups.data.items.map((g) => (
              <tr key={g.metadata.name}>
                <th scope="row">
                  <Link to={`/agents?group=${encodeURIComponent(g.metadata.name)}`}>{g.metadata.name}</Link>
                </th>
                <td>{g.status?.agents}</td>
                <td>{g.status?.connected}</td>
                <td>{g.status?.healthy}</td>
                <td>{g.status?.config.applied}</td>
                <td>{g.status?.config.applying}</td>
                <td>{g.status?.config.failed}</td>
                <td>{g.status?.config.pending}</td>
              </tr>
            ))}
            {groups.data.items.length === 0 && (
              <tr>
                <td colSpan={8}>No agent groups yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </>
  );
}
