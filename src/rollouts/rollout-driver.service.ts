import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { AgentGroupsService } from '../agent-groups/agent-groups.service';
import { AgentsService } from '../agents/agents.service';
import { FleetJobs } from '../cluster/fleet-jobs.service';
import { DesiredStateEvents } from '../common/desired-state-events';
import type { HeldLease } from '../cluster/lease.service';
import { governedQuery } from '../desired-state/config-precedence';
import { DesiredStateService, isProblem } from '../desired-state/desired-state.service';
import { RemoteConfigsService } from '../remote-configs/remote-configs.service';
import { progress, withCondition } from './rollout-progress';
import { packagesText, packageTarget } from './package-progress';
import { settingsText } from './connection-settings-progress';
import { connectionSettingsToStored } from '../agent-groups/agent-group.mapper';
import { withPackageVersions } from '../desired-state/package-policy';
import { PackageCatalogue } from '../packages/package-catalogue';
import { isDataPlaneMetric } from './gate-evaluator';
import { AgentStatusExtensions } from '../agents/agent-status-extensions';
import type { RolloutAgentFacts } from '../agents/agents.service';

/** How many agents outside the stage a data-plane gate with vsControl asks about (a sample of the control group). */
const MAX_CONTROL_AGENTS = 200;
import { PackageTarget, Rollout } from './rollout.schema';
import { RolloutsService } from './rollouts.service';

export const ROLLOUTS_JOB = 'rollouts';
const TICK_MS = 1000;
/** With nothing moving, the rollouts are looked at again this often even without a change heard (a missed bus message). */
const IDLE_RECHECK_MS = 15_000;
/** Steps of one rollout in one tick: a step that passed a stage is followed by the next at once. */
const MAX_STEPS_PER_TICK = 3;

/**
 * Drives every Pending and Progressing rollout, one step per tick (a passed stage is followed at
 * once by the next stage's step, and a bake's end is looked at when it comes), on the one replica
 * holding the 'rollouts' lease (FleetJobs). A step reads the rollout, the group's governed agents and
 * what they report, decides with `progress` (pure) and stores the result; agents get what they
 * should through desired state (the overlay) and hash-gated delivery, so a step repeated after a
 * restart sends nothing an agent already has.
 */
@Injectable()
export class RolloutDriver implements OnApplicationBootstrap {
  private readonly logger = new Logger('Rollouts');
  /** Something may move: a rollout change was heard (here or over the bus), or the last look found one moving. */
  private awake = true;
  /** Whether to look for groups that hold configs back without a rollout (see tick). */
  private heldBackDue = true;
  private lastLook = 0;

  constructor(
    private readonly rollouts: RolloutsService,
    private readonly groups: AgentGroupsService,
    private readonly agents: AgentsService,
    private readonly desired: DesiredStateService,
    private readonly jobs: FleetJobs,
    private readonly remoteConfigs: RemoteConfigsService,
    private readonly events: DesiredStateEvents,
    private readonly extensions: AgentStatusExtensions,
    /** The package catalogue (packages module); without it a rollout of packages cannot start. */
    @Optional() private readonly catalogue?: PackageCatalogue,
  ) {}

  onApplicationBootstrap(): void {
    this.events.on('changed', (c) => {
      if (c.reason === 'rollout.changed') this.awake = true;
      // A group changed (a policy rollout that ended settles its group this way): see what it holds back.
      if (c.reason.startsWith('agentgroup.')) this.awake = this.heldBackDue = true;
    });
    this.jobs.schedule(ROLLOUTS_JOB, TICK_MS, (lease) => this.tick(lease));
  }

