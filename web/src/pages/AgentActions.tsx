import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { CodeView } from '../components/CodeEditor';
import { ProblemMessage } from '../components/ProblemMessage';
import { useSession } from '../session';
import type { Agent } from '../types';
import { originText } from '../format';

export interface DesiredConfig {
  assigned: boolean;
  acceptsRemoteConfig: boolean;
  origin?: unknown;
  hash?: string;
  error?: string;
  configMap?: Record<string, { contentType: string; body?: string; bodyBase64?: string; source?: unknown }>;
}

/** What the agent should run (`GET …/desired-config`), each file with where it comes from. */
export function DesiredConfigView({ uid }: { uid: string }) {
  const q = useQuery({ queryKey: ['desired-config', uid], queryFn: () => api<DesiredConfig>(`/agents/${encodeURIComponent(uid)}/desired-config`) });
  if (q.error) return <ProblemMessage error={q.error} />;
  if (!q.data) return <p role="status">Loading…</p>;
  const d = q.data;
  if (!d.assigned) return <p>No group or own config assigns a config to this agent.</p>;
  return (
    <>
      <p>
        From <strong data-testid="desired-origin">{originText(d.origin)}</strong>
        {d.hash ? (
          <>
            , hash <code>{d.hash.slice(0, 12)}</code>
          </>
        ) : null}
        {d.acceptsRemoteConfig ? '' : ' (the agent does not accept remote config)'}
      </p>
      {d.error && <p className="error-text">{d.error}</p>}
      {Object.entries(d.configMap ?? {}).map(([file, f]) => (
        <div key={file}>
          <h3>
            {file || '(default file)'} <span className="uid">{sourceText(f.source)}</span>
          </h3>
          {f.body !== undefined ? <CodeView label={`Desired config ${file || 'default file'}`} value={f.body} contentType={f.contentType} /> : <p>(binary)</p>}
        </div>
      ))}
    </>
  );
}

/** Server-side labels: shown to all, edited by operators (a merge patch; removing sends null). */
export function LabelsEditor({ agent }: { agent: Agent }) {
  const { canWrite } = useSession();
  const client = useQueryClient();
  const uid = agent.metadata.name;
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const patch = useMutation({
    mutationFn: (labels: Record<string, string | null>) =>
      api<Agent>(`/agents/${encodeURIComponent(uid)}`, { method: 'PATCH', body: { metadata: { labels } } }),
    onSuccess: (a) => {
      client.setQueryData(['agent', uid], a);
      setKey('');
      setValue('');
    },
  });
  const add = (e: FormEvent) => {
    e.preventDefault();
    patch.mutate({ [key.trim()]: value });
  };
  const labels = Object.entries(agent.metadata.labels ?? {});
  return (
    <section aria-labelledby="h-labels">
      <h2 id="h-labels">Labels</h2>
      {labels.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul className="labels">
          {labels.map(([k, v]) => (
            <li key={k} className="chip">
              <code>
                {k}={v}
              </code>
              {canWrite && (
                <button type="button" onClick={() => patch.mutate({ [k]: null })} aria-label={`Remove label ${k}`}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {canWrite && (
        <form className="search" onSubmit={add} aria-label="Add a label">
          <label>
            Label key
            <input name="labelKey" required value={key} onChange={(e) => setKey(e.target.value)} />
          </label>
          <label>
            Value
            <input name="labelValue" value={value} onChange={(e) => setValue(e.target.value)} />
          </label>
          <button type="submit" disabled={patch.isPending}>
            Set label
          </button>
        </form>
      )}
      <ProblemMessage error={patch.error} />
    </section>
  );
}

/** Commands to the agent (operators): restart, when the agent accepts it. */
export function AgentCommands({ agent }: { agent: Agent }) {
  const { canWrite } = useSession();
  const restart = useMutation({
    mutationFn: () => api<{ accepted: boolean; delivery: string }>(`/agents/${encodeURIComponent(agent.metadata.name)}/restart`, { method: 'POST' }),
  });
  if (!canWrite || !agent.status.capabilities.names.includes('AcceptsRestartCommand')) return null;
  return (
    <div className="row-actions">
      <button type="button" disabled={restart.isPending || !agent.status.connected} onClick={() => restart.mutate()}>
        Restart agent
      </button>
      {restart.isSuccess && <span role="status">Restart {restart.data.delivery === 'sent' ? 'sent' : 'queued for the next poll'}.</span>}
      <ProblemMessage error={restart.error} />
    </div>
  );
}

/** Where one file of the desired config comes from (a remote config revision, or a file of the agent's own config). */
function sourceText(source: unknown): string {
  if (!source) return '';
  if (typeof source === 'string') return source;
  const s = source as { remoteConfig?: string; revision?: number; kind?: string; group?: string };
  const via = s.kind === 'group' ? ` via group ${s.group}` : s.kind === 'agent' ? " via the agent's own config" : '';
  if (s.remoteConfig) return `remote config ${s.remoteConfig} revision ${s.revision}${via}`;
  return s.kind === 'agent-inline' ? "inline file of the agent's own config" : JSON.stringify(source);
}
