import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';
import { useSession } from '../session';
import type { Agent, RemoteConfig } from '../types';

interface Component {
  name?: string;
  metadata: { key: string; value: unknown }[];
  components: Component[];
}

interface AvailableComponents {
  hash: string | null;
  components: Component[] | null;
}

/** The components the agent says it can run (receivers, processors, exporters, …), by kind. */
export function AvailableComponentsView({ uid }: { uid: string }) {
  const q = useQuery({
    queryKey: ['agent', uid, 'available-components'],
    queryFn: () => api<AvailableComponents>(`/agents/${encodeURIComponent(uid)}/available-components`),
  });
  if (q.error) return <ProblemMessage error={q.error} />;
  if (!q.data) return <p role="status">Loading…</p>;
  if (!q.data.hash) return <p>The agent reports no available components.</p>;
  if (!q.data.components) return <p>Only the catalogue's hash is known so far; the server has asked the agent for the full list.</p>;
  return (
    <div className="component-kinds" data-testid="available-components">
      {q.data.components.map((kind) => (
        <details key={kind.name ?? ''} open={q.data.components!.length <= 6}>
          <summary>
            {kind.name || '(unnamed)'} ({kind.components.length})
          </summary>
          <ul className="component-list">
            {kind.components.map((c) => (
              <li key={c.name ?? ''}>
                <code>{c.name}</code>
                {c.metadata.length > 0 && <span className="uid"> {c.metadata.map((m) => `${m.key}=${String(m.value)}`).join(', ')}</span>}
              </li>
            ))}
          </ul>
        </details>
      ))}
    </div>
  );
}

interface AssignedConfig {
  configs?: { fileName: string; remoteConfig: string; revision?: number }[];
  files?: unknown[];
}

