import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import type { PackageRef } from '../agents/agent-package-assignment';
import { PackageCatalogue } from '../packages/package-catalogue';
import { checkPackageRefs } from './package-refs';
import type { FilterQuery } from 'mongoose';
import type { Agent } from '../agents/agent.schema';
import { AgentsRepository } from '../agents/agents.repository';
import { AgentsService } from '../agents/agents.service';
import { DesiredStateChangeReason, DesiredStateEvents } from '../common/desired-state-events';
import { ConflictError, InvalidError, NotFoundError } from '../common/domain-errors';
import { DATABASE_PROFILE, DatabaseProfile, KeyedWrites } from '../database/database-profile';
import { SelectorError, SelectorRequirement, selectorRequirements } from '../common/selectors';
import { byPrecedence } from '../desired-state/config-precedence';
import { RemoteConfigsService } from '../remote-configs/remote-configs.service';
import { storedRolloutPolicy } from '../rollouts/rollout-policy';
import { AgentGroup, StoredConfigRef, StoredConnectionSettings, StoredRolloutPolicy } from './agent-group.schema';
import { AgentGroupsRepository } from './agent-groups.repository';
import { checkConfigRefs, FieldProblem } from './config-refs';
import { AgentGroupStatusCounter } from './agent-group-status';
import type { AgentGroupManifestDto } from './agent-group-manifest.dto';
import {
  AgentGroupStatus,
  ConnectionSettings,
  connectionSettingsFromStored,
  connectionSettingsToStored,
  selectorToStored,
  toEntries,
} from './agent-group.mapper';

/** An active group as the desired-state code reads it. */
export interface AgentGroupDefinition {
  name: string;
  priority: number;
  /** The parsed selector; match with `matchesAgent` or query with `selectorToTermsFilter` (src/common/selectors). */
  requirements: SelectorRequirement[];
  /** Config map entries, in the order given; `revision` absent = follow the latest. */
  configs: { fileName: string; remoteConfig: string; revision?: number }[];
  connectionSettings?: ConnectionSettings;
  /** Packages the group's agents should run (empty: none named). */
  packages: PackageRef[];
  resourceVersion: number;
  updatedAt: Date;
}

type GroupContent = Pick<AgentGroup, 'labels' | 'selector' | 'requirements' | 'priority' | 'configs' | 'connectionSettings' | 'rolloutPolicy' | 'packages'>;

/**
 * What the rollouts module does for a group with a rollout policy (it registers itself:
 * rollouts depend on groups, not the other way round).
 */
export interface PolicyRollouts {
  /** The group's rollout that holds (Pending, Progressing, Paused, or Aborted: its overlay holds), if any. */
  holding(group: string): Promise<{ name: string; phase: string; configs: StoredConfigRef[] } | undefined>;
  /** Starts a rollout of the group to its `configs` and `packages` under its policy (what it holds back moves); returns the rollout's name. */
  start(group: AgentGroup): Promise<string>;
}

/** The packages of `after` that `before` does not name as they are (new names, other versions, force changed). */
export function changedPackages(before: readonly PackageRef[], after: readonly PackageRef[]): PackageRef[] {
  return after.filter((p) => !before.some((b) => b.name === p.name && b.version === p.version && !!b.force === !!p.force));
}

const samePackages = (a: readonly PackageRef[], b: readonly PackageRef[]) => changedPackages(a, b).length === 0 && changedPackages(b, a).length === 0;

/** Connection settings as compared: absent and `{}` both mean none. */
const settingsKey = (s: StoredConnectionSettings | undefined) => JSON.stringify(s && Object.values(s).some((v) => v !== undefined) ? s : null);
const sameSettings = (a: StoredConnectionSettings | undefined, b: StoredConnectionSettings | undefined) => settingsKey(a) === settingsKey(b);

const sameConfigs = (a: readonly StoredConfigRef[], b: readonly StoredConfigRef[]) =>
  JSON.stringify(a.map((c) => [c.fileName, c.remoteConfig, c.revision ?? null])) ===
  JSON.stringify(b.map((c) => [c.fileName, c.remoteConfig, c.revision ?? null]));

