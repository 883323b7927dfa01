import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';
import { useSession } from '../session';
import type { Rollout } from '../types';

/** "stage 2 of 3" in words; the API counts stages from 0. */
export function stageText(r: Rollout): string {
  const count = r.status.stageCount ?? (Array.isArray(r.spec.stages) ? r.spec.stages.length : undefined);
  return count ? `${Math.min(r.status.stage + 1, count)} of ${count}` : String(r.status.stage + 1);
}

export function configsText(r: Rollout): string {
  return r.spec.configs.map((c) => `${c.remoteConfig}${c.revision ? `@${c.revision}` : ''}${c.fileName ? ` as ${c.fileName}` : ''}`).join(', ');
}

/** `otelcol 1.1.0 (from 1.0.0)` for each package the rollout moves; empty when it moves none. */
export function packagesText(r: Rollout): string {
  return (r.spec.packages ?? [])
    .map((p) => {
      const from = r.status.previousPackages?.find((x) => x.name === p.name)?.version;
      return `${p.name} ${p.version}${from && from !== p.version ? ` (from ${from})` : ''}`;
    })
    .join(', ');
}

/** `opamp ws://…, ownMetrics http://…, heartbeat 10 s` for the connection settings a rollout moves to; empty when none. */
export function connectionSettingsText(r: Rollout): string {
  const s = r.spec.connectionSettings;
  if (!s) return '';
  const parts = (['opamp', 'ownMetrics', 'ownTraces', 'ownLogs'] as const).filter((k) => s[k]?.endpoint).map((k) => `${k} ${s[k]!.endpoint}`);
  if (s.heartbeatIntervalSeconds !== undefined) parts.push(`heartbeat ${s.heartbeatIntervalSeconds} s`);
  return parts.join(', ');
}

export function RolloutsPage() {
  const { canWrite } = useSession();
  const q = useQuery({ queryKey: ['rollouts'], queryFn: () => api<ResourceList<Rollout>>('/rollouts', { query: { limit: 200 } }) });
  return (
    <>
      <div className="title-row">
        <h1>Rollouts</h1>
        {canWrite && (
          <Link className="button" to="/rollouts/new">
            New rollout
          </Link>
        )}
      </div>
      <p>A rollout moves a group to new config revisions in stages, watching each stage before the next, and rolls back by itself when a gate trips.</p>
      <ProblemMessage error={q.error} />
      {q.data && (
        <div className="table-wrap">
          <table aria-label="Rollouts">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Group</th>
                <th scope="col">Moves to</th>
                <th scope="col">Phase</th>
                <th scope="col">Stage</th>
                <th scope="col">Reached</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {q.data.items.map((r) => (
                <tr key={r.metadata.name}>
                  <th scope="row">
                    <Link to={`/rollouts/${encodeURIComponent(r.metadata.name)}`}>{r.metadata.name}</Link>
                  </th>
                  <td>
                    <Link to={`/groups/${encodeURIComponent(r.spec.target.group)}`}>{r.spec.target.group}</Link>
                  </td>
                  <td>{[configsText(r), packagesText(r)].filter(Boolean).join('; ')}</td>
                  <td>
                    <span className={`phase phase-${r.status.phase.toLowerCase()}`}>{r.status.phase}</span>
                  </td>
                  <td>{stageText(r)}</td>
                  <td>
                    {r.status.reached}
                    {r.status.targetAgents !== undefined ? ` / ${r.status.targetAgents}` : ''}
                  </td>
                  <td>{when(r.metadata.createdAt)}</td>
                </tr>
              ))}
              {q.data.items.length === 0 && (
                <tr>
                  <td colSpan={7}>No rollouts yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
