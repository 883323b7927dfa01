import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { AgentPackageType, AgentPlatform, PackageCatalogue, PackageFileOffer } from '../packages/package-catalogue';
import { DesiredPackage, mergePackages, withPackageVersions } from './package-policy';
import { AgentGroupDefinition, AgentGroupsService } from '../agent-groups/agent-groups.service';
import { ConnectionSettings } from '../agent-groups/agent-group.mapper';
import { DesiredStateEvents } from '../common/desired-state-events';
import { matchesAgent } from '../common/selectors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PeriodicTask } from '../common/periodic-task';
import { RemoteConfigContent, RemoteConfigsService } from '../remote-configs/remote-configs.service';
import { configMapHash } from '../protocol/config-hash';
import { governingGroup, hasOwnConfig } from './config-precedence';
import type { AgentView, ConfigOverlay, DesiredConfig, DesiredConfigEntry, DesiredConfigProblem, DesiredConnectionSettings } from './desired-state.types';

/**
 * Computes what each agent should run: its per-agent assignment if it has one, else the
 * highest-priority matching group (ties by name). Nothing here is queued: the answer is derived
 * from the database on demand and identified by its hash. Groups and the latest revision of
 * each remote config are cached in memory and refreshed on every committed change
 * (DesiredStateEvents) and periodically, which also picks up changes made on other replicas.
 */
