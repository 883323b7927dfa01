import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { api } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { useSession } from '../session';
import type { RemoteConfig } from '../types';

const CONTENT_TYPES = ['application/yaml', 'application/json', 'text/plain'];

/** A remote config: create (no name in the path) or view and edit (a new revision on save). */
export function ConfigFormPage() {
  const { name: existing } = useParams();
  const { canWrite } = useSession();
  const navigate = useNavigate();
  const client = useQueryClient();
  const current = useQuery({
    queryKey: ['remoteconfig', existing],
    queryFn: () => api<RemoteConfig>(`/remoteconfigs/${encodeURIComponent(existing!)}`),
    enabled: existing !== undefined,
  });
  const [name, setName] = useState('');
  const [contentType, setContentType] = useState('application/yaml');
  const [body, setBody] = useState('');
  useEffect(() => {
    if (!current.data) return;
    setName(current.data.metadata.name);
    setContentType(current.data.spec.contentType);
    setBody(current.data.spec.body);
  }, [current.data]);

  const save = useMutation({
    mutationFn: () => {
      const manifest = {
        kind: 'RemoteConfig',
        apiVersion: 'v1',
        metadata: existing ? { name: existing, resourceVersion: current.data?.metadata.resourceVersion } : { name },
        spec: { contentType, body },
      };
      return existing
        ? api<RemoteConfig>(`/remoteconfigs/${encodeURIComponent(existing)}`, { method: 'PUT', body: manifest })
        : api<RemoteConfig>('/remoteconfigs', { method: 'POST', body: manifest });
    },
    onSuccess: async (saved) => {
      await client.invalidateQueries({ queryKey: ['remoteconfigs'] });
      client.setQueryData(['remoteconfig', saved.metadata.name], saved);
      if (!existing) navigate(`/configs/${encodeURIComponent(saved.metadata.name)}`);
    },
  });

  if (existing && current.error) return <ProblemMessage error={current.error} />;
  if (existing && !current.data) return <p role="status">Loading…</p>;
  const readOnly = !canWrite;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <>
      <h1>{existing ? `Remote config ${existing}` : 'New remote config'}</h1>
      {current.data && (
        <p>
          Revision {current.data.status.latestRevision}, hash <code>{current.data.status.hash.slice(0, 12)}</code>
          {current.data.status.lastChange.author ? `, last changed by ${current.data.status.lastChange.author}` : ''}
        </p>
      )}
      <form className="form wide" onSubmit={submit}>
        {!existing && (
          <label>
            Name
            <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
        )}
        <label>
          Content type
          <select name="contentType" value={contentType} onChange={(e) => setContentType(e.target.value)} disabled={readOnly}>
            {CONTENT_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Body
          <textarea name="body" required rows={18} spellCheck={false} value={body} onChange={(e) => setBody(e.target.value)} readOnly={readOnly} className="code" />
        </label>
        <ProblemMessage error={save.error} />
        {save.isSuccess && existing && <p role="status">Saved as revision {save.data.status.latestRevision}.</p>}
        {canWrite && (
          <button type="submit" disabled={save.isPending}>
            {existing ? 'Save new revision' : 'Create config'}
          </button>
        )}
      </form>
    </>
  );
}
