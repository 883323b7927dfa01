import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { api, ApiError, type ResourceList } from '../api';
import { CodeEditor } from '../components/CodeEditor';
import { ProblemMessage } from '../components/ProblemMessage';
import { ConfigHistory } from './ConfigHistory';
import { useSession } from '../session';
import type { RemoteConfig } from '../types';

const CONTENT_TYPES = ['application/yaml', 'application/json', 'text/plain'];

/** A remote config: create (no name in the path) or view and edit (a new revision on save), with its history. */
export function ConfigFormPage() {
  const { name: existing } = useParams();
  return <ConfigForm key={existing ?? '(new)'} existing={existing} />;
}

function ConfigForm({ existing }: { existing?: string }) {
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
  const [message, setMessage] = useState('');
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
      const query = { message: message.trim() || undefined };
      return existing
        ? api<RemoteConfig>(`/remoteconfigs/${encodeURIComponent(existing)}`, { method: 'PUT', body: manifest, query })
        : api<RemoteConfig>('/remoteconfigs', { method: 'POST', body: manifest, query });
    },
    onSuccess: async (saved) => {
      setMessage('');
      client.setQueryData(['remoteconfig', saved.metadata.name], saved);
      await client.invalidateQueries({ queryKey: ['remoteconfigs'] });
      await client.invalidateQueries({ queryKey: ['revisions', saved.metadata.name] });
      if (!existing) navigate(`/configs/${encodeURIComponent(saved.metadata.name)}`);
    },
  });

  if (existing && current.error) return <ProblemMessage error={current.error} />;
  if (existing && !current.data) return <p role="status">Loading…</p>;
  const problem = save.error instanceof ApiError ? save.error.problem : undefined;
  const errorLine = problem?.line;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <>
      <h1>{existing ? `Remote config ${existing}` : 'New remote config'}</h1>
      {current.data && (
        <p data-testid="config-revision">
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
          <select name="contentType" value={contentType} onChange={(e) => setContentType(e.target.value)} disabled={!canWrite}>
            {CONTENT_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <CodeEditor
          id="body"
          label="Body"
          value={body}
          contentType={contentType}
          onChange={setBody}
          readOnly={!canWrite}
          errorLine={errorLine}
          errorId={errorLine ? 'body-error' : undefined}
        />
        {errorLine !== undefined && (
          <p id="body-error" className="error-text" data-testid="body-error">
            Line {errorLine}, column {problem?.column}: {problem?.detail}
          </p>
        )}
        {canWrite && (
          <label>
            Change message
            <input name="message" value={message} onChange={(e) => setMessage(e.target.value)} placeholder="why this change (kept in the history)" />
          </label>
        )}
        {errorLine === undefined && <ProblemMessage error={save.error} />}
        {save.isSuccess && existing && <p role="status">Saved as revision {save.data.status.latestRevision}.</p>}
        {canWrite && (
          <button type="submit" disabled={save.isPending}>
            {existing ? 'Save new revision' : 'Create config'}
          </button>
        )}
      </form>
      {/* A new revision starts the comparison afresh: the latest against the one before. */}
      {current.data && <ConfigHistory key={current.data.status.latestRevision} config={current.data} />}
      {current.data && <UsedBy name={current.data.metadata.name} />}
    </>
  );
}

/** Where the config is used: the agent groups that reference it. */
function UsedBy({ name }: { name: string }) {
  const groups = useQuery({
    queryKey: ['agentgroups'],
    queryFn: () =>
      api<ResourceList<{ metadata: { name: string }; spec: { configs?: { remoteConfig: string; fileName: string }[] } }>>('/agentgroups', {
        query: { limit: 200 },
      }),
  });
  const users = groups.data?.items.filter((g) => g.spec.configs?.some((c) => c.remoteConfig === name)) ?? [];
  return (
    <section aria-labelledby="h-used">
      <h2 id="h-used">Used by</h2>
      {groups.data &&
        (users.length ? (
          <ul>
            {users.map((g) => (
              <li key={g.metadata.name}>agent group {g.metadata.name}</li>
            ))}
          </ul>
        ) : (
          <p>No agent group uses this config.</p>
        ))}
    </section>
  );
}