@Injectable()
export class DesiredStateService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('DesiredState');
  private groups: AgentGroupDefinition[] = [];
  private latest = new Map<string, number>();
  /** Revisions are immutable, so their content is cached for good (bounded by what groups use). */
  private readonly contents = new Map<string, Promise<RemoteConfigContent>>();
  /** Group → its config map, valid until the next refresh. */
  private groupConfigs = new Map<string, Promise<DesiredConfig | DesiredConfigProblem>>();
  /**
   * Rollouts in progress, by group: the agents each has reached get its configs instead of the
   * group's (the only place a rollout changes what an agent runs). Loaded with the groups.
   */
  private overlays = new Map<string, { overlay: ConfigOverlay; reached: Set<string> }>();
  /** Rolled-back rollouts of packages, by group (several may have rolled back on one group). */
  private rollbacks = new Map<string, { overlay: ConfigOverlay; reached: Set<string> }[]>();
  private overlaySource: () => Promise<ConfigOverlay[]> = () => Promise.resolve([]);
  private refreshing?: Promise<void>;
  /** The periodic reconcile: picks up changes made on other replicas whose event was lost. */
  private readonly reconcile = new PeriodicTask(
    () => this.refresh(false),
    (e) => this.logger.error(`refreshing groups failed: ${e}`),
  );
  private stopped = false;
  private loaded = false;
  private gen = 0;
  private inFlight = 0;

  /** Catalogue answers (a version's type and file per platform), kept briefly: offers are made for every agent of a group at once. */
  private readonly resolved = new Map<string, { at: number; answer: Promise<ResolvedPackage> }>();

  constructor(
    private readonly agentGroups: AgentGroupsService,
    private readonly remoteConfigs: RemoteConfigsService,
    private readonly events: DesiredStateEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    /** The package catalogue (packages module); without it no package can be offered. */
    @Optional() private readonly catalogue?: PackageCatalogue,
  ) {}

  onModuleInit(): void {
    // A change of single agents (labels, assignment) needs no reload of groups: the session handles it.
    this.events.on('changed', (c) => (c.agents ? undefined : void this.refresh(true)));
    this.reconcile.start(this.config.opamp.reconcileIntervalSeconds * 1000);
  }

  /** Stops reloading and waits for a reload in flight, before the database client closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.reconcile.stop();
    await this.refreshing;
  }

  /** Where rollout overlays come from (the rollouts module registers itself; without it there are none). */
  setOverlaySource(source: () => Promise<ConfigOverlay[]>): void {
    this.overlaySource = source;
  }

  /** Reloads groups and latest revisions; emits 'refreshed' on DesiredStateEvents when asked to or when something changed. */
  refresh(announce: boolean): Promise<void> {
    if (this.stopped) return this.refreshing ?? Promise.resolve();
    const run = async () => {
      try {
        const [groups, overlays] = await Promise.all([this.agentGroups.listActive(), this.overlaySource()]);
        const names = [...new Set([...groups, ...overlays].flatMap((g) => g.configs.map((c) => c.remoteConfig)))];
        const latest = await this.remoteConfigs.latestRevisions(names);
        const before = [...this.overlays.values(), ...[...this.rollbacks.values()].flat()].map((o) => o.overlay);
        const changed =
          JSON.stringify([groups, [...latest], [...overlays].sort(byRollout)]) !== JSON.stringify([this.groups, [...this.latest], [...before].sort(byRollout)]);
        this.groups = groups;
        this.latest = latest;
        this.overlays = new Map(overlays.filter((o) => !o.rolledBack).map((o) => [o.group, { overlay: o, reached: new Set(o.reached) }]));
        this.rollbacks = new Map();
        for (const o of overlays.filter((x) => x.rolledBack)) {
          this.rollbacks.set(o.group, [...(this.rollbacks.get(o.group) ?? []), { overlay: o, reached: new Set(o.reached) }]);
        }
        this.loaded = true;
        if (changed || announce) {
          this.gen++;
          this.groupConfigs = new Map();
          this.events.emit('refreshed');
        }
      } catch (err) {
        this.logger.error(`refreshing groups failed: ${err}`);
      }
    };
    // Refreshes run one after another so that the last one always reflects the last change.
    this.inFlight++;
    this.refreshing = (this.refreshing ?? Promise.resolve()).then(run).finally(() => this.inFlight--);
    return this.refreshing;
  }

  /**
   * Changes whenever groups or remote configs may have changed (undefined before the first load
   * and while a reload is in flight: no answer is stable then). Between two changes the answers
   * of `configFor` and `connectionSettingsFor` depend only on the agent view, so callers may keep
   * them for an agent whose labels, description and assignment are the same objects as before.
   */
  get generation(): number | undefined {
    return this.loaded && this.inFlight === 0 ? this.gen : undefined;
  }

  /**
   * Waits for a reload in flight: a change publishes its event before the API answers, so a
   * request made right after a write sees the new desired state.
   */
  private async ready(): Promise<void> {
    if (!this.loaded) await this.refresh(false);
    else if (this.refreshing) await this.refreshing;
  }

  /** The group an agent belongs to for configuration (see config-precedence.ts). */
  async groupOf(agent: AgentView): Promise<AgentGroupDefinition | undefined> {
    await this.ready();
    return governingGroup(this.groups, agent);
  }

  /** Every active group the agent matches, in precedence order. */
  async groupsOf(agent: AgentView): Promise<AgentGroupDefinition[]> {
    await this.ready();
    return this.groups.filter((g) => matchesAgent(g.requirements, agent));
  }

  /** The complete config map the agent should run, a problem if it cannot be made, or undefined when nothing is assigned. */
  async configFor(agent: AgentView): Promise<DesiredConfig | DesiredConfigProblem | undefined> {
    const assigned = agent.assignedConfig;
    if (hasOwnConfig(assigned)) {
      return this.build({ kind: 'agent' }, async () => {
        const fromConfigs = await Promise.all(
          (assigned.configs ?? []).map(async (c) => {
            const content = await this.content(c.remoteConfig, c.revision);
            return entry(c.fileName, content, { kind: 'agent', remoteConfig: c.remoteConfig, revision: content.revision });
          }),
        );
        const inline = (assigned.files ?? []).map((f): DesiredConfigEntry => ({
          fileName: f.fileName,
          contentType: f.contentType,
          body: Buffer.from(f.body, 'utf8'),
          source: { kind: 'agent-inline' },
        }));
        return [...fromConfigs, ...inline];
      });
    }
    const group = await this.groupOf(agent);
    if (!group) return undefined;
    // A rollout of this group that has reached this agent gives it the rollout's configs ("to");
    // every other agent of the group keeps the group's own ("from"). Cached per rollout like a group.
    const o = this.overlays.get(group.name);
    if (o && o.overlay.configs.length && agent._id !== undefined && o.reached.has(agent._id)) {
      const key = `rollout/${o.overlay.rollout}`;
      let made = this.groupConfigs.get(key);
      if (!made) {
        made = this.mapOf(o.overlay.configs, group.name, o.overlay.rollout);
        this.groupConfigs.set(key, made);
      }
      return made;
    }
    if (group.configs.length === 0) return undefined;
    let cached = this.groupConfigs.get(group.name);
    if (!cached) {
      cached = this.build({ kind: 'group', group: group.name }, () =>
        Promise.all(
          group.configs.map(async (c) => {
            const content = await this.content(c.remoteConfig, c.revision);
            return entry(c.fileName, content, { kind: 'group', group: group.name, remoteConfig: c.remoteConfig, revision: content.revision });
          }),
        ),
      );
      this.groupConfigs.set(group.name, cached);
    }
    return cached;
  }

  /**
   * The config map a group's agents would get from `configs` (a rollout's target map, and its
   * hash, which the rollout watches the agents report). Revisions absent follow the latest.
   */
  async mapOf(configs: ConfigOverlay['configs'], group: string, rollout?: string): Promise<DesiredConfig | DesiredConfigProblem> {
    await this.ready();
    const origin: DesiredConfig['origin'] = rollout ? { kind: 'group', group, rollout } : { kind: 'group', group };
    return this.build(origin, () =>
      Promise.all(
        configs.map(async (c) => {
          const content = await this.content(c.remoteConfig, c.revision);
          return entry(c.fileName, content, { kind: 'group', group, remoteConfig: c.remoteConfig, revision: content.revision });
        }),
      ),
    );
  }

  /**
   * The packages the agent should run: those its group names (the first active group matching
   * it, as for configs), each overridden by the agent's own package of the same name; empty when
   * none is named.
   */
  async packagesFor(agent: AgentView): Promise<DesiredPackage[]> {
    const own = agent.assignedPackages?.packages;
    const group = await this.groupOf(agent);
    const named = group && this.rolloutPackages(group, agent._id);
    if (!named?.length && !own?.length) return [];
    return mergePackages(group && { name: group.name, packages: named ?? [] }, own);
  }

  /**
   * The group's packages as a rollout of them gives them to this agent: the rollout's versions
   * where it has reached the agent; the group's versions forced where a rolled-back one had
   * reached it and the group still names what it named then (the rollback's explicit downgrade);
   * else the group's own.
   */
  private rolloutPackages(group: AgentGroupDefinition, uid: string | undefined): AgentGroupDefinition['packages'] {
    if (uid === undefined) return group.packages;
    const o = this.overlays.get(group.name);
    if (o?.overlay.packages?.length && o.reached.has(uid)) return withPackageVersions(group.packages, o.overlay.packages);
    for (const b of this.rollbacks.get(group.name) ?? []) {
      const back = b.overlay.packages ?? [];
      if (!back.length || !b.reached.has(uid)) continue;
      const names = group.packages.filter((p) => back.some((x) => x.name === p.name));
      const same = names.length === back.length && back.every((x) => names.some((p) => p.name === x.name && p.version === x.version));
      if (same) return group.packages.map((p) => (back.some((x) => x.name === p.name) ? { ...p, force: true } : p));
    }
    return group.packages;
  }

  /**
   * A package version as the catalogue holds it, and the file an agent on `platform` downloads
   * (its URL under `baseUrl`, this server's download endpoint); an error saying why when it
   * cannot be offered. Answers are kept for RESOLVED_TTL_MS.
   */
  resolvePackage(name: string, version: string, platform: AgentPlatform, baseUrl: string): Promise<ResolvedPackage> {
    const key = JSON.stringify([name, version, platform.os ?? '', platform.arch ?? '', baseUrl]);
    const now = Date.now();
    const hit = this.resolved.get(key);
    if (hit && now - hit.at < RESOLVED_TTL_MS) return hit.answer;
    const answer = this.lookUp(name, version, platform, baseUrl);
    if (this.resolved.size > 10_000) this.resolved.clear();
    this.resolved.set(key, { at: now, answer });
    answer.catch(() => this.resolved.delete(key));
    return answer;
  }

  private async lookUp(name: string, version: string, platform: AgentPlatform, baseUrl: string): Promise<ResolvedPackage> {
    const catalogue = this.catalogue;
    if (!catalogue) return { error: 'the package catalogue is not available on this server' };
    const pkg = await catalogue.find(name, version);
    if (!pkg) return { error: `package "${name}" has no version ${version} in the catalogue` };
    const file = await catalogue.fileFor(name, version, platform, baseUrl);
    if (!file) return { error: `package "${name}" ${version} has no file for ${platform.os ?? 'any os'}/${platform.arch ?? 'any arch'}` };
    return { type: pkg.type, file };
  }

  /**
   * Connection settings to offer: the server default, each part overridden by the agent's group.
   * `ownMetrics`: this server's own receiver, the default below OPAMP_OFFER_OWN_METRICS_ENDPOINT.
   */
  async connectionSettingsFor(agent: AgentView, ownMetrics?: ConnectionSettings['ownMetrics']): Promise<DesiredConnectionSettings | undefined> {
    const o = this.config.offers;
    const settings: ConnectionSettings = {};
    if (ownMetrics) settings.ownMetrics = ownMetrics;
    if (o.heartbeatIntervalSeconds) settings.heartbeatIntervalSeconds = o.heartbeatIntervalSeconds;
    if (o.opampEndpoint) settings.opamp = { endpoint: o.opampEndpoint };
    if (o.ownMetricsEndpoint) settings.ownMetrics = { endpoint: o.ownMetricsEndpoint };
    if (o.ownTracesEndpoint) settings.ownTraces = { endpoint: o.ownTracesEndpoint };
    if (o.ownLogsEndpoint) settings.ownLogs = { endpoint: o.ownLogsEndpoint };
    const groups = await this.groupsOf(agent);
    // A rollout of the governing group's connection settings that reached the agent gives it the
    // rollout's settings in place of the group's (the others keep the group's, the previous ones).
    const held = groups[0] && this.overlays.get(groups[0].name);
    const overlaid = held?.overlay.connectionSettings && agent._id !== undefined && held.reached.has(agent._id) ? held.overlay : undefined;
    const own = (g: AgentGroupDefinition) => (overlaid && g === groups[0] ? overlaid.connectionSettings : g.connectionSettings);
    const group = groups.find((g) => {
      const s = own(g);
      return s && Object.keys(s).length > 0;
    });
    const chosen = group && own(group);
    if (chosen) Object.assign(settings, chosen);
    if (Object.keys(settings).length === 0) return undefined;
    if (!group) return { settings, origin: { kind: 'default' } };
    return { settings, origin: { kind: 'group', group: group.name, ...(overlaid && group === groups[0] ? { rollout: overlaid.rollout } : {}) } };
  }

  private content(name: string, revision?: number): Promise<RemoteConfigContent> {
    const rev = revision ?? this.latest.get(name);
    if (rev === undefined) return this.remoteConfigs.getRevision(name, 'latest');
    const key = `${name}@${rev}`;
    let c = this.contents.get(key);
    if (!c) {
      c = this.remoteConfigs.getRevision(name, rev);
      c.catch(() => this.contents.delete(key));
      this.contents.set(key, c);
    }
    return c;
  }

  private async build(origin: DesiredConfig['origin'], make: () => Promise<DesiredConfigEntry[]>): Promise<DesiredConfig | DesiredConfigProblem> {
    try {
      const entries = (await make()).sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
      const hash = configMapHash(entries);
      return { entries, hash, hashHex: hash.toString('hex'), origin };
    } catch (err) {
      // Never send a partial map: the OpenTelemetry Operator bridge deletes collectors missing from a map.
      return { origin, error: (err as Error).message };
    }
  }
}

const byRollout = (a: ConfigOverlay, b: ConfigOverlay) => (a.rollout < b.rollout ? -1 : a.rollout > b.rollout ? 1 : 0);

function entry(fileName: string, c: RemoteConfigContent, source: DesiredConfigEntry['source']): DesiredConfigEntry {
  return { fileName, contentType: c.contentType, body: c.body, source };
}

/** How long a catalogue answer is reused. */
const RESOLVED_TTL_MS = 10_000;

/** A package version ready to be offered, or why it cannot be. */
export type ResolvedPackage = { type: AgentPackageType; file: PackageFileOffer; error?: undefined } | { error: string };

export function isProblem(d: DesiredConfig | DesiredConfigProblem | undefined): d is DesiredConfigProblem {
  return !!d && 'error' in d;
}
