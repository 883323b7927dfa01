import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useParams } from 'react-router';
import { api, countOf, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { attr } from '../format';
import { useSession } from '../session';
import type { Agent, AgentGroup, AgentPackage, PackageRef, RemoteConfig } from '../types';
import { selectorText } from './GroupsPage';
import { GroupPackagesEditor, GroupPackagesStatus } from './GroupPackages';

/** An agent group: create (no name in the path), or view and edit one (operators). */
export function GroupFormPage() {
  const { name } = useParams();
  return <GroupForm key={name ?? '(new)'} existing={name} />;
}

function GroupForm({ existing }: { existing?: string }) {
  const { canWrite } = useSession();
  const navigate = useNavigate();
  const client = useQueryClient();
  const current = useQuery({
    queryKey: ['agentgroup', existing],
    queryFn: () => api<AgentGroup>(`/agentgroups/${encodeURIComponent(existing!)}`),
    enabled: existing !== undefined,
  });
  const [name, setName] = useState('');
  const [selector, setSelector] = useState('');
  const [priority, setPriority] = useState('0');
  const [config, setConfig] = useState('');
  const [packages, setPackages] = useState<PackageRef[]>([]);
  useEffect(() => {
    const g = current.data;
    if (!g) return;
    setName(g.metadata.name);
    setSelector(selectorText(g.spec.selector));
    setPriority(String(g.spec.priority ?? 0));
    setConfig(g.spec.configs?.find((c) => c.fileName === '')?.remoteConfig ?? '');
    setPackages(g.spec.packages ?? []);
  }, [current.data]);
  const configs = useQuery({ queryKey: ['remoteconfigs'], queryFn: () => api<ResourceList<RemoteConfig>>('/remoteconfigs', { query: { limit: 200 } }) });
  const catalogue = useQuery({
    queryKey: ['packages'],
    queryFn: () => api<ResourceList<AgentPackage>>('/packages', { query: { limit: 1000 } }),
    enabled: canWrite,
  });
  const matching = useQuery({
    queryKey: ['count', 'agents', { selector }],
    queryFn: () => countOf('/agents', { selector }),
    enabled: selector.trim() !== '',
    retry: false,
  });
  const save = useMutation({
    mutationFn: () => {
      // Files other than the default one are kept as they are; the form edits the default file's config.
      const others = (current.data?.spec.configs ?? []).filter((c) => c.fileName !== '');
      const manifest = {
        kind: 'AgentGroup',
        apiVersion: 'v1',
        metadata: existing ? { ...current.data!.metadata, name: existing } : { name },
        spec: {
          ...(current.data?.spec ?? {}),
          selector,
          priority: Number(priority),
          configs: [...(config ? [{ fileName: '', remoteConfig: config }] : []), ...others],
          // Rows left without a name or version are not meant yet.
          packages: packages.filter((p) => p.name && p.version),
        },
      };
      return existing
        ? api<AgentGroup>(`/agentgroups/${encodeURIComponent(existing)}`, { method: 'PUT', body: manifest })
        : api<AgentGroup>('/agentgroups', { method: 'POST', body: manifest });
    },
    onSuccess: async (saved) => {
      client.setQueryData(['agentgroup', saved.metadata.name], saved);
      await client.invalidateQueries({ queryKey: ['agentgroups'] });
      await client.invalidateQueries({ queryKey: ['agentgroup-status', saved.metadata.name] });
      if (!existing) navigate('/groups');
    },
  });
  if (!existing && !canWrite) return <Navigate to="/groups" replace />;
  if (existing && current.error) return <ProblemMessage error={current.error} />;
  if (existing && !current.data) return <p role="status">Loading…</p>;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <>
      <h1>{existing ? `Agent group ${existing}` : 'New agent group'}</h1>
      {existing && <GroupStatus name={existing} />}
      <form className="form" onSubmit={submit}>
        {!existing && (
          <label>
            Name
            <input name="name" required value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9]([\-a-z0-9]*[a-z0-9])?" />
          </label>
        )}
        <label>
          Selector
          <input
            name="selector"
            required
            value={selector}
            readOnly={!canWrite}
            onChange={(e) => setSelector(e.target.value)}
            placeholder="env=prod,team in (a,b)"
            spellCheck={false}
            aria-describedby="selector-matches"
          />
        </label>
        <p id="selector-matches" role="status" className="hint">
          {selector.trim() === ''
            ? 'Type a selector to see how many agents it matches.'
            : matching.error
              ? 'Not a valid selector yet.'
              : matching.data === undefined
                ? 'Counting…'
                : `Matches ${matching.data} agents.`}
        </p>
        <label>
          Priority
          <input name="priority" type="number" value={priority} readOnly={!canWrite} onChange={(e) => setPriority(e.target.value)} />
        </label>
        <label>
          Remote config
          <select name="config" value={config} disabled={!canWrite} onChange={(e) => setConfig(e.target.value)}>
            <option value="">none</option>
            {configs.data?.items.map((c) => (
              <option key={c.metadata.name} value={c.metadata.name}>
                {c.metadata.name}
              </option>
            ))}
          </select>
        </label>
        <GroupPackagesEditor packages={packages} onChange={setPackages} catalogue={catalogue.data?.items ?? []} canWrite={canWrite} />
        <ProblemMessage error={save.error} />
        {save.isSuccess && existing && <p role="status">Saved.</p>}
        {canWrite && (
          <button type="submit" disabled={save.isPending}>
            {existing ? 'Save group' : 'Create group'}
          </button>
        )}
      </form>
      {existing && <GovernedAgents group={existing} />}
    </>
  );
}

