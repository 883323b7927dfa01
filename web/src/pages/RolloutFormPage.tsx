import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useNavigate } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { useSession } from '../session';
import type { AgentGroup, AgentPackage, RemoteConfig, Rollout } from '../types';
import { PACKAGE_PAGE } from './PackagesPage';

const GATES = [
  { metric: 'applyFailed', label: 'Config FAILED or package INSTALL_FAILED', ratio: '0' },
  { metric: 'unhealthy', label: 'Unhealthy', ratio: '0.1' },
  { metric: 'disconnected', label: 'Disconnected', ratio: '0.1' },
  { metric: 'effectiveMismatch', label: 'Effective config not the one sent', ratio: '0' },
  { metric: 'exportFailing', label: 'Export failing (own telemetry)', ratio: '0' },
  { metric: 'idle', label: 'Idle: accepting nothing (own telemetry)', ratio: '0' },
  { metric: 'restarting', label: 'Restarting (own telemetry)', ratio: '0' },
  { metric: 'noTelemetry', label: 'Sending no telemetry', ratio: '0.1' },
] as const;

/**
 * A new rollout: a group's config files moved to chosen revisions and/or its packages to chosen
 * catalogued versions, in stages ("1, 10%, 100%"), with the gates that stop it. The API checks
 * everything again and its problem detail is shown.
 */