  /** One step of every rollout that moves; a failing one is logged and tried again next tick. */
  async tick(lease: HeldLease): Promise<void> {
    // An idle fleet costs no database reads per second: only a heard change or the slow recheck looks.
    const idleRecheck = Date.now() - this.lastLook >= IDLE_RECHECK_MS;
    if (!this.awake && !idleRecheck) return;
    this.awake = false;
    this.lastLook = Date.now();
    // Groups whose rollout policy holds configs back without a rollout to move them (a newer
    // revision came during one, or starting one failed): their rollout starts here. Looked for
    // after a group changed and at the slow recheck, not every tick.
    if (this.heldBackDue || idleRecheck) {
      this.heldBackDue = false;
      for (const group of await this.groups.heldBack()) {
        if (lease.signal.aborted) return;
        await this.groups
          .startHeldBack(group)
          .catch((e) => this.logger.warn(`agentgroup ${group}: starting its rollout failed: ${e instanceof Error ? e.message : e}`));
      }
    }
    const moving = await this.rollouts.inPhases(['Pending', 'Progressing']);
    if (moving.length > 0) this.awake = true;
    for (const r of moving) {
      if (lease.signal.aborted) return;
      // A passed stage does not cost a tick before the next one reaches its agents. The lock is
      // taken per step: an operator's action waiting for it (pause, abort) comes in between.
      for (let n = 0; n < MAX_STEPS_PER_TICK; n++) {
        const again = await this.rollouts
          .locked(r._id, () => this.step(r._id, lease))
          .catch((e) => this.logger.warn(`rollout ${r._id}: step failed: ${e instanceof Error ? e.message : e}`));
        if (!again) break;
      }
    }
  }

  /**
   * One step; true when it passed a stage, so the next step (the next stage reaching its agents)
   * can go on at once. Starting is not followed at once: a rollout created and paused straight
   * away has reached no agent.
   */
  private async step(name: string, lease: HeldLease): Promise<boolean> {
    const r = await this.rollouts.get(name);
    if (r.phase !== 'Pending' && r.phase !== 'Progressing') return false;
    const now = new Date();
    const active = await this.groups.listActive();
    const group = active.find((g) => g.name === r.group);
    const rule = governedQuery(active, r.group);
    if (!group || !rule) {
      await this.end(r, 'Aborted', 'GroupGone', `agentgroup "${r.group}" no longer exists`, now);
      return false;
    }

    if (r.phase === 'Pending') {
      // Revisions are pinned now: a config revised during the rollout does not slip into it.
      const latest = await this.remoteConfigs.latestRevisions(r.spec.configs.map((c) => c.remoteConfig));
      const pinned = r.spec.configs.map((c) => ({ ...c, revision: c.revision ?? latest.get(c.remoteConfig) }));
      let toHash: string | undefined;
      if (pinned.length) {
        const map = await this.desired.mapOf(pinned, r.group, r._id);
        if (isProblem(map)) {
          await this.end(r, 'Aborted', 'ConfigUnavailable', map.error, now);
          return false;
        }
        toHash = map.hashHex;
      }
      // Package versions are looked up now: the hashes an agent running one of their files reports.
      let packageTargets: PackageTarget[] | undefined;
      if (r.spec.packages?.length) {
        packageTargets = [];
        for (const p of r.spec.packages) {
          const found = await this.catalogue?.find(p.name, p.version);
          if (!found) {
            await this.end(r, 'Aborted', 'PackageUnavailable', `package "${p.name}" has no version ${p.version} in the catalogue`, now);
            return false;
          }
          packageTargets.push(packageTarget(p.name, p.version, found.fileHashes));
        }
      }
      const what = [
        ...(pinned.length ? [`${pinned.map((c) => `${c.remoteConfig}@${c.revision}`).join(', ')} (hash ${toHash!.slice(0, 12)})`] : []),
        ...(r.spec.packages?.length ? [`packages ${packagesText(r.spec.packages)}`] : []),
        ...(r.spec.connectionSettings ? [`connection settings (${settingsText(r.spec.connectionSettings)})`] : []),
      ].join(' and ');
      const status = withCondition(
        {
          ...r.status,
          phase: 'Progressing',
          stage: 0,
          pinned,
          from: group.configs,
          toHash,
          // What the group's agents get (under its policy: the versions held back).
          ...(packageTargets ? { packageTargets, fromPackages: group.packages.map((p) => ({ ...p })) } : {}),
          // What the group's agents get now (under its policy: the settings held back); `{}` for none.
          ...(r.spec.connectionSettings ? { fromConnectionSettings: connectionSettingsToStored(group.connectionSettings ?? {}) } : {}),
          stageStartedAt: undefined,
          bakeStartedAt: undefined,
        },
        { type: 'Progressing', reason: 'Started', message: `moving agentgroup ${r.group} to ${what}` },
        now,
      );
      if (!lease.signal.aborted) await this.rollouts.saveStep(r, status, r.reached, 'Started');
      return false;
    }

    const target = await this.agents.rolloutFacts(rule.requirements, rule.extra);
    const reachedSet = new Set(r.reached);
    const effective = r.spec.gates.some((g) => g.metric === 'effectiveMismatch')
      ? await this.agents.effectiveConfigHashes(target.filter((f) => reachedSet.has(f.uid)).map((f) => f.uid))
      : undefined;
    const conditions = r.spec.gates.some((g) => isDataPlaneMetric(g.metric))
      ? await this.dataPlaneConditions(
          target.filter((f) => reachedSet.has(f.uid)),
          r.spec.gates.some((g) => g.vsControl && isDataPlaneMetric(g.metric)) ? target.filter((f) => !reachedSet.has(f.uid)).slice(0, MAX_CONTROL_AGENTS) : [],
        )
      : undefined;
    const step = progress({ name: r._id, spec: r.spec, status: r.status, reached: r.reached, target, effective, conditions, now });
    if (lease.signal.aborted) return false;
    if (step.outcome === 'succeeded') {
      // The group now says what its agents run; then the overlay ends (both give the same map).
      // A rollout of the group's policy delivered the group's own configs (they stay as written); any other says what its agents run.
      if (r.spec.fromPolicy) {
        await this.groups.settlePolicyRollout(r.group, {
          configs: r.spec.configs.length ? (step.status.pinned ?? r.spec.configs) : undefined,
          packages: !!r.spec.packages?.length,
          connectionSettings: !!r.spec.connectionSettings,
        });
      } else {
        if (r.spec.configs.length) await this.groups.replaceConfigs(r.group, step.status.pinned ?? r.spec.configs);
        if (r.spec.packages?.length) await this.groups.replacePackages(r.group, withPackageVersions(group.packages, r.spec.packages));
        if (r.spec.connectionSettings) await this.groups.replaceConnectionSettings(r.group, r.spec.connectionSettings);
      }
    }
    if (JSON.stringify([step.status, step.reached]) === JSON.stringify([r.status, r.reached])) return false;
    const reason = step.status.conditions[step.status.conditions.length - 1]?.reason ?? 'Step';
    await this.rollouts.saveStep(r, step.status, step.reached, reason);
    if (step.status.bakeStartedAt && !r.status.bakeStartedAt) this.wakeAfterBake(r.spec, step.status);
    if (step.status.phase !== r.phase) this.logger.log(`rollout ${r._id}: ${r.phase} → ${step.status.phase} (${reason})`);
    return step.status.phase === 'Progressing' && step.status.stage !== r.status.stage;
  }