/**
 * Agent groups: which agents belong (a label selector), what configuration they are assigned and
 * which connection settings they are offered. Changes commit by compare-and-set on resourceVersion
 * after every check has passed, and are then announced on DesiredStateEvents.
 */
@Injectable()
export class AgentGroupsService implements OnModuleInit {
  private readonly counter: AgentGroupStatusCounter;
  /** Guards each group's read-check-commit where the database's compare-and-set is not atomic. */
  private readonly writes: KeyedWrites;
  private policyRollouts?: PolicyRollouts;

  constructor(
    private readonly groups: AgentGroupsRepository,
    agents: AgentsRepository,
    private readonly agentsService: AgentsService,
    private readonly remoteConfigs: RemoteConfigsService,
    private readonly events: DesiredStateEvents,
    @Inject(DATABASE_PROFILE) profile: DatabaseProfile,
    /** The package catalogue (packages module); without it, naming packages is refused. */
    @Optional() private readonly catalogue?: PackageCatalogue,
  ) {
    this.writes = profile.keyedWrites();
    this.counter = new AgentGroupStatusCounter(agents, () => this.agentsService.liveness.connectedFilter() as FilterQuery<Agent>, catalogue);
  }

  onModuleInit(): void {
    this.remoteConfigs.setReferenceFinder((config) => this.groupsUsingConfig(config));
    this.remoteConfigs.setRevisionHooks({
      before: (config) => this.holdBackForRevision(config),
      after: async (_config, held) => {
        for (const name of held as string[]) await this.startHeldBack(name);
      },
    });
  }

  /** Refs that follow the latest revision, pinned to the latest now. */
  private async pinned(configs: readonly StoredConfigRef[]): Promise<StoredConfigRef[]> {
    const latest = await this.remoteConfigs.latestRevisions(configs.filter((c) => c.revision === undefined).map((c) => c.remoteConfig));
    return configs.map((c) => ({ ...c, revision: c.revision ?? latest.get(c.remoteConfig) }));
  }

  /**
   * Before a new revision of `config` is committed: groups with a rollout policy that follow its
   * latest revision, and hold nothing back yet, are held on the revision they run, so that the
   * new one reaches their agents through a rollout (startHeldBack), not at once.
   */
  private async holdBackForRevision(config: string): Promise<string[]> {
    if (!this.policyRollouts) return [];
    const candidates = await this.groups.activeNamesWithPolicyUsingConfig(config);
    const held: string[] = [];
    for (const name of candidates) {
      await this.writes.run(name, async () => {
        const g = await this.groups.findById(name);
        if (!g || g.deletedAt || !g.rolloutPolicy || g.deliveredConfigs) return;
        if (!g.configs.some((c) => c.remoteConfig === config && c.revision === undefined)) return;
        if (await this.commit(g, { deliveredConfigs: await this.pinned(g.configs), updatedAt: new Date() })) held.push(name);
      });
    }
    return held;
  }

  /**
   * Starts the rollout of what a group with a rollout policy holds back, unless one holds or a
   * rollout of this change (its resourceVersion) already ran: after a new revision, after a
   * rollout that succeeded while a newer revision came, or when starting failed before.
   */
  async startHeldBack(name: string): Promise<string | undefined> {
    const rollouts = this.policyRollouts;
    const g = await this.groups.findById(name);
    if (!rollouts || !g || g.deletedAt || !g.rolloutPolicy || (!g.deliveredConfigs && !g.deliveredPackages && !g.deliveredConnectionSettings)) return undefined;
    if (await rollouts.holding(name)) return undefined;
    return rollouts.start(g);
  }

  /** Groups with a rollout policy that hold configs or packages back (the rollout controller starts what is missing). */
  async heldBack(): Promise<string[]> {
    return this.groups.activeNamesHoldingBack();
  }

