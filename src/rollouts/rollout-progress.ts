import type { RolloutAgentFacts } from '../agents/agents.service';
import { matchesAgent } from '../common/selectors';
import { AgentObservation, judgeStage } from './gate-evaluator';
import { combinedState, observePackages, packageCounts, PackageState } from './package-progress';
import { observeConnectionSettings, SettingsState, settingsCounts, takesConnectionSettings } from './connection-settings-progress';
import type { PackageTarget, RolloutCondition, RolloutStatus, StageCounts, StoredRolloutSpec, StoredStage } from './rollout.schema';
import { geometricStages, planStages, StageSpec } from './stage-planner';

/**
 * One step of a Progressing rollout, decided from what is stored and what the agents report,
 * with no I/O: which agents the current stage reaches, whether they have settled, the gates,
 * the bake time, the approval wait, then the next stage, success, or rollback/pause. The caller
 * (RolloutDriver) stores the result; everything the next step needs is in the status, so a
 * restarted server goes on where it was.
 */

export const MAX_CONDITIONS = 50;
export const MAX_FAILED_AGENTS = 100;

export interface ProgressInput {
  name: string;
  spec: StoredRolloutSpec;
  status: RolloutStatus;
  reached: readonly string[];
  /**
   * Every agent the target group governs now. Stages pick among those connected that accept
   * remote config (an agent offline now is not waited for; it gets the group's config, which is
   * the new one once the rollout succeeds); every agent reached is judged, connected or not.
   */
  target: readonly RolloutAgentFacts[];
  /** Effective config hash (hex) per agent, when an effectiveMismatch gate needs them. */
  effective?: ReadonlyMap<string, string>;
  /** Data-plane conditions (type → status) per agent, when a data-plane gate needs them. */
  conditions?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  now: Date;
}

export interface ProgressStep {
  status: RolloutStatus;
  reached: string[];
  /** What the caller must still do: write the configs into the group and end (succeeded), or end the overlay (rolledBack). */
  outcome?: 'succeeded' | 'rolledBack';
}

/** A stage as planned: what the planner needs and what the step needs. */
interface PlannedStage {
  spec: StageSpec;
  bakeSeconds: number;
  approval: boolean;
}

/** The stages of a spec for a target of `total` agents (geometric plans depend on the size). */
export function plannedStages(spec: StoredRolloutSpec, views: ReadonlyMap<string, RolloutAgentFacts>, total: number): PlannedStage[] {
  if (spec.geometric) {
    const g = spec.geometric;
    return geometricStages(g.initial, g.multiplier, total).map((s) => ({ spec: s, bakeSeconds: g.bakeSeconds ?? 0, approval: false }));
  }
  return (spec.stages ?? []).map((s: StoredStage) => {
    const req = s.requirements;
    const matches = req?.length ? (uid: string) => !!views.get(uid) && matchesAgent(req, views.get(uid)!) : undefined;
    return { spec: { count: s.count, percent: s.percent, matches }, bakeSeconds: s.bakeSeconds ?? 0, approval: !!s.approval };
  });
}

/** What the rollout moves: the config map of hash `toHash`, package versions, connection settings (named by the rollout), or several. */
export interface RolloutTargets {
  toHash?: string;
  packages?: readonly PackageTarget[];
  /** The rollout's name, when it moves connection settings (the offer an agent holds names the rollout it came from). */
  settingsOf?: string;
}

/** What the rollout sees of one agent, with each moved part's own state besides the combined one. */
export type RolloutObservation = AgentObservation & {
  packageState?: PackageState;
  packageError?: string;
  settingsState?: SettingsState;
  settingsError?: string;
};

