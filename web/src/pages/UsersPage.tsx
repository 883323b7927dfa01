import { useQuery } from '@tanstack/react-query';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import type { User } from '../types';

/** The users (admins): who may sign in, with which role. */
export function UsersPage() {
  const list = useQuery({ queryKey: ['users'], queryFn: () => api<ResourceList<User>>('/users', { query: { limit: 200 } }) });
  return (
    <>
      <h1>Users</h1>
      <ProblemMessage error={list.error} />
      {list.data && (
        <div className="table-wrap">
          <table aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">GitHub</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((u) => (
                <tr key={u.metadata.name}>
                  <th scope="row">{u.metadata.name}</th>
                  <td>{u.spec.role}</td>
                  <td>{u.spec.githubLogin ?? '—'}</td>
                  <td>{u.spec.disabled ? 'disabled' : 'enabled'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