  /** A bake ends at a known time: the driver looks then, not at the next tick after it. */
  private wakeAfterBake(spec: Rollout['spec'], status: Rollout['status']): void {
    const stages = spec.stages ?? [];
    const seconds = spec.geometric ? spec.geometric.bakeSeconds : stages[Math.min(status.stage, stages.length - 1)]?.bakeSeconds;
    if (!seconds || !status.bakeStartedAt) return;
    // On the lease holder only (runNow checks); a tick in progress then is waited for instead, and the next tick looks.
    setTimeout(
      () => {
        this.awake = true;
        void this.jobs.runNow(ROLLOUTS_JOB);
      },
      Math.max(0, new Date(status.bakeStartedAt).getTime() + seconds * 1000 - Date.now()),
    ).unref();
  }

  private async end(r: Rollout, phase: 'Aborted', reason: string, message: string, now: Date): Promise<void> {
    await this.rollouts.saveStep(r, withCondition({ ...r.status, phase }, { type: phase, reason, message }, now), r.reached, reason);
  }

  /**
   * The data-plane conditions of these agents (from their own telemetry, kept on the replica that
   * holds each one's connection), as type → status: every agent of the stage, and at most
   * MAX_CONTROL_AGENTS of the control group, a few at a time, so a large fleet costs a bounded
   * number of requests per step.
   */
  private async dataPlaneConditions(stage: readonly RolloutAgentFacts[], control: readonly RolloutAgentFacts[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    const asked = [...stage, ...control];
    for (let i = 0; i < asked.length; i += 20) {
      await Promise.all(
        asked.slice(i, i + 20).map(async (f) => {
          const list = (await this.extensions.conditionsOfUid(f.uid, { connected: f.connected, healthy: f.healthy, replicaId: f.replicaId })) as {
            type?: string;
            status?: string;
          }[];
          out.set(f.uid, Object.fromEntries(list.filter((c) => c.type && c.status).map((c) => [c.type!, c.status!])));
        }),
      );
    }
    return out;
  }
}