/** What a rollout sees of an agent it sent its targets to (its config, its packages, its connection settings: the worst of them). */
export function observe(
  f: RolloutAgentFacts,
  targets: RolloutTargets,
  effective?: ReadonlyMap<string, string>,
  conditions?: ReadonlyMap<string, Readonly<Record<string, string>>>,
): RolloutObservation {
  const r = f.reported;
  const toHash = targets.toHash;
  let config: AgentObservation['state'] | undefined;
  // A stored status keeps a rollout of packages or settings only as `toHash: null`: no config to judge then.
  if (toHash || (!targets.packages?.length && !targets.settingsOf)) {
    config = 'pending';
    if (r && toHash && r.hash === toHash) {
      config = r.status === 'APPLIED' ? 'applied' : r.status === 'FAILED' ? 'failed' : r.status === 'APPLYING' ? 'applying' : 'pending';
    }
  }
  const pkg = targets.packages?.length ? observePackages(targets.packages, f.packages) : undefined;
  const cs = targets.settingsOf
    ? observeConnectionSettings(targets.settingsOf, { capabilities: f.capabilities, offer: f.connectionSettingsOffer, status: f.connectionSettingsStatus })
    : undefined;
  const eff = effective?.get(f.uid);
  return {
    uid: f.uid,
    state: combinedState(config, pkg?.state, cs?.state),
    ...(pkg ? { packageState: pkg.state, packageError: pkg.error } : {}),
    ...(cs ? { settingsState: cs.state, settingsError: cs.error } : {}),
    connected: f.connected,
    healthy: f.healthy,
    effectiveMatches: eff === undefined ? undefined : eff === toHash,
    conditions: conditions?.get(f.uid),
  };
}

export function withCondition(status: RolloutStatus, c: Omit<RolloutCondition, 'at'>, at: Date): RolloutStatus {
  return { ...status, conditions: [...status.conditions, { ...c, at }].slice(-MAX_CONDITIONS) };
}

function counts(obs: readonly RolloutObservation[], timedOut: boolean, moves: { packages: boolean; settings: boolean }): StageCounts {
  const final = obs.map((o) => (timedOut && (o.state === 'pending' || o.state === 'applying') ? { ...o, state: 'failed' as const } : o));
  const n = (s: AgentObservation['state']) => final.filter((o) => o.state === s).length;
  const c: StageCounts = { reached: obs.length, applied: n('applied'), failed: n('failed'), pending: n('pending') + n('applying') };
  if (moves.packages)
    c.packages = packageCounts(
      obs.map((o) => o.packageState ?? 'pending'),
      timedOut,
    );
  if (moves.settings)
    c.connectionSettings = settingsCounts(
      obs.map((o) => o.settingsState ?? 'pending'),
      timedOut,
    );
  return c;
}

/**
 * Whether an agent can take what the rollout moves: remote config for configs, packages for
 * packages, and for connection settings a part of the new settings or of the group's from before
 * (see takesConnectionSettings).
 */
function canTake(f: RolloutAgentFacts, spec: StoredRolloutSpec, status: RolloutStatus): boolean {
  return (
    (spec.configs.length === 0 || f.acceptsRemoteConfig) &&
    (!spec.packages?.length || f.acceptsPackages) &&
    (!spec.connectionSettings || takesConnectionSettings(f.capabilities, spec.connectionSettings, status.fromConnectionSettings))
  );
}

/** `config`, `packages`, `connection settings`, or several joined by "and" (what the rollout moves). */
export function whatMoves(spec: Pick<StoredRolloutSpec, 'configs' | 'packages' | 'connectionSettings'>): string {
  const parts = [
    ...(spec.configs.length ? ['config'] : []),
    ...(spec.packages?.length ? ['packages'] : []),
    ...(spec.connectionSettings ? ['connection settings'] : []),
  ];
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : (parts[0] ?? 'config');
}

