import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';

interface Token {
  metadata: { name: string; createdAt?: string; createdBy?: string };
  spec: { description?: string; labels: Record<string, string>; expiresAt: string | null };
  status: { state: 'active' | 'revoked' | 'expired'; lastUsedAt: string | null };
  token?: string;
}

/** The supervisor's OpAMP client settings with the new token, ready to paste. */
function supervisorSnippet(token: string): string {
  const host = window.location.hostname || 'localhost';
  return `server:\n  endpoint: ws://${host}:4320/v1/opamp\n  headers:\n    Authorization: "Bearer ${token}"\n`;
}

/** Enrollment tokens (admins): create (the secret shown once), list, revoke. */
export function TokensPage() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['enrollment-tokens'], queryFn: () => api<ResourceList<Token>>('/enrollment-tokens', { query: { limit: 200 } }) });
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<Token>();
  const [copied, setCopied] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      api<Token>('/enrollment-tokens', {
        method: 'POST',
        body: { kind: 'EnrollmentToken', apiVersion: 'v1', spec: { description: description.trim() || undefined } },
      }),
    onSuccess: async (t) => {
      setCreated(t);
      setCopied(false);
      setDescription('');
      await client.invalidateQueries({ queryKey: ['enrollment-tokens'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (name: string) => api<Token>(`/enrollment-tokens/${encodeURIComponent(name)}`, { method: 'DELETE' }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <>
      <h1>Enrollment tokens</h1>
      <form className="search" onSubmit={submit}>
        <label className="grow">
          Description
          <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="collectors in eu-west-1" />
        </label>
        <button type="submit" disabled={create.isPending}>
          Create token
        </button>
      </form>
      <ProblemMessage error={create.error ?? revoke.error} />
      {created?.token && (
        <div className="secret" role="status">
          <p>
            <strong>Copy the token now: it is shown this once.</strong>
          </p>
          <pre data-testid="new-token">{created.token}</pre>
          <button
            type="button"
            onClick={() => {
              void navigator.clipboard?.writeText(created.token!).then(() => setCopied(true));
            }}
          >
            {copied ? 'Copied' : 'Copy token'}
          </button>
          <p>Supervisor (or Collector opamp extension) settings:</p>
          <pre>{supervisorSnippet(created.token)}</pre>
        </div>
      )}
      {list.data && (
        <div className="table-wrap">
          <table aria-label="Enrollment tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((t) => (
                <tr key={t.metadata.name}>
                  <th scope="row">
                    <code>{t.metadata.name}</code>
                  </th>
                  <td>{t.spec.description ?? ''}</td>
                  <td data-testid={`token-state-${t.metadata.name}`}>{t.status.state}</td>
                  <td>
                    {when(t.metadata.createdAt)} {t.metadata.createdBy ? `by ${t.metadata.createdBy}` : ''}
                  </td>
                  <td>{when(t.status.lastUsedAt ?? undefined)}</td>
                  <td>
                    {t.status.state === 'active' && (
                      <button type="button" className="danger" onClick={() => revoke.mutate(t.metadata.name)} aria-label={`Revoke token ${t.metadata.name}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {list.data.items.length === 0 && (
                <tr>
                  <td colSpan={6}>No enrollment tokens yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