  /**
   * A rollout of the group's policy succeeded, delivering `moved.configs` (revisions pinned at its
   * start) and, when it moved packages, the group's packages: when those configs are what the
   * group's configs mean now, nothing is held back any more; when a newer revision came
   * meanwhile, what was delivered is held and the next rollout follows. Packages cannot change
   * while the rollout holds, so they are never held back after it.
   */
  async settlePolicyRollout(name: string, moved: { configs?: StoredConfigRef[]; packages: boolean; connectionSettings?: boolean }): Promise<void> {
    await this.writes.run(name, async () => {
      const current = await this.get(name);
      let deliveredConfigs = current.deliveredConfigs;
      if (moved.configs) {
        const wanted = await this.pinned(current.configs);
        deliveredConfigs = sameConfigs(wanted, moved.configs) ? undefined : moved.configs.map((c) => ({ ...c }));
      }
      const deliveredPackages = moved.packages ? undefined : current.deliveredPackages;
      // Like packages, settings cannot change while the rollout holds: never held back after it.
      const deliveredConnectionSettings = moved.connectionSettings ? undefined : current.deliveredConnectionSettings;
      const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
      if (
        same(current.deliveredConfigs, deliveredConfigs) &&
        same(current.deliveredPackages, deliveredPackages) &&
        same(current.deliveredConnectionSettings, deliveredConnectionSettings)
      )
        return;
      const updated = await this.commit(current, { deliveredConfigs, deliveredPackages, deliveredConnectionSettings, updatedAt: new Date() });
      if (!updated) throw this.stale(name);
      this.publish('agentgroup.replaced', updated, current);
    });
  }

  /** The rollouts module registers itself here; without it a rollout policy is refused. */
  setPolicyRollouts(r: PolicyRollouts): void {
    this.policyRollouts = r;
  }

  async create(m: AgentGroupManifestDto): Promise<AgentGroup> {
    return this.writes.run(m.metadata.name, () => this.createLocked(m));
  }

  private async createLocked(m: AgentGroupManifestDto): Promise<AgentGroup> {
    const name = m.metadata.name;
    const content = await this.checkedContent(m);
    const now = new Date();
    const existing = await this.groups.findById(name);
    if (existing && !existing.deletedAt) throw new ConflictError(`agentgroup "${name}" already exists`);
    let created: AgentGroup;
    if (!existing) {
      created = { _id: name, ...content, resourceVersion: 1, createdAt: now, updatedAt: now, deletedAt: null };
      if (!(await this.groups.insert(created))) throw new ConflictError(`agentgroup "${name}" already exists`);
    } else {
      // Re-creating a soft-deleted name makes a new group in its place; resourceVersions carry on.
      const revived = await this.commit(
        existing,
        {
          ...content,
          deliveredConfigs: undefined,
          deliveredPackages: undefined,
          deliveredConnectionSettings: undefined,
          createdAt: now,
          updatedAt: now,
          deletedAt: null,
        },
        { deletedAt: { $ne: null } },
      );
      if (!revived) throw new ConflictError(`agentgroup "${name}" was changed concurrently; retry`);
      created = revived;
    }
    this.publish('agentgroup.created', created);
    return created;
  }

  /** One page of groups in name order, after the name `after`. */
  async list(limit: number, after?: string, includeDeleted = false): Promise<{ items: AgentGroup[]; remaining: number }> {
    return this.groups.page(limit, after, includeDeleted);
  }

  async get(name: string, includeDeleted = false): Promise<AgentGroup> {
    const g = await this.groups.findById(name);
    if (!g || (g.deletedAt && !includeDeleted)) throw new NotFoundError(`agentgroup "${name}" not found`);
    return g;
  }

  /** Replaces labels and spec when `resourceVersion` is current (else 409); an identical replace changes nothing. */
  async replace(name: string, resourceVersion: string, m: AgentGroupManifestDto): Promise<AgentGroup> {
    return this.writes.run(name, () => this.replaceLocked(name, resourceVersion, m));
  }