/** The agent's own config (it overrides any group's): shown to all, set or cleared by operators. */
export function ConfigAssignment({ agent }: { agent: Agent }) {
  const { canWrite } = useSession();
  const client = useQueryClient();
  const uid = agent.metadata.name;
  const assigned = agent.spec.assignedConfig as AssignedConfig | undefined;
  const own = assigned?.configs?.find((c) => c.fileName === '');
  const [config, setConfig] = useState(own?.remoteConfig ?? '');
  const [revision, setRevision] = useState(own?.revision ? String(own.revision) : '');
  const configs = useQuery({
    queryKey: ['remoteconfigs'],
    queryFn: () => api<ResourceList<RemoteConfig>>('/remoteconfigs', { query: { limit: 200 } }),
    enabled: canWrite,
  });
  const save = useMutation({
    mutationFn: (body: { configs: { fileName: string; remoteConfig: string; revision?: number }[] }) =>
      api<Agent>(`/agents/${encodeURIComponent(uid)}/update-agent-config`, { method: 'PUT', body }),
    onSuccess: (a) => {
      client.setQueryData(['agent', uid], a);
      void client.invalidateQueries({ queryKey: ['desired-config', uid] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ configs: config ? [{ fileName: '', remoteConfig: config, ...(revision ? { revision: Number(revision) } : {}) }] : [] });
  };
  const summary = assigned?.configs?.length
    ? assigned.configs.map((c) => `${c.remoteConfig}${c.revision ? `@${c.revision}` : ' (latest)'}${c.fileName ? ` as ${c.fileName}` : ''}`).join(', ')
    : assigned?.files?.length
      ? `${assigned.files.length} inline file(s)`
      : undefined;
  return (
    <section aria-labelledby="h-assign">
      <h2 id="h-assign">Own config</h2>
      <p data-testid="own-config">{summary ? `Assigned: ${summary}. It overrides any group's config.` : 'None: the agent gets its group’s config.'}</p>
      {canWrite && (
        <form className="inline-form" onSubmit={submit} aria-label="Assign a config to this agent">
          <label>
            Remote config
            <select value={config} onChange={(e) => setConfig(e.target.value)}>
              <option value="">(none: follow the group)</option>
              {configs.data?.items.map((c) => (
                <option key={c.metadata.name} value={c.metadata.name}>
                  {c.metadata.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Revision
            <input type="number" min={1} placeholder="latest" value={revision} onChange={(e) => setRevision(e.target.value)} disabled={!config} />
          </label>
          <button type="submit" disabled={save.isPending}>
            {config ? 'Assign config' : 'Clear own config'}
          </button>
        </form>
      )}
      <ProblemMessage error={save.error} />
    </section>
  );
}

interface AuditEntry {
  metadata: { name: string; createdAt: string };
  actor: { username: string };
  action: string;
  outcome?: string;
  summary?: string;
  changes?: string[];
}

/** What was done to this agent, newest first (the audit log is for admins). */
export function AgentHistory({ uid }: { uid: string }) {
  const { user } = useSession();
  const isAdmin = user?.spec.role === 'admin';
  const q = useQuery({
    queryKey: ['audit', 'agents', uid],
    queryFn: () => api<ResourceList<AuditEntry>>('/audit', { query: { kind: 'agents', name: uid, limit: 20 } }),
    enabled: isAdmin,
  });
  if (!isAdmin) return null;
  return (
    <section aria-labelledby="h-history">
      <h2 id="h-history">History</h2>
      <ProblemMessage error={q.error} />
      {q.data && q.data.items.length === 0 && <p>Nothing has been done to this agent through the API.</p>}
      {q.data && q.data.items.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Agent history">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">What</th>
              </tr>
            </thead>
            <tbody>
              {q.data.items.map((e) => (
                <tr key={e.metadata.name}>
                  <td>{when(e.metadata.createdAt)}</td>
                  <td>{e.actor.username}</td>
                  <td>
                    {e.action}
                    {e.outcome && e.outcome !== 'success' ? ` (${e.outcome})` : ''}
                  </td>
                  <td>{e.summary ?? e.changes?.join(', ') ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <Link to={`/audit?kind=agents&name=${encodeURIComponent(uid)}`}>The whole audit log of this agent</Link>
      </p>
    </section>
  );
}

/** The packages the agent runs and what it does with the server's offer (OpAMP PackageStatuses). */
export function PackagesView({ agent }: { agent: Agent }) {
  const p = agent.status.packages;
  if (!p) return null;
  return (
    <section aria-labelledby="h-packages">
      <h2 id="h-packages">Packages</h2>
      {p.offer && (
        <p data-testid="package-offer">
          Offer: <strong>{p.offer.state}</strong>
          {p.offer.origin ? ` (from ${p.offer.origin})` : ''}
          {p.offer.lastSentAt ? `, sent ${when(p.offer.lastSentAt)}` : ''}
          {p.offer.error && <span className="error-text"> — {p.offer.error}</span>}
        </p>
      )}
      {p.offer?.refused?.map((r) => (
        <p key={`${r.name}@${r.version}`} className="error-text">
          Not offered: {r.name}@{r.version}: {r.reason}
        </p>
      ))}
      {p.installed.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Packages">
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Runs</th>
                <th scope="col">Offered</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {p.installed.map((x) => (
                <tr key={x.name}>
                  <th scope="row">{x.name}</th>
                  <td>{x.version ?? '—'}</td>
                  <td>{x.offeredVersion ?? '—'}</td>
                  <td className={x.status === 'INSTALL_FAILED' ? 'error-text' : undefined}>
                    {x.status ?? '—'}
                    {x.status === 'DOWNLOADING' && x.downloadPercent !== undefined ? ` ${Math.round(x.downloadPercent)} %` : ''}
                    {x.errorMessage ? `: ${x.errorMessage}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>The agent reports no packages.</p>
      )}
      {p.errorMessage && <p className="error-text">{p.errorMessage}</p>}
    </section>
  );
}