/** One step of a Progressing rollout (see the file comment). */
export function progress(input: ProgressInput): ProgressStep {
  const { spec, now } = input;
  let status: RolloutStatus = { ...input.status, stages: [...input.status.stages] };
  let reached = [...input.reached];
  const views = new Map(input.target.map((f) => [f.uid, f]));
  // Stages pick among the agents connected now, and the agents already reached keep their place
  // even when they are gone: a stage never reaches another agent in the stead of one that
  // disconnected (else a change that makes agents disconnect, a bad OpAMP endpoint, would be sent
  // to one agent after another before any gate could judge it).
  const wasReached = new Set(input.reached);
  const eligible = input.target.filter((f) => (f.connected || wasReached.has(f.uid)) && canTake(f, spec, input.status));
  const stages = plannedStages(spec, views, eligible.length);
  status.stageCount = stages.length;
  status.targetAgents = eligible.length;
  const last = stages.length - 1;
  const i = Math.min(status.stage, last);
  const stage = stages[i];
  const label = `stage ${i + 1}/${stages.length}`;

  // Approval is asked for before a stage reaches anyone.
  if (stage.approval && (status.approvedStage ?? -1) < i && !status.stageStartedAt) {
    status = withCondition(
      { ...status, phase: 'Paused' },
      { type: 'Paused', reason: 'AwaitingApproval', message: `${label} waits for approval (opampctl rollout approve ${input.name})` },
      now,
    );
    return { status, reached };
  }

  const plan = planStages(
    input.name,
    eligible.map((f) => f.uid),
    stages.map((s) => s.spec),
  );
  const want = plan[i] ?? [];
  const had = new Set(reached);
  const newly = want.filter((u) => !had.has(u));
  if (newly.length) {
    reached = [...reached, ...newly];
    if (!status.stageStartedAt) {
      status.stageStartedAt = now;
      status = withCondition(
        status,
        { type: 'Progressing', reason: 'StageStarted', message: `${label} reaches ${want.length} of ${eligible.length} agents` },
        now,
      );
    }
    const before = status.stages[i];
    status.stages[i] = {
      reached: want.length,
      applied: before?.applied ?? 0,
      failed: before?.failed ?? 0,
      pending: newly.length + (before?.pending ?? 0),
      ...(spec.packages?.length
        ? {
            packages: {
              installed: before?.packages?.installed ?? 0,
              installing: before?.packages?.installing ?? 0,
              failed: before?.packages?.failed ?? 0,
              pending: newly.length + (before?.packages?.pending ?? 0),
            },
          }
        : {}),
      ...(spec.connectionSettings
        ? {
            connectionSettings: {
              applied: before?.connectionSettings?.applied ?? 0,
              applying: before?.connectionSettings?.applying ?? 0,
              failed: before?.connectionSettings?.failed ?? 0,
              pending: newly.length + (before?.connectionSettings?.pending ?? 0),
            },
          }
        : {}),
    };
    return { status, reached };
  }
  if (!status.stageStartedAt) {
    status.stageStartedAt = now;
    status = withCondition(
      status,
      { type: 'Progressing', reason: 'StageStarted', message: `${label} reaches ${want.length} of ${eligible.length} agents` },
      now,
    );
  }

  // The agents judged: every agent the rollout reached that the group still governs; the rest are the control.
  const reachedSet = new Set(reached);
  const targets: RolloutTargets = { toHash: status.toHash, packages: status.packageTargets, settingsOf: spec.connectionSettings ? input.name : undefined };
  const obs = input.target.filter((f) => reachedSet.has(f.uid)).map((f) => observe(f, targets, input.effective, input.conditions));
  const control = eligible.filter((f) => !reachedSet.has(f.uid)).map((f) => observe(f, {}, undefined, input.conditions));
  const timedOut = now.getTime() - new Date(status.stageStartedAt ?? now).getTime() >= spec.applyTimeoutSeconds * 1000;
  const verdict = judgeStage(obs, spec.gates, { timedOut, control });
  status.stages[i] = counts(obs, timedOut, { packages: !!spec.packages?.length, settings: !!spec.connectionSettings });
  status.stages[i].reached = want.length;
  if (verdict.kind === 'waiting') return { status, reached };

  status.gates = verdict.results;
  if (verdict.kind === 'tripped' && status.overriddenStage === i) {
    // Resumed by hand after its gates tripped: the operator's call, recorded once.
    if (!status.conditions.some((c) => c.reason === 'GateOverridden' && c.message.startsWith(`${label}:`))) {
      status = withCondition(status, { type: 'Progressing', reason: 'GateOverridden', message: `${label}: going on despite ${verdict.reason}` }, now);
    }
  } else if (verdict.kind === 'tripped') {
    const failed = obs
      .map((o) => ({ o, f: views.get(o.uid)! }))
      .filter(
        ({ o }) =>
          o.state !== 'applied' || !o.connected || o.healthy === false || o.effectiveMatches === false || Object.values(o.conditions ?? {}).includes('True'),
      )
      .map(({ o, f }) => ({ uid: o.uid, error: agentError(o, f, timedOut) }))
      .slice(0, MAX_FAILED_AGENTS);
    status.failedAgents = failed;
    const rollback = spec.onGateTrip === 'rollback';
    status = withCondition(
      { ...status, phase: rollback ? 'RolledBack' : 'Paused' },
      { type: rollback ? 'RolledBack' : 'Paused', reason: 'GateTripped', message: `${label}: ${verdict.reason}` },
      now,
    );
    return { status, reached, outcome: rollback ? 'rolledBack' : undefined };
  }

  if (stage.bakeSeconds > 0) {
    if (!status.bakeStartedAt) {
      status.bakeStartedAt = now;
      return {
        status: withCondition(status, { type: 'Progressing', reason: 'Baking', message: `${label} passed its gates; baking for ${stage.bakeSeconds}s` }, now),
        reached,
      };
    }
    if (now.getTime() - new Date(status.bakeStartedAt).getTime() < stage.bakeSeconds * 1000) return { status, reached };
  }

  if (i >= last) {
    status = withCondition(
      { ...status, phase: 'Succeeded' },
      {
        type: 'Succeeded',
        reason: 'AllStagesPassed',
        message: `${stages.length} stages passed; ${obs.length} agents run the new ${whatMoves(spec)}`,
      },
      now,
    );
    return { status, reached, outcome: 'succeeded' };
  }
  status = withCondition(
    { ...status, stage: i + 1, stageStartedAt: undefined, bakeStartedAt: undefined },
    { type: 'Progressing', reason: 'StagePassed', message: `${label} passed (${obs.length} agents)` },
    now,
  );
  return { status, reached };
}

