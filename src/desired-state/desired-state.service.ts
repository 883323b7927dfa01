import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { AgentGroupDefinition, AgentGroupsService } from '../agent-groups/agent-groups.service';
import { ConnectionSettings } from '../agent-groups/agent-group.mapper';
import { DesiredStateEvents } from '../common/desired-state-events';
import { matchesAgent } from '../common/selectors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RemoteConfigContent, RemoteConfigsService } from '../remote-configs/remote-configs.service';
import { configMapHash } from './config-hash';
import { governingGroup, hasOwnConfig } from './config-precedence';
import type { AgentView, DesiredConfig, DesiredConfigEntry, DesiredConfigProblem, DesiredConnectionSettings } from './desired-state.types';

/**
 * Computes what each agent should run: its per-agent assignment if it has one, else the
 * highest-priority matching group (ties by name). Nothing here is queued: the answer is derived
 * from the database on demand and identified by its hash. Groups and the latest revision of
 * each remote config are cached in memory and refreshed on every committed change
 * (DesiredStateEvents) and periodically, which also picks up changes made on other replicas.
 */
@Injectable()
export class DesiredStateService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('DesiredState');
  private groups: AgentGroupDefinition[] = [];
  private latest = new Map<string, number>();
  /** Revisions are immutable, so their content is cached for good (bounded by what groups use). */
  private readonly contents = new Map<string, Promise<RemoteConfigContent>>();
  /** Group → its config map, valid until the next refresh. */
  private groupConfigs = new Map<string, Promise<DesiredConfig | DesiredConfigProblem>>();
  private refreshing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private loaded = false;
  private gen = 0;
  private inFlight = 0;
  /** Emits 'refreshed' after groups or configs changed: the gateway then pushes to connected agents. */
  readonly changes = new EventEmitter<{ refreshed: [] }>();

  constructor(
    private readonly agentGroups: AgentGroupsService,
    private readonly remoteConfigs: RemoteConfigsService,
    private readonly events: DesiredStateEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // A change of single agents (labels, assignment) needs no reload of groups: the session handles it.
    this.events.on('changed', (c) => (c.agents ? undefined : void this.refresh(true)));
    this.timer = setInterval(() => void this.refresh(false), this.config.opamp.reconcileIntervalSeconds * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Reloads groups and latest revisions; emits 'refreshed' when asked to or when something changed. */
  refresh(announce: boolean): Promise<void> {
    const run = async () => {
      try {
        const groups = await this.agentGroups.listActive();
        const names = [...new Set(groups.flatMap((g) => g.configs.map((c) => c.remoteConfig)))];
        const latest = await this.remoteConfigs.latestRevisions(names);
        const changed = JSON.stringify([groups, [...latest]]) !== JSON.stringify([this.groups, [...this.latest]]);
        this.groups = groups;
        this.latest = latest;
        this.loaded = true;
        if (changed || announce) {
          this.gen++;
          this.groupConfigs = new Map();
          this.changes.emit('refreshed');
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
        const inline = (assigned.files ?? []).map(
          (f): DesiredConfigEntry => ({ fileName: f.fileName, contentType: f.contentType, body: Buffer.from(f.body, 'utf8'), source: { kind: 'agent-inline' } }),
        );
        return [...fromConfigs, ...inline];
      });
    }
    const group = await this.groupOf(agent);
    if (!group || group.configs.length === 0) return undefined;
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

  /** Connection settings to offer: the server default, each part overridden by the agent's group. */
  async connectionSettingsFor(agent: AgentView): Promise<DesiredConnectionSettings | undefined> {
    const o = this.config.offers;
    const settings: ConnectionSettings = {};
    if (o.heartbeatIntervalSeconds) settings.heartbeatIntervalSeconds = o.heartbeatIntervalSeconds;
    if (o.opampEndpoint) settings.opamp = { endpoint: o.opampEndpoint };
    if (o.ownMetricsEndpoint) settings.ownMetrics = { endpoint: o.ownMetricsEndpoint };
    if (o.ownTracesEndpoint) settings.ownTraces = { endpoint: o.ownTracesEndpoint };
    if (o.ownLogsEndpoint) settings.ownLogs = { endpoint: o.ownLogsEndpoint };
    const group = (await this.groupsOf(agent)).find((g) => g.connectionSettings && Object.keys(g.connectionSettings).length > 0);
    if (group?.connectionSettings) Object.assign(settings, group.connectionSettings);
    if (Object.keys(settings).length === 0) return undefined;
    return { settings, origin: group ? { kind: 'group', group: group.name } : { kind: 'default' } };
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

function entry(fileName: string, c: RemoteConfigContent, source: DesiredConfigEntry['source']): DesiredConfigEntry {
  return { fileName, contentType: c.contentType, body: c.body, source };
}

export function isProblem(d: DesiredConfig | DesiredConfigProblem | undefined): d is DesiredConfigProblem {
  return !!d && 'error' in d;
}