export function RolloutFormPage() {
  const { canWrite } = useSession();
  const navigate = useNavigate();
  const client = useQueryClient();
  const groups = useQuery({ queryKey: ['agentgroups'], queryFn: () => api<ResourceList<AgentGroup>>('/agentgroups', { query: { limit: 200 } }) });
  const configs = useQuery({ queryKey: ['remoteconfigs'], queryFn: () => api<ResourceList<RemoteConfig>>('/remoteconfigs', { query: { limit: 200 } }) });
  const catalogue = useQuery({ queryKey: ['packages'], queryFn: () => api<ResourceList<AgentPackage>>('/packages', { query: { limit: PACKAGE_PAGE } }) });
  const [name, setName] = useState('');
  const [moveConfigs, setMoveConfigs] = useState(true);
  const [versions, setVersions] = useState<Record<string, string>>({});
  const [group, setGroup] = useState('');
  const [revisions, setRevisions] = useState<Record<string, string>>({});
  const [stages, setStages] = useState('1, 100%');
  const [timeout, setTimeoutSeconds] = useState('120');
  const [onTrip, setOnTrip] = useState<'rollback' | 'pause'>('rollback');
  const [gates, setGates] = useState<Record<string, { on: boolean; ratio: string }>>(
    Object.fromEntries(GATES.map((g) => [g.metric, { on: g.metric === 'applyFailed', ratio: g.ratio }])),
  );
  const chosen = groups.data?.items.find((g) => g.metadata.name === group);
  const files = chosen?.spec.configs ?? [];
  const groupPackages = chosen?.spec.packages ?? [];
  const versionsOf = (pkg: string) =>
    (catalogue.data?.items ?? [])
      .filter((v) => v.spec.package === pkg && !v.metadata.deletedAt)
      .map((v) => v.spec.version)
      .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  // Packages to move: those whose chosen version is not the group's.
  const movedPackages = groupPackages
    .filter((p) => versions[p.name] && versions[p.name] !== p.version)
    .map((p) => ({ name: p.name, version: versions[p.name] }));
  const configsMove = moveConfigs && files.length > 0;
  // Each file of the group starts at its config's latest revision (what a rollout usually moves to).
  useEffect(() => {
    const latest = (c: string) => configs.data?.items.find((x) => x.metadata.name === c)?.status.latestRevision;
    setRevisions(Object.fromEntries(files.map((f) => [f.fileName, String(latest(f.remoteConfig) ?? '')])));
    setVersions(Object.fromEntries(groupPackages.map((p) => [p.name, p.version])));
    setMoveConfigs(files.length > 0);
    if (!name && group) setName(`${group}-${new Date().toISOString().slice(0, 10)}`);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [group, configs.data]);
  const create = useMutation({
    mutationFn: () =>
      api<Rollout>('/rollouts', {
        method: 'POST',
        body: {
          kind: 'Rollout',
          apiVersion: 'v1',
          metadata: { name },
          spec: {
            target: { group },
            configs: configsMove
              ? files.map((f) => ({
                  fileName: f.fileName,
                  remoteConfig: f.remoteConfig,
                  ...(revisions[f.fileName] ? { revision: Number(revisions[f.fileName]) } : {}),
                }))
              : [],
            ...(movedPackages.length ? { packages: movedPackages } : {}),
            stages: stages
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            applyTimeoutSeconds: Number(timeout),
            gates: GATES.filter((g) => gates[g.metric].on).map((g) => ({ metric: g.metric, maxRatio: Number(gates[g.metric].ratio) })),
            onGateTrip: onTrip,
          },
        },
      }),
    onSuccess: (r) => {
      void client.invalidateQueries({ queryKey: ['rollouts'] });
      void navigate(`/rollouts/${encodeURIComponent(r.metadata.name)}`);
    },
  });
  if (!canWrite) return <Navigate to="/rollouts" replace />;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <>
      <h1>New rollout</h1>
      <ProblemMessage error={groups.error ?? configs.error ?? catalogue.error} />
      <form className="form" onSubmit={submit} aria-label="New rollout">
        <label>
          Group
          <select required value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="">Choose a group…</option>
            {groups.data?.items.map((g) => (
              <option key={g.metadata.name} value={g.metadata.name}>
                {g.metadata.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        {chosen && files.length === 0 && groupPackages.length === 0 && (
          <p className="error-text">This group assigns no config and names no package: there is nothing to roll out.</p>
        )}
        {files.length > 0 && (
          <label>
            <input type="checkbox" checked={moveConfigs} onChange={(e) => setMoveConfigs(e.target.checked)} /> Move the group's configs
          </label>
        )}
        {configsMove &&
          files.map((f) => (
            <label key={f.fileName}>
              Revision of {f.remoteConfig}
              {f.fileName ? ` (file ${f.fileName})` : ''}
              <input type="number" min={1} value={revisions[f.fileName] ?? ''} onChange={(e) => setRevisions({ ...revisions, [f.fileName]: e.target.value })} />
            </label>
          ))}
        {groupPackages.map((p) => (
          <label key={p.name}>
            Version of package {p.name} (the group names {p.version})
            <select value={versions[p.name] ?? p.version} onChange={(e) => setVersions({ ...versions, [p.name]: e.target.value })}>
              {[...new Set([p.version, ...versionsOf(p.name)])].map((v) => (
                <option key={v} value={v}>
                  {v === p.version ? `${v} (keep)` : v}
                </option>
              ))}
            </select>
          </label>
        ))}
        <label>
          Stages (agent counts or percentages, comma-separated)
          <input required value={stages} onChange={(e) => setStages(e.target.value)} aria-describedby="stages-help" />
        </label>
        <small id="stages-help">For example 1, 10%, 100%: one canary, then a tenth of the group, then everyone.</small>
        <label>
          Seconds for a stage's agents to apply and install
          <input type="number" min={1} value={timeout} onChange={(e) => setTimeoutSeconds(e.target.value)} />
        </label>
        <fieldset>
          <legend>Gates: stop when more than this share of a stage's agents is…</legend>
          {GATES.map((g) => (
            <div key={g.metric} className="gate-row">
              <label>
                <input
                  type="checkbox"
                  checked={gates[g.metric].on}
                  onChange={(e) => setGates({ ...gates, [g.metric]: { ...gates[g.metric], on: e.target.checked } })}
                />{' '}
                {g.label}
              </label>
              <label>
                share (0–1)
                <input
                  type="number"
                  min={0}
                  max={1}
                  step="any"
                  value={gates[g.metric].ratio}
                  disabled={!gates[g.metric].on}
                  onChange={(e) => setGates({ ...gates, [g.metric]: { ...gates[g.metric], ratio: e.target.value } })}
                />
              </label>
            </div>
          ))}
        </fieldset>
        <label>
          When a gate trips
          <select value={onTrip} onChange={(e) => setOnTrip(e.target.value as 'rollback' | 'pause')}>
            <option value="rollback">roll back</option>
            <option value="pause">pause</option>
          </select>
        </label>
        <ProblemMessage error={create.error} />
        <button type="submit" disabled={create.isPending || (!configsMove && movedPackages.length === 0)}>
          Start rollout
        </button>
      </form>
    </>
  );
}