  private async replaceLocked(name: string, resourceVersion: string, m: AgentGroupManifestDto): Promise<AgentGroup> {
    const content = await this.checkedContent(m);
    const current = await this.get(name);
    if (String(current.resourceVersion) !== resourceVersion) throw this.stale(name, resourceVersion);
    if (content.rolloutPolicy && this.policyRollouts) return this.replaceThroughRollout(current, content, this.policyRollouts);
    // Without a policy a change goes to every agent at once, configs, packages and settings held back by one included.
    if (sameContent(current, content) && !current.deliveredConfigs && !current.deliveredPackages && !current.deliveredConnectionSettings) return current;
    const updated = await this.commit(current, {
      ...content,
      deliveredConfigs: undefined,
      deliveredPackages: undefined,
      deliveredConnectionSettings: undefined,
      updatedAt: new Date(),
    });
    if (!updated) throw this.stale(name, resourceVersion);
    this.publish('agentgroup.replaced', updated, current);
    return updated;
  }

  /**
   * A replace under a rollout policy: everything but a change of configs or package versions
   * applies at once; the agents keep the configs and packages they have (`deliveredConfigs`,
   * `deliveredPackages`) and a rollout of the policy's shape moves them to the new ones (its
   * success clears what is held). A package the change only removes goes at once with the rest
   * (or when the rollout ends, if something is held). Repeating the same replace changes nothing;
   * another change of configs or packages while a rollout holds is refused.
   */
  private async replaceThroughRollout(current: AgentGroup, content: GroupContent, rollouts: PolicyRollouts): Promise<AgentGroup> {
    const name = current._id;
    // Compared and held back with revisions pinned: "the latest" must not move under a rollout.
    const delivered = current.deliveredConfigs ?? (await this.pinned(current.configs));
    const configsChange = !sameConfigs(await this.pinned(content.configs), delivered);
    const deliveredPkgs = current.deliveredPackages ?? current.packages ?? [];
    const packagesChange = changedPackages(deliveredPkgs, content.packages ?? []).length > 0;
    // Connection settings move as a whole. A change to none applies at once: OpAMP cannot take
    // settings away from an agent, so there is nothing to roll out (the defaults, or a lower
    // group's settings, reach the agents the usual way).
    const deliveredSettings = current.deliveredConnectionSettings ?? current.connectionSettings;
    const settingsChange = !sameSettings(content.connectionSettings, deliveredSettings) && settingsKey(content.connectionSettings) !== 'null';
    const holding = await rollouts.holding(name);
    if (holding && !sameConfigs(content.configs, current.configs) && !sameConfigs(content.configs, holding.configs)) {
      throw new ConflictError(
        `agentgroup "${name}" has rollout "${holding.name}" (${holding.phase}) to other configs; wait for it, abort or undo it before changing configs again`,
      );
    }
    if (holding && !samePackages(content.packages ?? [], current.packages ?? [])) {
      throw new ConflictError(
        `agentgroup "${name}" has rollout "${holding.name}" (${holding.phase}); wait for it, abort or undo it before changing packages again`,
      );
    }
    if (holding && !sameSettings(content.connectionSettings, current.connectionSettings)) {
      throw new ConflictError(
        `agentgroup "${name}" has rollout "${holding.name}" (${holding.phase}); wait for it, abort or undo it before changing connection settings again`,
      );
    }
    const deliveredConfigs = configsChange ? delivered.map((c) => ({ ...c })) : undefined;
    const deliveredPackages = packagesChange ? deliveredPkgs.map((p) => ({ ...p })) : undefined;
    const deliveredConnectionSettings = settingsChange ? (deliveredSettings ?? {}) : undefined;
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    let updated = current;
    if (
      !sameContent(current, content) ||
      !same(current.deliveredConfigs, deliveredConfigs) ||
      !same(current.deliveredPackages, deliveredPackages) ||
      !same(current.deliveredConnectionSettings, deliveredConnectionSettings)
    ) {
      const committed = await this.commit(current, { ...content, deliveredConfigs, deliveredPackages, deliveredConnectionSettings, updatedAt: new Date() });
      if (!committed) throw this.stale(name);
      updated = committed;
      this.publish('agentgroup.replaced', updated, current);
    }
    // Also when a replace before committed the change but could not start its rollout.
    if ((configsChange || packagesChange || settingsChange) && !holding) await rollouts.start(updated);
    return updated;
  }

