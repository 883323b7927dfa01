import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { when } from '../format';
import { useSession } from '../session';
import type { Rollout, RolloutStageSpec } from '../types';
import { configsText, connectionSettingsText, packagesText, stageText } from './RolloutsPage';

type Action = 'pause' | 'resume' | 'approve' | 'abort' | 'undo' | 'retry';

const ACTIVE = ['Pending', 'Progressing', 'Paused'];

/** The actions the API takes in the rollout's phase (the same rules as the server's; it refuses the rest with 409). */
function actionsFor(r: Rollout): { action: Action; label: string; danger?: boolean }[] {
  const p = r.status.phase;
  const last = r.status.conditions.at(-1)?.reason;
  const out: { action: Action; label: string; danger?: boolean }[] = [];
  if (p === 'Progressing' || p === 'Pending') out.push({ action: 'pause', label: 'Pause' });
  if (p === 'Paused') out.push({ action: 'resume', label: last === 'GateTripped' ? 'Resume past the gate' : 'Resume' });
  if (last === 'AwaitingApproval' && ACTIVE.includes(p)) out.push({ action: 'approve', label: `Approve stage ${r.status.stage + 1}` });
  if (ACTIVE.includes(p)) out.push({ action: 'abort', label: 'Abort', danger: true });
  if (p !== 'RolledBack') out.push({ action: 'undo', label: 'Roll back', danger: true });
  if (p === 'RolledBack') out.push({ action: 'retry', label: 'Retry from stage 1' });
  return out;
}

function stageSpecText(s: RolloutStageSpec): string {
  if (typeof s === 'string') return s.endsWith('%') ? `${s} of the agents` : `${s} agent${s === '1' ? '' : 's'}`;
  const parts = [s.stage ? stageSpecText(s.stage) : 'every agent its selector admits'];
  if (s.selector) parts.push(`selector ${typeof s.selector === 'string' ? s.selector : JSON.stringify(s.selector)}`);
  if (s.bakeSeconds) parts.push(`bake ${s.bakeSeconds} s`);
  if (s.approval) parts.push('waits for approval');
  return parts.join(', ');
}

const GATE_WORDS: Record<string, string> = {
  applyFailed: 'config FAILED or package INSTALL_FAILED',
  disconnected: 'disconnected',
  unhealthy: 'unhealthy',
  effectiveMismatch: 'effective config not the one sent',
  exportFailing: 'export failing (own telemetry)',
  idle: 'idle: accepting nothing (own telemetry)',
  restarting: 'restarting (own telemetry)',
  noTelemetry: 'sending no telemetry',
};

