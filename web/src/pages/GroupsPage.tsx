import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { useSession } from '../session';
import type { AgentGroup } from '../types';

export function selectorText(s: AgentGroup['spec']['selector']): string {
  return typeof s === 'string' ? s : JSON.stringify(s);
}

export function GroupsPage() {
  const { canWrite } = useSession();
  const q = useQuery({ queryKey: ['agentgroups'], queryFn: () => api<ResourceList<AgentGroup>>('/agentgroups', { query: { limit: 200 } }) });
  return (
    <>
      <div className="title-row">
        <h1>Agent groups</h1>
        {canWrite && (
          <Link className="button" to="/groups/new">
            New group
          </Link>
        )}
      </div>
      <ProblemMessage error={q.error} />
      {q.data && (
        <div className="table-wrap">
          <table aria-label="Agent groups">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Selector</th>
                <th scope="col">Priority</th>
                <th scope="col">Configs</th>
                <th scope="col">Agents</th>
                <th scope="col">Connected</th>
                <th scope="col">Healthy</th>
                <th scope="col">Applied</th>
                <th scope="col">Applying</th>
                <th scope="col">Failed</th>
              </tr>
            </thead>
            <tbody>
              {q.data.items.map((g) => (
                <tr key={g.metadata.name}>
                  <th scope="row">
                    <Link to={`/groups/${encodeURIComponent(g.metadata.name)}`}>{g.metadata.name}</Link>
                  </th>
                  <td>
                    <code>{selectorText(g.spec.selector)}</code>
                  </td>
                  <td>{g.spec.priority ?? 0}</td>
                  <td>
                    {(g.spec.configs ?? []).map((c) => (
                      <div key={c.fileName}>
                        <Link to={`/configs/${encodeURIComponent(c.remoteConfig)}`}>{c.remoteConfig}</Link>
                        {c.fileName ? ` as ${c.fileName}` : ''}
                        {c.revision ? ` @${c.revision}` : ''}
                      </div>
                    ))}
                  </td>
                  <td>
                    <Link to={`/agents?group=${encodeURIComponent(g.metadata.name)}`} aria-label={`${g.status?.agents ?? 0} agents of ${g.metadata.name}`}>
                      {g.status?.agents}
                    </Link>
                  </td>
                  <td>{g.status?.connected}</td>
                  <td>{g.status?.healthy}</td>
                  <td>{g.status?.config.applied}</td>
                  <td>{g.status?.config.applying}</td>
                  <td>{g.status?.config.failed}</td>
                </tr>
              ))}
              {q.data.items.length === 0 && (
                <tr>
                  <td colSpan={10}>No agent groups yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