function agentError(o: RolloutObservation, f: RolloutAgentFacts, timedOut: boolean): string {
  if (o.packageState === 'failed') return o.packageError ?? 'reported INSTALL_FAILED';
  if (o.settingsState === 'failed') return o.settingsError ?? 'connection settings: reported FAILED';
  if (o.state === 'failed') return f.reported?.errorMessage || 'reported FAILED';
  if (o.state !== 'applied') {
    if (o.packageState !== undefined && o.packageState !== 'installed') return timedOut ? 'did not install the package in time' : `package ${o.packageState}`;
    if (o.settingsState !== undefined && o.settingsState !== 'applied') {
      // Sent new settings and gone: what a bad OpAMP endpoint looks like from here.
      if (o.settingsState === 'applying' && !o.connected) return 'disconnected after it was sent the new connection settings, and did not report them applied';
      return timedOut ? 'did not apply the connection settings in time' : `connection settings ${o.settingsState}`;
    }
    return timedOut ? 'did not apply the config in time' : `config ${o.state}`;
  }
  if (!o.connected) return 'disconnected after applying';
  if (o.healthy === false) return 'unhealthy after applying';
  if (o.effectiveMatches === false) return 'effective config does not match the config sent';
  const on = Object.entries(o.conditions ?? {})
    .filter(([, v]) => v === 'True')
    .map(([k]) => k);
  return on.length ? `${on.join(', ')} after applying (its own telemetry)` : 'effective config does not match the config sent';
}
