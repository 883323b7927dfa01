import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { toEntries } from '../agent-groups/agent-group.mapper';
import type { AgentGroup } from '../agent-groups/agent-group.schema';
import { AgentGroupsService, changedPackages } from '../agent-groups/agent-groups.service';
import { checkConfigRefs } from '../agent-groups/config-refs';
import { AgentsService } from '../agents/agents.service';
import { AuditService } from '../audit/audit.service';
import { ChangeFeed } from '../cluster/change-feed';
import { DesiredStateEvents } from '../common/desired-state-events';
import { ConflictError, InvalidError, NotFoundError } from '../common/domain-errors';
import { KeyedMutex } from '../common/keyed-mutex';
import { DesiredStateService } from '../desired-state/desired-state.service';
import type { ConfigOverlay } from '../desired-state/desired-state.types';
import { RemoteConfigsService } from '../remote-configs/remote-configs.service';
import { whatMoves, withCondition } from './rollout-progress';
import { connectionSettingsFromStored, connectionSettingsToStored } from '../agent-groups/agent-group.mapper';
import type { RolloutManifestDto } from './rollout-manifest.dto';
import { StoredPolicy, storedRolloutPolicy } from './rollout-policy';
import { ACTIVE_PHASES, hasStarted, OVERLAY_PHASES, PACKAGE_OVERLAY_PHASES, Rollout, RolloutPhase, RolloutStatus, StoredRolloutSpec } from './rollout.schema';
import { checkPackageRefs } from '../agent-groups/package-refs';
import { PackageCatalogue } from '../packages/package-catalogue';
import { packagesText } from './package-progress';
import type { PackageRef } from '../agents/agent-package-assignment';
import { RolloutsRepository } from './rollouts.repository';

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'undo' | 'approve' | 'retry';

/**
 * Rollouts: their documents, the operator's actions on them, and the overlay they lay over
 * their group's config (what desired state reads). Every write is a compare-and-set on
 * resourceVersion under a per-rollout lock shared with the driver (RolloutDriver), and a
 * change of what agents get is announced as 'rollout.changed', which reaches every replica.
 */
/** The label a rollout started by a group's rollout policy carries: the group's name. */
export const ROLLOUT_POLICY_LABEL = 'opamp-commander/rollout-policy-of';