/**
 * The group's status counts, read apart from the form (its own query, made stale by any agent's
 * change) so that a live update never resets what the user is editing.
 */
function GroupStatus({ name }: { name: string }) {
  const q = useQuery({
    queryKey: ['agentgroup-status', name],
    queryFn: () => api<AgentGroup>(`/agentgroups/${encodeURIComponent(name)}`),
  });
  const s = q.data?.status;
  if (!s) return <ProblemMessage error={q.error} />;
  return (
    <>
      <p data-testid="group-status">
        Governs <Link to={`/agents?group=${encodeURIComponent(name)}`}>{s.agents} agents</Link>: {s.connected} connected, {s.healthy} healthy; config{' '}
        {s.config.applied} applied, {s.config.applying} applying, {s.config.failed} failed, {s.config.pending} pending.
        {s.config.drifted ? ` ${s.config.drifted} run something else than they were sent (config drift).` : ''}
        {s.matchedNotGoverned ? ` ${s.matchedNotGoverned} more match but are governed elsewhere.` : ''}
      </p>
      {s.ownTelemetry && (s.ownTelemetry.acceptedPerSecond > 0 || s.ownTelemetry.sentPerSecond > 0) && (
        <p data-testid="group-rates">
          Its agents take in {rate(s.ownTelemetry.acceptedPerSecond)} items/s and send {rate(s.ownTelemetry.sentPerSecond)} items/s (their own metrics, each
          within a factor of two).
        </p>
      )}
      <GroupConditions name={name} counts={{ ConfigDrift: s.config.drifted ?? 0, ...(s.ownTelemetry?.conditions ?? {}) }} />
      {s.packages && s.packages.length > 0 && <GroupPackagesStatus packages={s.packages} />}
    </>
  );
}

const rate = (x: number) => (x >= 100 ? String(Math.round(x)) : String(Math.round(x * 10) / 10));

const CONDITION_WORDS: Record<string, string> = {
  ConfigDrift: 'config drift',
  Idle: 'idle',
  ExportFailing: 'export failing',
  Stale: 'no own metrics',
  Restarting: 'restarting',
};

/** The governed agents with a condition True, each count a link to the filtered agents list; nothing when none has one. */
function GroupConditions({ name, counts }: { name: string; counts: Record<string, number> }) {
  const shown = Object.entries(counts).filter(([, n]) => n > 0);
  if (!shown.length) return null;
  return (
    <p data-testid="group-conditions">
      Needing attention:{' '}
      {shown.map(([type, n], i) => (
        <span key={type}>
          {i > 0 ? ' · ' : ''}
          <Link to={`/agents?group=${encodeURIComponent(name)}&condition=${type}`}>
            {n} {CONDITION_WORDS[type] ?? type}
          </Link>
        </span>
      ))}
    </p>
  );
}

/** The first page of the agents the group selects. */
function GovernedAgents({ group }: { group: string }) {
  const q = useQuery({
    queryKey: ['agentgroup-agents', group],
    queryFn: () => api<ResourceList<Agent>>(`/agentgroups/${encodeURIComponent(group)}/agents`, { query: { limit: 20 } }),
  });
  return (
    <section aria-labelledby="h-group-agents">
      <h2 id="h-group-agents">Agents it selects</h2>
      <ProblemMessage error={q.error} />
      {q.data &&
        (q.data.items.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {q.data.items.map((a) => (
              <li key={a.metadata.name}>
                <Link to={`/agents/${a.metadata.name}`}>{a.metadata.name}</Link> {attr(a.status.description?.identifyingAttributes, 'service.name')} —{' '}
                {a.status.connected ? 'connected' : 'disconnected'}, config {a.status.remoteConfig?.state ?? 'none'}
              </li>
            ))}
            {q.data.metadata.remainingItemCount > 0 && (
              <li>
                <Link to={`/agents?group=${encodeURIComponent(group)}`}>and {q.data.metadata.remainingItemCount} more</Link>
              </li>
            )}
          </ul>
        ))}
    </section>
  );
}
