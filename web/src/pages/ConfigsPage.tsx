import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';
import { useSession } from '../session';
import type { RemoteConfig } from '../types';

export function ConfigsPage() {
  const { canWrite } = useSession();
  const q = useQuery({ queryKey: ['remoteconfigs'], queryFn: () => api<ResourceList<RemoteConfig>>('/remoteconfigs', { query: { limit: 200 } }) });
  return (
    <>
      <div className="title-row">
        <h1>Remote configs</h1>
        {canWrite && (
          <Link className="button" to="/configs/new">
            New config
          </Link>
        )}
      </div>
      <ProblemMessage error={q.error} />
      {q.data && (
        <div className="table-wrap">
          <table aria-label="Remote configs">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Content type</th>
                <th scope="col">Revision</th>
                <th scope="col">Last change</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {q.data.items.map((c) => (
                <tr key={c.metadata.name}>
                  <th scope="row">
                    <Link to={`/configs/${encodeURIComponent(c.metadata.name)}`}>{c.metadata.name}</Link>
                  </th>
                  <td>{c.spec.contentType}</td>
                  <td>{c.status.latestRevision}</td>
                  <td>{when(c.status.lastChange.createdAt)}</td>
                  <td>{c.status.lastChange.author ?? '—'}</td>
                </tr>
              ))}
              {q.data.items.length === 0 && (
                <tr>
                  <td colSpan={5}>No remote configs yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