  /**
   * Sets only the group's configs (a rollout that succeeded writes what its agents now run, so
   * that the group says it). Unchanged configs change nothing.
   */
  async replaceConfigs(name: string, configs: StoredConfigRef[]): Promise<AgentGroup> {
    return this.writes.run(name, async () => {
      const current = await this.get(name);
      if (JSON.stringify(current.configs) === JSON.stringify(configs) && !current.deliveredConfigs) return current;
      // What the rollout delivered is now what every agent gets: nothing is held back any more.
      const updated = await this.commit(current, { configs: configs.map((c) => ({ ...c })), deliveredConfigs: undefined, updatedAt: new Date() });
      if (!updated) throw this.stale(name);
      this.publish('agentgroup.replaced', updated, current);
      return updated;
    });
  }

  /**
   * Sets only the group's packages (a rollout of packages that succeeded writes the versions its
   * agents now run; one undone writes back those from before). Unchanged packages change nothing.
   */
  async replacePackages(name: string, packages: PackageRef[]): Promise<AgentGroup> {
    return this.writes.run(name, async () => {
      const current = await this.get(name);
      const next = packages.map((p) => ({ name: p.name, version: p.version, ...(p.force ? { force: true } : {}) }));
      if (JSON.stringify(current.packages ?? []) === JSON.stringify(next) && !current.deliveredPackages) return current;
      // What the rollout delivered is now what every agent gets: nothing is held back any more.
      const updated = await this.commit(current, { packages: next.length ? next : undefined, deliveredPackages: undefined, updatedAt: new Date() });
      if (!updated) throw this.stale(name);
      this.publish('agentgroup.replaced', updated, current);
      return updated;
    });
  }

  /**
   * Sets only the group's connection settings (a rollout of them that succeeded writes what its
   * agents now get; one undone writes back those from before, `{}` for none). Unchanged settings
   * change nothing.
   */
  async replaceConnectionSettings(name: string, settings: StoredConnectionSettings): Promise<AgentGroup> {
    return this.writes.run(name, async () => {
      const current = await this.get(name);
      const next = settingsKey(settings) === 'null' ? undefined : settings;
      if (settingsKey(current.connectionSettings) === settingsKey(next) && !current.deliveredConnectionSettings) return current;
      // What the rollout delivered is now what every agent gets: nothing is held back any more.
      const updated = await this.commit(current, { connectionSettings: next, deliveredConnectionSettings: undefined, updatedAt: new Date() });
      if (!updated) throw this.stale(name);
      this.publish('agentgroup.replaced', updated, current);
      return updated;
    });
  }

  /** Soft delete: the group stops selecting agents; `includeDeleted` still shows it. */
  async delete(name: string): Promise<AgentGroup> {
    return this.writes.run(name, () => this.deleteLocked(name));
  }

  private async deleteLocked(name: string): Promise<AgentGroup> {
    const current = await this.get(name);
    const now = new Date();
    const deleted = await this.commit(current, { deletedAt: now, updatedAt: now }, { deletedAt: null });
    if (!deleted) throw this.stale(name);
    this.publish('agentgroup.deleted', deleted);
    return deleted;
  }

  /**
   * The group's counts over the agents it governs, and those it matches but does not govern
   * (see AgentGroupStatusCounter). `active` (listActive) may be passed when several are counted.
   */
  async status(g: AgentGroup, active?: AgentGroupDefinition[]): Promise<AgentGroupStatus> {
    if (g.deletedAt) return this.counter.status(g._id, []);
    return this.counter.status(g._id, active ?? (await this.listActive()), g.packages ?? []);
  }