export function RolloutPage() {
  const { name = '' } = useParams();
  const { canWrite } = useSession();
  const client = useQueryClient();
  const q = useQuery({ queryKey: ['rollout', name], queryFn: () => api<Rollout>(`/rollouts/${encodeURIComponent(name)}`) });
  const act = useMutation({
    mutationFn: (action: Action) => api<Rollout>(`/rollouts/${encodeURIComponent(name)}/${action}`, { method: 'POST' }),
    onSuccess: (r) => {
      client.setQueryData(['rollout', name], r);
      void client.invalidateQueries({ queryKey: ['rollouts'] });
    },
  });
  if (q.error) return <ProblemMessage error={q.error} />;
  if (!q.data) return <p role="status">Loading…</p>;
  const r = q.data;
  const stages = Array.isArray(r.spec.stages) ? r.spec.stages : undefined;
  const geometric = Array.isArray(r.spec.stages) ? undefined : r.spec.stages;
  const rows = Math.max(stages?.length ?? 0, r.status.stages.length, r.status.stageCount ?? 0);
  const movesPackages = (r.spec.packages?.length ?? 0) > 0;
  const movesSettings = !!r.spec.connectionSettings;
  return (
    <>
      <p>
        <Link to="/rollouts">Rollouts</Link> /
      </p>
      <h1>{r.metadata.name}</h1>
      <dl className="kv">
        <div>
          <dt>Phase</dt>
          <dd data-testid="rollout-phase">
            <span className={`phase phase-${r.status.phase.toLowerCase()}`}>{r.status.phase}</span>
          </dd>
        </div>
        <div>
          <dt>Group</dt>
          <dd>
            <Link to={`/groups/${encodeURIComponent(r.spec.target.group)}`}>{r.spec.target.group}</Link>
          </dd>
        </div>
        {r.spec.configs.length > 0 && (
          <div>
            <dt>Configs</dt>
            <dd>{configsText(r)}</dd>
          </div>
        )}
        {(r.spec.packages?.length ?? 0) > 0 && (
          <div>
            <dt>Packages</dt>
            <dd data-testid="rollout-packages">{packagesText(r)}</dd>
          </div>
        )}
        {movesSettings && (
          <div>
            <dt>Connection settings</dt>
            <dd data-testid="rollout-connection-settings">{connectionSettingsText(r)}</dd>
          </div>
        )}
        <div>
          <dt>Stage</dt>
          <dd data-testid="rollout-stage">{stageText(r)}</dd>
        </div>
        <div>
          <dt>Agents reached</dt>
          <dd data-testid="rollout-reached">
            {r.status.reached}
            {r.status.targetAgents !== undefined ? ` of ${r.status.targetAgents}` : ''}
          </dd>
        </div>
        <div>
          <dt>On a tripped gate</dt>
          <dd>{r.spec.onGateTrip === 'rollback' ? 'roll back' : 'pause'}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{when(r.metadata.createdAt)}</dd>
        </div>
      </dl>
      {canWrite && (
        <div className="actions" role="group" aria-label="Rollout actions">
          {actionsFor(r).map((a) => (
            <button key={a.action} type="button" className={a.danger ? 'danger' : undefined} disabled={act.isPending} onClick={() => act.mutate(a.action)}>
              {a.label}
            </button>
          ))}
        </div>
      )}
      <ProblemMessage error={act.error} />

      <section aria-labelledby="h-stages">
        <h2 id="h-stages">Stages</h2>
        {geometric && (
          <p>
            Geometric: {geometric.initial} agent{geometric.initial === 1 ? '' : 's'} first, then ×{geometric.multiplier} each stage
            {geometric.bakeSeconds ? `, bake ${geometric.bakeSeconds} s` : ''}.
          </p>
        )}
        <div className="table-wrap">
          <table aria-label="Stages">
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col">Plan</th>
                <th scope="col">Reached</th>
                <th scope="col">Applied</th>
                <th scope="col">Failed</th>
                <th scope="col">Pending</th>
                {movesPackages && <th scope="col">Packages installed / installing / failed / pending</th>}
                {movesSettings && <th scope="col">Connection settings applied / applying / failed / pending</th>}
              </tr>
            </thead>
            <tbody>
              {Array.from({ length: rows }, (_, i) => {
                const counts = r.status.stages[i];
                const current = i === r.status.stage && ACTIVE.includes(r.status.phase);
                return (
                  <tr key={i} aria-current={current ? 'step' : undefined} className={current ? 'current' : undefined}>
                    <th scope="row">{i + 1}</th>
                    <td>{stages?.[i] !== undefined ? stageSpecText(stages[i]) : '—'}</td>
                    <td>{counts?.reached ?? '—'}</td>
                    <td>{counts?.applied ?? '—'}</td>
                    <td className={counts?.failed ? 'error-text' : undefined}>{counts?.failed ?? '—'}</td>
                    <td>{counts?.pending ?? '—'}</td>
                    {movesPackages && (
                      <td>
                        {counts?.packages
                          ? `${counts.packages.installed} / ${counts.packages.installing} / ${counts.packages.failed} / ${counts.packages.pending}`
                          : '—'}
                      </td>
                    )}
                    {movesSettings && (
                      <td>
                        {counts?.connectionSettings
                          ? `${counts.connectionSettings.applied} / ${counts.connectionSettings.applying} / ${counts.connectionSettings.failed} / ${counts.connectionSettings.pending}`
                          : '—'}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="h-gates">
        <h2 id="h-gates">Gates</h2>
        {r.spec.gates.length === 0 ? (
          <p>No gates: each stage goes on once its agents applied the config and installed the packages.</p>
        ) : (
          <ul data-testid="rollout-gates">
            {r.spec.gates.map((g) => {
              const res = r.status.gates.find((x) => x.metric === g.metric);
              return (
                <li key={g.metric}>
                  {GATE_WORDS[g.metric] ?? g.metric}: at most {Math.round(g.maxRatio * 100)} % of the stage{g.vsControl ? ' above the control group' : ''}
                  {res && (
                    <>
                      {' '}
                      — now {res.agents} of {res.of} ({Math.round(res.value * 100)} %){' '}
                      <strong className={res.passed ? undefined : 'error-text'}>{res.passed ? 'passed' : 'tripped'}</strong>
                    </>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>

      {r.status.failedAgents.length > 0 && (
        <section aria-labelledby="h-failed">
          <h2 id="h-failed">Agents that failed</h2>
          <ul data-testid="rollout-failed-agents">
            {r.status.failedAgents.map((f) => (
              <li key={f.uid}>
                <Link to={`/agents/${encodeURIComponent(f.uid)}`}>
                  <code>{f.uid}</code>
                </Link>
                : <span className="error-text">{f.error || 'FAILED'}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="h-history">
        <h2 id="h-history">History</h2>
        <ol className="history" data-testid="rollout-history">
          {r.status.conditions.map((c, i) => (
            <li key={i}>
              <time dateTime={c.at}>{when(c.at)}</time> <strong>{c.type}</strong> ({c.reason}): {c.message}
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}