@Injectable()
export class RolloutsService implements OnModuleInit {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly rollouts: RolloutsRepository,
    private readonly groups: AgentGroupsService,
    private readonly remoteConfigs: RemoteConfigsService,
    private readonly desired: DesiredStateService,
    private readonly events: DesiredStateEvents,
    private readonly audit: AuditService,
    private readonly agents: AgentsService,
    private readonly feed: ChangeFeed,
    /** The package catalogue (packages module); without it a rollout of packages is refused. */
    @Optional() private readonly catalogue?: PackageCatalogue,
  ) {}

  onModuleInit(): void {
    this.desired.setOverlaySource(() => this.overlays());
    this.groups.setPolicyRollouts({
      holding: async (group) => {
        const r = await this.holdingRollout(group);
        return r && { name: r._id, phase: r.phase, configs: r.spec.configs };
      },
      start: (group) => this.startForPolicy(group),
    });
  }

  /** Runs `work` with the rollout's lock held (actions and the driver's steps never interleave). */
  locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(name, work);
  }

  /**
   * The overlays desired state applies: rollouts whose reached agents get their configs and
   * packages, and rolled-back rollouts of packages, whose reached agents are offered the group's
   * previous versions forced (forward-only would otherwise keep them on the new one).
   */
  async overlays(): Promise<ConfigOverlay[]> {
    const found = await this.rollouts.inPhases(PACKAGE_OVERLAY_PHASES, { group: 1, status: 1, reached: 1, spec: 1, phase: 1 });
    const out: ConfigOverlay[] = [];
    for (const r of found.sort((a, b) => (a._id < b._id ? -1 : 1))) {
      const reached = r.reached ?? [];
      const packages = r.spec.packages?.length ? r.spec.packages : undefined;
      // Rolled back, a rollout of connection settings says nothing: the group's (previous) settings
      // come back to its reached agents by the same hash-gated delivery.
      const connectionSettings = r.spec.connectionSettings ? connectionSettingsFromStored(r.spec.connectionSettings) : undefined;
      if (OVERLAY_PHASES.includes(r.phase)) {
        out.push({
          rollout: r._id,
          group: r.group,
          configs: r.status.pinned ?? r.spec.configs,
          ...(packages ? { packages } : {}),
          ...(connectionSettings ? { connectionSettings } : {}),
          reached,
        });
      } else if (packages && reached.length) {
        out.push({ rollout: r._id, group: r.group, configs: [], packages: rollbackPackages(r), rolledBack: true, reached });
      }
    }
    return out;
  }

  /** Rollouts the driver works on now. */
  async inPhases(phases: readonly RolloutPhase[]): Promise<Rollout[]> {
    return this.rollouts.inPhases(phases);
  }

  async create(m: RolloutManifestDto): Promise<Rollout> {
    const spec = await this.checkedSpec(m);
    return this.insert(m.metadata.name, spec, toEntries(m.metadata.labels));
  }

  /**
   * The rollout a change of a group's configs or packages starts under the group's rollout
   * policy: named after the group and the resourceVersion that made the change, to the group's
   * configs when it holds configs back, and to the package versions it changed when it holds
   * packages back.
   */
  async startForPolicy(g: AgentGroup): Promise<string> {
    const suffix = `-v${g.resourceVersion}`;
    const name = `${g._id.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
    // Once per change: a rollout of it that ended (rolled back, say) is not started again by the
    // same replace sent again; a new change (a new resourceVersion) is.
    if (await this.rollouts.exists(name)) return name;
    const packages = g.deliveredPackages ? changedPackages(g.deliveredPackages, g.packages ?? []) : [];
    // Connection settings held back move as a whole: the group's new settings replace its old ones.
    const settings = g.deliveredConnectionSettings ? (g.connectionSettings ?? {}) : undefined;
    const spec: StoredRolloutSpec = {
      target: { group: g._id },
      // Only packages or settings held back: the configs do not move (they would gate on remote config).
      configs: g.deliveredConfigs || (!packages.length && !settings) ? g.configs.map((c) => ({ ...c })) : [],
      ...(packages.length ? { packages: packages.map((p) => ({ name: p.name, version: p.version, ...(p.force ? { force: true } : {}) })) } : {}),
      ...(settings ? { connectionSettings: settings } : {}),
      ...(g.rolloutPolicy as StoredPolicy),
      fromPolicy: true,
    };
    await this.insert(name, spec, [{ key: ROLLOUT_POLICY_LABEL, value: g._id }]);
    return name;
  }

  private async insert(name: string, spec: StoredRolloutSpec, labels: Rollout['labels']): Promise<Rollout> {
    return this.locked(name, async () => {
      if (await this.rollouts.exists(name)) throw new ConflictError(`rollout "${name}" already exists`);
      await this.refuseSecondRollout(spec.target.group, name);
      const now = new Date();
      const status: RolloutStatus = withCondition(
        { phase: 'Pending', stage: 0, stages: [], gates: [], conditions: [], failedAgents: [] },
        { type: 'Pending', reason: 'Created', message: `waits for the controller to start it (group ${spec.target.group})` },
        now,
      );
      const doc: Rollout = {
        _id: name,
        labels,
        spec,
        status,
        reached: [],
        group: spec.target.group,
        phase: 'Pending',
        resourceVersion: 1,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await this.rollouts.insert(doc))) throw new ConflictError(`rollout "${name}" already exists`);
      this.feed.resourceChanged('rollouts', 'ADDED', name);
      // Wakes the driver (on whichever replica holds its lease) at once.
      this.announce(doc);
      return doc;
    });
  }

  async list(limit: number, after?: string): Promise<{ items: Rollout[]; remaining: number }> {
    return this.rollouts.page(limit, after);
  }

  async get(name: string): Promise<Rollout> {
    const r = await this.rollouts.findById(name);
    if (!r) throw new NotFoundError(`rollout "${name}" not found`);
    return r;
  }

  /** Replaces labels and spec of a rollout that has not started; an identical replace changes nothing (so `apply` may repeat). */
  async replace(name: string, resourceVersion: string, m: RolloutManifestDto): Promise<Rollout> {
    const spec = await this.checkedSpec(m);
    return this.locked(name, async () => {
      const current = await this.get(name);
      if (String(current.resourceVersion) !== resourceVersion) throw this.stale(name, resourceVersion);
      const labels = toEntries(m.metadata.labels);
      if (JSON.stringify([current.spec, current.labels]) === JSON.stringify([spec, labels])) return current;
      if (current.phase !== 'Pending')
        throw new ConflictError(`rollout "${name}" has started (${current.phase}); its spec cannot change: undo or abort it and create a new one`);
      return this.commit(current, { spec, labels, group: spec.target.group });
    });
  }

  /** Deletes a rollout that no longer drives agents; one in progress must be aborted or undone first. */
  async delete(name: string): Promise<Rollout> {
    return this.locked(name, async () => {
      const current = await this.get(name);
      if (current.phase === 'Progressing' || current.phase === 'Paused') {
        throw new ConflictError(`rollout "${name}" is ${current.phase}: abort (keep agents as they are) or undo (roll back) it first`);
      }
      await this.rollouts.delete(name);
      this.feed.resourceChanged('rollouts', 'DELETED', name);
      // An aborted rollout's reached agents go back to their group's config and settings; a rolled-back one of
      // packages no longer forces its previous versions on them.
      if (current.phase === 'Aborted' || (current.phase === 'RolledBack' && current.spec.packages?.length)) this.announce(current);
      return current;
    });
  }

  /** pause, resume, abort, undo (roll back), approve the current stage, or retry a rolled-back rollout from its first stage. */
  async act(name: string, action: RolloutAction, actor: string): Promise<Rollout> {
    return this.locked(name, async () => {
      const r = await this.get(name);
      const now = new Date();
      const by = `by ${actor}`;
      const refuse = (why: string) => new ConflictError(`cannot ${action} rollout "${name}": ${why}`);
      let status = r.status;
      switch (action) {
        case 'pause':
          if (r.phase !== 'Progressing' && r.phase !== 'Pending') throw refuse(`it is ${r.phase}`);
          status = withCondition({ ...status, phase: 'Paused' }, { type: 'Paused', reason: 'PausedByUser', message: `paused ${by}` }, now);
          break;
        case 'resume':
          if (r.phase !== 'Paused') throw refuse(`it is ${r.phase}, not Paused`);
          // Resuming a stage a gate paused goes on past that gate (else it would pause again at once).
          if (lastReason(status) === 'GateTripped') status = { ...status, overriddenStage: status.stage };
          status = withCondition(
            { ...status, phase: hasStarted(status) ? 'Progressing' : 'Pending' },
            { type: 'Progressing', reason: 'ResumedByUser', message: `resumed ${by}` },
            now,
          );
          break;
        case 'approve':
          if (!ACTIVE_PHASES.includes(r.phase)) throw refuse(`it is ${r.phase}`);
          status = { ...status, approvedStage: Math.max(status.approvedStage ?? -1, status.stage) };
          if (r.phase === 'Paused' && lastReason(status) === 'AwaitingApproval') status = { ...status, phase: 'Progressing' };
          status = withCondition(status, { type: status.phase, reason: 'Approved', message: `stage ${status.stage + 1} approved ${by}` }, now);
          break;
        case 'abort':
          if (!ACTIVE_PHASES.includes(r.phase)) throw refuse(`it is ${r.phase}`);
          status = withCondition(
            { ...status, phase: 'Aborted' },
            {
              type: 'Aborted',
              reason: 'AbortedByUser',
              message: `aborted ${by}: the ${r.reached.length} agents reached keep the new ${whatMoves(r.spec)} until the rollout is deleted`,
            },
            now,
          );
          break;
        case 'undo':
          if (r.phase === 'RolledBack') throw refuse('it is already rolled back');
          if (r.phase === 'Succeeded') {
            if (r.spec.configs.length && !status.from) throw refuse('it does not know the configs from before');
            if (r.spec.packages?.length && !status.fromPackages) throw refuse('it does not know the packages from before');
            if (r.spec.connectionSettings && !status.fromConnectionSettings) throw refuse('it does not know the connection settings from before');
            // The group said what the rollout delivered: it says again what it said before.
            if (r.spec.configs.length) await this.groups.replaceConfigs(r.group, status.from!);
            if (r.spec.packages?.length) await this.groups.replacePackages(r.group, status.fromPackages!);
            if (r.spec.connectionSettings) await this.groups.replaceConnectionSettings(r.group, status.fromConnectionSettings!);
          }
          status = withCondition(
            { ...status, phase: 'RolledBack' },
            {
              type: 'RolledBack',
              reason: 'UndoneByUser',
              message: `rolled back ${by}: ${r.reached.length} agents get the group's previous ${whatMoves(r.spec)}${r.spec.packages?.length ? ' (packages forced: an explicit downgrade)' : ''}`,
            },
            now,
          );
          break;
        case 'retry':
          return this.retry(r, actor, now);
      }
      const updated = await this.commit(r, { status, phase: status.phase });
      this.announce(updated);
      if (action === 'undo') await this.auditPackageRollback(updated, actor);
      return updated;
    });
  }

  /**
   * A rollback of packages offers the reached agents the previous versions forced, an explicit
   * downgrade where they run the new one (the policy is forward-only otherwise): audited as such,
   * besides each agent's own `package-downgrade` entry when it is offered one.
   */
  private async auditPackageRollback(r: Rollout, actor: string): Promise<void> {
    if (r.phase !== 'RolledBack' || !r.spec.packages?.length) return;
    const back = rollbackPackages(r);
    await this.audit.record({
      actor: { username: actor },
      action: 'package-rollback',
      resource: { kind: 'rollouts', name: r._id },
      summary: `${r.reached.length} agents reached are offered ${back.length ? `${packagesText(back)} again` : 'none of the rolled-out packages'} instead of ${packagesText(r.spec.packages)}, forced (an explicit downgrade where they installed it)`,
    });
  }

  /**
   * Starts a rolled-back rollout again from its first stage, with the same revisions. Agents never
   * get a config they reported FAILED again unless a user asks: this is asking, so the agents that
   * failed it (and the others it reached) forget that hash first. The stable order picks the same
   * canaries again.
   */
  private async retry(r: Rollout, actor: string, now: Date): Promise<Rollout> {
    if (r.phase !== 'RolledBack')
      throw new ConflictError(`cannot retry rollout "${r._id}": it is ${r.phase}, not RolledBack${r.phase === 'Aborted' ? ' (undo it first)' : ''}`);
    await this.refuseSecondRollout(r.group, r._id);
    const s = r.status;
    const agents = [...new Set([...s.failedAgents.map((f) => f.uid), ...r.reached])];
    if (s.toHash && agents.length) await this.agents.forgetFailedHash(agents, s.toHash);
    if (r.spec.packages?.length && agents.length) await this.agents.forgetFailedPackageOffers(agents);
    const status: RolloutStatus = withCondition(
      {
        phase: hasStarted(s) ? 'Progressing' : 'Pending',
        stage: 0,
        stageCount: s.stageCount,
        pinned: s.pinned,
        from: s.from,
        toHash: s.toHash,
        packageTargets: s.packageTargets,
        fromPackages: s.fromPackages,
        fromConnectionSettings: s.fromConnectionSettings,
        stages: [],
        gates: [],
        conditions: s.conditions,
        failedAgents: [],
        targetAgents: s.targetAgents,
      },
      {
        type: hasStarted(s) ? 'Progressing' : 'Pending',
        reason: 'RetriedByUser',
        message: `retried by ${actor} from stage 1: ${agents.length} agents that got it may get it again`,
      },
      now,
    );
    const updated = await this.commit(r, { status, phase: status.phase, reached: [] });
    if (s.toHash && agents.length) this.events.publish({ reason: 'agent.retry', agents, forgetFailedHash: s.toHash });
    if (r.spec.packages?.length && agents.length) this.events.publish({ reason: 'agent.retry', agents, forgetFailedPackageOffers: true });
    this.announce(updated);
    return updated;
  }

  /** Stores a step of the driver (under the lock); announces it when agents get something else. */
  async saveStep(current: Rollout, status: RolloutStatus, reached: string[], reason: string): Promise<Rollout> {
    const updated = await this.commit(current, { status, phase: status.phase, reached });
    const overlayChanged = reached.length !== current.reached.length || OVERLAY_PHASES.includes(current.phase) !== OVERLAY_PHASES.includes(updated.phase);
    if (overlayChanged) this.announce(updated);
    if (updated.phase !== current.phase) {
      await this.audit.record({
        actor: { username: 'system:rollouts' },
        action: `phase/${updated.phase}`,
        resource: { kind: 'rollouts', name: current._id },
        summary: reason,
      });
      await this.auditPackageRollback(updated, 'system:rollouts');
    }
    return updated;
  }

  private announce(r: Rollout): void {
    this.events.publish({ reason: 'rollout.changed', groups: [r.group], configs: [...new Set(r.spec.configs.map((c) => c.remoteConfig))] });
  }

  private async commit(current: Rollout, fields: Partial<Rollout>): Promise<Rollout> {
    const next = await this.rollouts.compareAndSet(current, { ...fields, updatedAt: new Date() });
    if (!next) throw this.stale(current._id);
    // Every committed write (an operator's action or a step of the driver) is a change watchers hear.
    this.feed.resourceChanged('rollouts', 'MODIFIED', current._id);
    return next;
  }

  private stale(name: string, sent?: string): ConflictError {
    return new ConflictError(`rollout "${name}" has been changed since${sent ? ` resourceVersion ${sent}` : ''} was read; read it again and retry`);
  }

  /** The group's rollout that holds: active, or aborted (its overlay still holds). */
  private async holdingRollout(group: string, except?: string): Promise<Pick<Rollout, '_id' | 'phase' | 'spec'> | undefined> {
    const found = await this.rollouts.ofGroup(group);
    return found.find((o) => o._id !== except && (ACTIVE_PHASES.includes(o.phase) || o.phase === 'Aborted'));
  }

  /** One rollout per group at a time, counting aborted ones (their overlay still holds). */
  private async refuseSecondRollout(group: string, name: string): Promise<void> {
    const o = await this.holdingRollout(group, name);
    if (o) {
      throw new ConflictError(
        `agentgroup "${group}" already has rollout "${o._id}" (${o.phase}); ${o.phase === 'Aborted' ? 'delete it' : 'wait for it, abort or undo it'} first`,
      );
    }
  }

  /** Checks the spec against the groups and remote configs; every problem is reported at once. */
  private async checkedSpec(m: RolloutManifestDto): Promise<StoredRolloutSpec> {
    const s = m.spec;
    const policy = storedRolloutPolicy(s);
    const errors: { field: string; message: string }[] = [];
    try {
      await this.groups.get(s.target.group);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      errors.push({ field: 'spec.target.group', message: `agentgroup "${s.target.group}" does not exist` });
    }
    const { configs, problems } = await checkConfigRefs(s.configs ?? [], this.remoteConfigs);
    errors.push(...problems);
    const named = await checkPackageRefs(s.packages ?? [], this.catalogue, 'spec.packages');
    errors.push(...named.problems);
    const settings = s.connectionSettings ? connectionSettingsToStored(s.connectionSettings) : undefined;
    // OpAMP cannot take connection settings away from an agent: a rollout names what it moves them to.
    if (settings && !Object.values(settings).some((v) => v !== undefined))
      errors.push({ field: 'spec.connectionSettings', message: 'names no setting (heartbeatIntervalSeconds, opamp, ownMetrics, ownTraces, ownLogs)' });
    if (!s.configs?.length && !s.packages?.length && !s.connectionSettings)
      errors.push({ field: 'spec.configs', message: 'a rollout moves configs, packages, connection settings or several: name at least one' });
    if (errors.length) throw new InvalidError(`Invalid rollout: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
    return {
      target: { group: s.target.group },
      configs,
      ...(named.packages.length ? { packages: named.packages } : {}),
      ...(settings ? { connectionSettings: settings } : {}),
      ...policy,
    };
  }
}

/** What a rollback of packages offers the reached agents again: the group's versions from before of the packages the rollout moved. */
function rollbackPackages(r: Pick<Rollout, 'spec' | 'status'>): PackageRef[] {
  const moved = new Set((r.spec.packages ?? []).map((p) => p.name));
  return (r.status.fromPackages ?? []).filter((p) => moved.has(p.name)).map((p) => ({ name: p.name, version: p.version }));
}

function lastReason(s: RolloutStatus): string | undefined {
  return s.conditions[s.conditions.length - 1]?.reason;
}