  /** Every group that is not deleted, highest priority first, ties by name: the order desired state is decided in. */
  async listActive(): Promise<AgentGroupDefinition[]> {
    const all = await this.groups.findActive();
    return all.map(toDefinition).sort(byPrecedence);
  }

  /** Names of the active groups that assign a remote config. */
  async groupsUsingConfig(config: string): Promise<string[]> {
    return (await this.groups.activeNamesUsingConfig(config)).sort();
  }

  /** Parses the selector and checks config references; every problem is reported at once. */
  private async checkedContent(m: AgentGroupManifestDto): Promise<GroupContent> {
    let requirements: SelectorRequirement[];
    try {
      requirements = selectorRequirements(m.spec.selector, 'spec.selector');
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      throw new InvalidError(e.message, { errors: [{ field: e.field ?? 'spec.selector', message: e.message }], ...(e.column ? { column: e.column } : {}) });
    }
    const { configs, problems } = await checkConfigRefs(m.spec.configs ?? [], this.remoteConfigs);
    const named = await checkPackageRefs(m.spec.packages ?? [], this.catalogue, 'spec.packages');
    const errors: FieldProblem[] = [...problems, ...named.problems];
    let rolloutPolicy: StoredRolloutPolicy | undefined;
    if (m.spec.rolloutPolicy) {
      if (!this.policyRollouts) errors.push({ field: 'spec.rolloutPolicy', message: 'rollouts are not available on this server' });
      try {
        rolloutPolicy = storedRolloutPolicy(m.spec.rolloutPolicy, 'spec.rolloutPolicy');
      } catch (e) {
        if (!(e instanceof InvalidError)) throw e;
        errors.push(...((e.details?.errors ?? []) as FieldProblem[]));
      }
    }
    if (errors.length) throw new InvalidError(`Invalid agent group: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
    return {
      labels: toEntries(m.metadata.labels),
      selector: selectorToStored(m.spec.selector),
      requirements,
      priority: m.spec.priority ?? 0,
      configs,
      connectionSettings: connectionSettingsToStored(m.spec.connectionSettings),
      rolloutPolicy,
      packages: named.packages.length ? named.packages : undefined,
    };
  }

  /** The one commit point: sets `fields` iff the resourceVersion is still the one read. */
  private commit(current: AgentGroup, fields: Partial<AgentGroup>, guard: FilterQuery<AgentGroup> = {}): Promise<AgentGroup | undefined> {
    return this.groups.compareAndSet(current, fields, guard);
  }

  private stale(name: string, sent?: string): ConflictError {
    return new ConflictError(`agentgroup "${name}" has been changed since${sent ? ` resourceVersion ${sent}` : ''} was read; read it again and retry`);
  }

  private publish(reason: DesiredStateChangeReason, g: AgentGroup, before?: AgentGroup): void {
    const configs = [...new Set([...(before?.configs ?? []), ...g.configs].map((c) => c.remoteConfig))].sort();
    this.events.publish({ reason, groups: [g._id], configs });
  }
}

function sameContent(g: AgentGroup, c: GroupContent): boolean {
  const pick = (x: GroupContent) =>
    JSON.stringify([
      x.labels,
      x.selector,
      x.priority,
      x.configs,
      x.connectionSettings ?? null,
      x.rolloutPolicy ?? null,
      x.packages?.length ? x.packages : null,
    ]);
  return pick(g) === pick(c);
}

function toDefinition(g: AgentGroup): AgentGroupDefinition {
  return {
    name: g._id,
    priority: g.priority,
    requirements: g.requirements,
    // What the agents get: configs held back for a rollout under the group's policy, else its configs.
    configs: (g.deliveredConfigs ?? g.configs).map((c) => ({ ...c })),
    // Likewise connection settings and packages held back for a rollout under the policy.
    connectionSettings: connectionSettingsFromStored(g.deliveredConnectionSettings ?? g.connectionSettings),
    packages: (g.deliveredPackages ?? g.packages ?? []).map((p) => ({ ...p })),
    resourceVersion: g.resourceVersion,
    updatedAt: g.updatedAt,
  };
}
