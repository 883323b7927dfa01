import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { FilterQuery } from 'mongoose';
import { AgentGroupsRepository } from '../agent-groups/agent-groups.repository';
import { DesiredStateEvents } from '../common/desired-state-events';
import { ChangeFeed, MAX_EVENT_PACKAGES } from '../cluster/change-feed';
import { FleetJobs } from '../cluster/fleet-jobs.service';
import { PeriodicTask } from '../common/periodic-task';
import { ConflictError, InvalidError, NotFoundError } from '../common/domain-errors';
import { isDatabaseUnavailable } from '../common/database-errors';
import { DATABASE_PROFILE, DatabaseProfile, KeyedWrites } from '../database/database-profile';
import {
  agentSelectorTerms,
  PageCursor,
  PageSort,
  SelectorError,
  SelectorRequirement,
  selectorToTermsFilter,
  parseSelector,
  selectorKeyProblem,
  selectorValueProblem,
} from '../common/selectors';
import { ContentStore } from '../database/content-store/content-store';
import type { AgentConfigAssignment } from './agent-config-assignment';
import type { AgentPackageAssignment } from './agent-package-assignment';
import { Agent, PendingAgentCommand, StoredConnection, StoredOwnTelemetry, StoredPackageStatus } from './agent.schema';
import { AgentsRepository } from './agents.repository';
import { AGENT_SORT_FIELDS, AgentListView, ListAgentsQuery, RATE_FILTERS, RATE_SORT_FIELDS } from './agent-filters.query';

/** The order of an agent list from its `sort` parameter. */
export function agentSort(sort: string | undefined): PageSort {
  const key = sort ?? 'uid';
  const desc = key.startsWith('-');
  return { field: AGENT_SORT_FIELDS[desc ? key.slice(1) : key], direction: desc ? -1 : 1 };
}
import { AgentWriteQueue } from './agent-write-queue';
import { AgentLiveness, connectedAt } from './agent-liveness';
import { AgentBodies, effectiveConfigHashHex } from './agent-bodies';

/**
 * What the database sends back for each item of an agent list. A summary leaves the effective
 * config bodies and the component health tree in the database (their sizes and counts are stored
 * beside them); the full view is every field. Selector terms are internal either way.
 */
export const AGENT_LIST_PROJECTIONS: Record<AgentListView, Record<string, 0>> = {
  summary: { selectorTerms: 0, 'effectiveConfig.configMap.body': 0, 'health.components': 0 },
  full: { selectorTerms: 0 },
};

/** What the protocol session needs of a stored agent: what it holds, and what desired state depends on. */
export interface StoredAgentSummary {
  /** The instance uid (desired state needs it: a rollout reaches agents by uid). */
  _id?: string;
  capabilities: number;
  hasDescription: boolean;
  hasHealth: boolean;
  hasEffectiveConfig: boolean;
  hasRemoteConfigStatus: boolean;
  hasPackageStatuses: boolean;
  hasConnectionSettingsStatus: boolean;
  availableComponentsHash?: string;
  description?: Agent['description'];
  labels?: Record<string, string>;
  assignedConfig?: Agent['assignedConfig'];
  assignedPackages?: Agent['assignedPackages'];
  remoteConfigStatus?: Agent['remoteConfigStatus'];
  remoteConfig?: Agent['remoteConfig'];
  /** The package statuses last reported, and where the packages offer stands. */
  packageStatuses?: Agent['packageStatuses'];
  packageOffer?: Agent['packageOffer'];
  /** A command stored for this HTTP agent's next poll, if any. */
  pendingCommand?: Agent['pendingCommand'];
  connectionSettingsOffer?: Agent['connectionSettingsOffer'];
  configDrift?: Agent['configDrift'];
  /** With `sequenceNum` the last one this replica took from the agent (held in memory or stored). */
  connection?: Pick<StoredConnection, 'connected' | 'transport' | 'connectedAt' | 'sequenceNum'>;
}

/** What a rollout watches of one agent: who it is (for stage selectors) and how its config stands. */
export interface RolloutAgentFacts {
  uid: string;
  labels?: Record<string, string>;
  description?: Agent['description'];
  connected: boolean;
  /** Undefined when the agent reports no health. */
  healthy?: boolean;
  /** Whether it accepts remote config at all (AcceptsRemoteConfig). */
  acceptsRemoteConfig: boolean;
  /** What it last reported of its remote config (hash as hex). */
  reported?: { hash: string; status: string; errorMessage?: string };
  /** Whether it accepts packages (AcceptsPackages). */
  acceptsPackages: boolean;
  /** The package statuses it last reported (hashes as hex). */
  packages?: readonly StoredPackageStatus[];
  /** The replica holding its connection, when connected (where its own telemetry is kept). */
  replicaId?: string;
  /** Its capabilities (AgentCapabilities bits): which connection settings it takes and whether it reports their status. */
  capabilities: number;
  /** The connection settings offer last recorded for it (hash as hex; `rollout`: the rollout whose settings it was made from). */
  connectionSettingsOffer?: Agent['connectionSettingsOffer'];
  /** The ConnectionSettingsStatus it last reported (hash as hex). */
  connectionSettingsStatus?: Agent['connectionSettingsStatus'];
}

/** The Agent aggregate's persistence: status ingest from the protocol, reads for the API. */
@Injectable()
export class AgentsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AgentsService.name);
  /** Every write of the OpAMP path (reports, heartbeats, delivery bookkeeping), grouped into bulk writes. */
  private readonly queue: AgentWriteQueue;
  /**
   * Every write to one agent document goes through this guard: where the database applies an
   * update as read-modify-write of the whole document, two concurrent updates of different
   * fields of one agent could lose one of them (the database profile decides).
   */
  private readonly writes: KeyedWrites;
  /** Statements per bulk write, and agents per batch of the selector-terms backfill. */
  private readonly bulkSize: number;
  /**
   * The connection facts last stored for each WebSocket or gRPC agent connected to this replica,
   * so that a report writes only the facts that changed (usually none) and the heartbeat facts
   * (last seen, sequence number) are held in memory like a heartbeat's. Such an agent's document
   * cannot be deleted while it is connected, so an update without upsert finds it. Forgotten
   * when the connection closes. HTTP agents write their connection facts with every report.
   */
  private readonly storedConnections = new Map<string, StoredConnection>();
  private readonly ownHttpSweep = new PeriodicTask(
    () => this.sweepOwnHttpAgents(),
    (err) => this.logger.warn(`sweep of silent HTTP agents failed: ${err}`),
  );
  /** What "connected" means (agent-liveness.ts); every reader of connection facts asks it. */
  readonly liveness: AgentLiveness;
  /** Package terms this replica knows are recorded (package_terms), so a report records only new ones. */
  private readonly recordedTerms = new Set<string>();
  /** Effective config bodies and health trees, stored once by content; documents keep refs. */
  private readonly bodies: AgentBodies;
  /**
   * Agents whose stored document still holds bodies inline (written before the content store),
   * seen when their session loaded it: their next report moves the bodies out.
   */
  private readonly inlineBodies = new Set<string>();

  constructor(
    private readonly agents: AgentsRepository,
    private readonly groups: AgentGroupsRepository,
    private readonly events: DesiredStateEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_PROFILE) profile: DatabaseProfile,
    private readonly jobs: FleetJobs,
    private readonly feed: ChangeFeed,
    store: ContentStore,
  ) {
    this.bodies = new AgentBodies(store);
    this.writes = profile.keyedWrites();
    this.bulkSize = profile.maxBulkStatements;
    this.liveness = new AgentLiveness({ ...config.opamp, replicaTimeoutSeconds: config.cluster.timeoutSeconds });
    this.queue = new AgentWriteQueue(
      () => agents.writeCollection(),
      config.opamp.lastSeenFlushMs,
      this.bulkSize,
      (uids, work) => this.writes.runAll(uids, work),
      (err) => this.logger.error(`agent write failed: ${err}`),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    // Connections this replica held before it stopped are gone; HTTP agents are judged by their polls.
    await this.markReplicaDisconnected();
    await this.backfillSelectorTerms();
    this.queue.start();
    // Each replica sweeps the HTTP agents it serves, exactly (it knows their last polls).
    this.ownHttpSweep.start(this.liveness.sweepEveryMs);
    // Fleet-wide, one replica at a time: HTTP agents no live replica sweeps (theirs is gone), by
    // their stored last poll. FleetJobs stops it before the database closes.
    this.jobs.schedule('http-agent-sweep', this.liveness.sweepEveryMs, () => this.sweepSilentHttpAgents());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ownHttpSweep.stop();
    await this.queue.stop();
  }

  /**
   * Marks every WebSocket/gRPC agent this replica holds as disconnected, in bulk: at start (its
   * connections from before a crash are gone) and at shutdown (after they were closed); or those
   * of another replica declared gone by the replica registry.
   */
  async markReplicaDisconnected(replicaId = this.config.replicaId): Promise<number> {
    await this.queue.flush();
    this.storedConnections.clear();
    const now = new Date();
    return this.updateEach(
      { 'connection.replicaId': replicaId, 'connection.connected': true, 'connection.transport': { $ne: 'http' } },
      { $set: { 'connection.connected': false, 'connection.disconnectedAt': now, 'connection.lastSeenAt': now } },
      undefined,
      undefined,
      (uid) => this.feed.agentStatus(uid, { connected: false }),
    );
  }

  /**
   * Gives selector terms to agents stored without them (by a version before they existed), in
   * batches in uid order, each under the agents' write locks. An agent that got terms meanwhile
   * (a report or a label patch) is left alone, so a replica doing this at the same time is harmless.
   */
  async backfillSelectorTerms(): Promise<number> {
    let after: string | undefined;
    let written = 0;
    for (;;) {
      const batch = await this.agents.withoutSelectorTerms(this.bulkSize, after);
      if (batch.length === 0) break;
      after = batch[batch.length - 1]._id;
      const ids = batch.map((a) => a._id);
      written += await this.writes.runAll(ids, () =>
        this.agents.setMissingSelectorTerms(batch.map((a) => ({ uid: a._id, selectorTerms: agentSelectorTerms(a) }))),
      );
      if (batch.length < this.bulkSize) break;
    }
    if (written) this.logger.log(`Gave selector terms to ${written} agents stored before they existed`);
    return written;
  }

  /** A stored last poll before this is silence (agent-liveness.ts: the write lag allowed for). */
  httpSilenceCutoff(now = Date.now()): Date {
    return this.liveness.storedHttpCutoff(now);
  }

  /** The HTTP agents this replica served last that have missed 3 polls: offline (their held last polls written first). */
  async sweepOwnHttpAgents(): Promise<number> {
    await this.queue.flush();
    const now = Date.now();
    // The stored time may lag; a later poll held in memory keeps the agent connected.
    const polledSince = (uid: string) => {
      const held = this.queue.held(uid)?.['connection.lastSeenAt'];
      return held instanceof Date && held >= this.liveness.httpCutoff(now);
    };
    return this.markHttpAgentsOffline(this.liveness.silentOwnHttpFilter(this.config.replicaId, now) as FilterQuery<Agent>, polledSince);
  }

  /**
   * HTTP agents no live replica sweeps (the one that served them is gone): connected, with a
   * stored last poll older than the stored-value cutoff plus REPLICA_TIMEOUT_SECONDS, by which
   * time a live replica would have swept them itself. Run by one replica (FleetJobs).
   */
  async sweepSilentHttpAgents(): Promise<number> {
    await this.queue.flush();
    return this.markHttpAgentsOffline(this.liveness.silentOrphanHttpFilter() as FilterQuery<Agent>);
  }

  private markHttpAgentsOffline(which: FilterQuery<Agent>, spare?: (uid: string) => boolean): Promise<number> {
    return this.updateEach(
      which,
      { $set: { 'connection.connected': false, 'connection.disconnectedAt': new Date() } },
      // Their next poll writes its connection facts in full; what was held of their last poll must not say "connected".
      (uid) => {
        this.storedConnections.delete(uid);
        this.queue.unhold(uid, 'connection.connected');
      },
      spare,
      (uid) => this.feed.agentStatus(uid, { connected: false }),
    );
  }

  /** updateMany under the per-agent write locks of the matching agents (see `writes`). */
  private async updateEach(
    filter: FilterQuery<Agent>,
    update: Record<string, unknown>,
    each?: (uid: string) => void,
    spare?: (uid: string) => boolean,
    stored?: (uid: string) => void,
  ): Promise<number> {
    const ids = (await this.agents.idsWhere(filter)).filter((uid) => !spare?.(uid));
    if (each) ids.forEach(each);
    let modified = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const slice = ids.slice(i, i + 1000);
      modified += await this.writes.runAll(slice, () => this.agents.updateManyIn(slice, filter, update));
      if (stored) slice.forEach(stored);
    }
    return modified;
  }

  /** Labels and per-agent assignment of these agents as stored (for the session's periodic reconcile). */
  async viewsOf(uids: string[]): Promise<Map<string, Pick<StoredAgentSummary, 'labels' | 'assignedConfig' | 'assignedPackages'>>> {
    const out = new Map<string, Pick<StoredAgentSummary, 'labels' | 'assignedConfig' | 'assignedPackages'>>();
    for (let i = 0; i < uids.length; i += 1000) {
      const docs = await this.agents.findByIds(uids.slice(i, i + 1000), { labels: 1, assignedConfig: 1, assignedPackages: 1 });
      for (const d of docs) out.set(d._id, { labels: ownLabels(d.labels), assignedConfig: d.assignedConfig, assignedPackages: d.assignedPackages });
    }
    return out;
  }

  async summary(uid: string): Promise<StoredAgentSummary | undefined> {
    const doc = await this.agents.findById(uid, {
      capabilities: 1,
      description: 1,
      labels: 1,
      assignedConfig: 1,
      assignedPackages: 1,
      remoteConfig: 1,
      packageOffer: 1,
      connectionSettingsOffer: 1,
      configDrift: 1,
      pendingCommand: 1,
      'health.healthy': 1,
      'health.componentsRef': 1,
      'health.componentCount': 1,
      'effectiveConfig.configMap.name': 1,
      'effectiveConfig.ref': 1,
      remoteConfigStatus: 1,
      packageStatuses: 1,
      connectionSettingsStatus: 1,
      availableComponentsHash: 1,
      'connection.connected': 1,
      'connection.transport': 1,
      'connection.connectedAt': 1,
      'connection.sequenceNum': 1,
    });
    if (!doc) return undefined;
    if (AgentBodies.holdsInline(doc)) this.inlineBodies.add(uid);
    const heldSeq = this.queue.held(uid)?.['connection.sequenceNum'] as StoredConnection['sequenceNum'] | undefined;
    return {
      _id: uid,
      capabilities: doc.capabilities ?? 0,
      hasDescription: !!doc.description,
      hasHealth: !!doc.health,
      hasEffectiveConfig: !!doc.effectiveConfig,
      hasRemoteConfigStatus: !!doc.remoteConfigStatus,
      hasPackageStatuses: !!doc.packageStatuses,
      hasConnectionSettingsStatus: !!doc.connectionSettingsStatus,
      availableComponentsHash: doc.availableComponentsHash,
      description: doc.description,
      labels: ownLabels(doc.labels),
      assignedConfig: doc.assignedConfig,
      assignedPackages: doc.assignedPackages,
      remoteConfigStatus: doc.remoteConfigStatus,
      remoteConfig: doc.remoteConfig,
      packageStatuses: doc.packageStatuses,
      packageOffer: doc.packageOffer,
      connectionSettingsOffer: doc.connectionSettingsOffer,
      configDrift: doc.configDrift,
      pendingCommand: doc.pendingCommand,
      connection: doc.connection && heldSeq !== undefined ? { ...doc.connection, sequenceNum: heldSeq } : doc.connection,
    };
  }

  /**
   * Writes what an agent reported (only the parts present) and its connection facts, creating
   * the agent on its first message.
   */
  async applyReport(uid: string, reported: Partial<Agent>, connection: StoredConnection, addLabels?: Record<string, string>): Promise<void> {
    // Bodies go to the content store first (a known one costs nothing); the document keeps refs.
    const parts = await this.bodies.lean(this.inlineBodies.has(uid) ? await this.withInlineBodiesMoved(uid, reported) : reported);
    const stored = this.storedConnections.get(uid);
    const set: Record<string, unknown> = { ...parts };
    const sameConnection = !!stored && connection.connected && stored.connectionId === connection.connectionId;
    if (sameConnection) {
      // The same connection: only the facts that changed, the heartbeat facts held in memory.
      for (const [k, v] of Object.entries(connection)) {
        if (k !== 'lastSeenAt' && k !== 'sequenceNum' && !sameFact(v, stored[k as keyof StoredConnection])) set[`connection.${k}`] = v;
      }
      this.recordSeen(uid, connection.lastSeenAt, connection.sequenceNum);
    } else {
      set.connection = connection;
    }
    // Labels of the agent's enrollment token, merged key by key (an insert then gets exactly these).
    for (const [k, v] of Object.entries(addLabels ?? {})) set[`labels.${k}`] = v;
    if (Object.keys(set).length === 0) return;
    if (parts.packageTerms) await this.recordPackageTerms(parts.packageTerms);
    if (connection.connected && connection.transport !== 'http') this.storedConnections.set(uid, connection);
    else this.storedConnections.delete(uid);
    try {
      await this.queue.write(uid, set, !sameConnection);
    } catch (err) {
      // Not known to be stored: the next report writes the connection facts in full.
      this.storedConnections.delete(uid);
      throw err;
    }
    this.feed.agentStatus(uid, {
      connected: connection.connected,
      transport: connection.transport,
      replica: connection.replicaId,
      healthy: parts.health?.healthy,
      remoteConfigStatus: parts.remoteConfigStatus
        ? { status: parts.remoteConfigStatus.status, errorMessage: parts.remoteConfigStatus.errorMessage || undefined }
        : undefined,
      packages: parts.packageStatuses?.packages.slice(0, MAX_EVENT_PACKAGES).map((p) => ({ name: p.name, version: p.agentHasVersion, status: p.status })),
    });
  }

  /**
   * The report's parts plus, for a document stored with bodies inline, the parts the report does
   * not replace as stored, so that this write moves their bodies to the content store (lazily,
   * one agent at a time, as agents report).
   */
  private async withInlineBodiesMoved(uid: string, parts: Partial<Agent>): Promise<Partial<Agent>> {
    this.inlineBodies.delete(uid);
    if (parts.effectiveConfig && parts.health) return parts;
    const doc = await this.agents.findById(uid, { effectiveConfig: 1, health: 1 });
    const out = { ...parts };
    if (!out.effectiveConfig && doc?.effectiveConfig && !doc.effectiveConfig.ref && doc.effectiveConfig.configMap?.length)
      out.effectiveConfig = doc.effectiveConfig;
    if (!out.health && doc?.health && !doc.health.componentsRef && doc.health.components?.length) out.health = doc.health;
    return out;
  }

  /** Writes delivery bookkeeping (remote config tracking, offers) outside of a report. */
  async applyTracking(uid: string, parts: Partial<Agent>): Promise<void> {
    if (Object.keys(parts).length === 0) return;
    await this.queue.write(uid, parts);
  }

  /**
   * The own-telemetry summary of an agent (see Agent.ownTelemetry), from the replica holding its
   * telemetry window. Stored only while the agent's stored connection is this replica's, so a
   * replica the agent has left never overwrites what its new holder wrote.
   */
  recordOwnTelemetry(uid: string, summary: StoredOwnTelemetry): Promise<void> {
    return this.queue.writeIf(uid, { 'connection.replicaId': this.config.replicaId }, { ownTelemetry: summary });
  }

  /** The same for many agents: they share the queue's next bulk writes. */
  async applyTrackingMany(entries: [string, Partial<Agent>][]): Promise<void> {
    await Promise.all(entries.map(([uid, parts]) => this.applyTracking(uid, parts)));
  }

  /**
   * A heartbeat: held in memory (reads show it) and written once due: an HTTP agent's within a
   * poll interval (its silence is judged from the stored value), any other's after
   * OPAMP_LAST_SEEN_WRITE_SECONDS, or with the agent's next write, whichever comes first.
   */
  recordSeen(uid: string, lastSeenAt: Date, sequenceNum: number | string): void {
    const transport = this.storedConnections.get(uid)?.transport;
    const o = this.config.opamp;
    const maxAgeMs =
      transport === 'websocket' || transport === 'grpc' ? o.lastSeenWriteSeconds * 1000 : Math.min(o.lastSeenWriteSeconds, o.heartbeatIntervalSeconds) * 1000;
    const seen: Record<string, unknown> = { 'connection.lastSeenAt': lastSeenAt, 'connection.sequenceNum': sequenceNum };
    // An HTTP agent's poll also says it is connected: should a sweep elsewhere have judged it
    // silent on a lagging stored time, the next write puts that right.
    if (transport === 'http') seen['connection.connected'] = true;
    this.queue.hold(uid, seen, maxAgeMs);
  }

  /** An agent as stored, with the heartbeat facts held in memory on top. */
  private withHeld<T extends Partial<Agent>>(agent: T): T {
    const held = this.queue.held(agent._id as string);
    if (!held || !agent.connection) return agent;
    const connection = { ...agent.connection };
    if (held['connection.lastSeenAt'] !== undefined) connection.lastSeenAt = held['connection.lastSeenAt'] as Date;
    if (held['connection.sequenceNum'] !== undefined) connection.sequenceNum = held['connection.sequenceNum'] as number | string;
    return { ...agent, connection };
  }

  /**
   * Forgets a closed connection's facts at once (nothing held of it is written any more) and
   * returns what its close must store; markDisconnected does both unless given these.
   */
  forgetConnection(uid: string, connectionId: string): { sequenceNum?: unknown } {
    // The last sequence number taken goes with the close: the agent's next connection is judged by it.
    if (this.storedConnections.get(uid)?.connectionId !== connectionId) return {};
    const sequenceNum = this.queue.held(uid)?.['connection.sequenceNum'];
    this.storedConnections.delete(uid);
    this.queue.release(uid);
    return { sequenceNum };
  }

  /** Marks the agent disconnected, unless a newer connection has taken it over meanwhile. */
  async markDisconnected(uid: string, connectionId: string, at = new Date(), closing = this.forgetConnection(uid, connectionId)): Promise<void> {
    const sequenceNum = closing.sequenceNum;
    // A newer connection of this agent to this replica has taken over: watchers hear nothing of the old one's close.
    const takenOver = this.storedConnections.has(uid);
    // Through the queue, so that thousands of sockets dropping at once (a network blip, a load
    // balancer restart) cost a few bulk writes, not one round trip each.
    await this.queue.writeIf(
      uid,
      { 'connection.connectionId': connectionId },
      {
        'connection.connected': false,
        'connection.disconnectedAt': at,
        'connection.lastSeenAt': at,
        ...(sequenceNum === undefined ? {} : { 'connection.sequenceNum': sequenceNum }),
      },
    );
    if (!takenOver) this.feed.agentStatus(uid, { connected: false });
  }

  async knowsComponentCatalog(hashHex: string): Promise<boolean> {
    return this.agents.catalogExists(hashHex);
  }

  async storeComponentCatalog(hashHex: string, components: unknown[]): Promise<void> {
    await this.agents.storeCatalog(hashHex, components);
  }

  async componentCatalog(hashHex: string): Promise<unknown[] | undefined> {
    return this.agents.catalog(hashHex);
  }

  /** Stores a command for the agent's next poll (replacing one not yet delivered). */
  async storePendingCommand(uid: string, command: PendingAgentCommand): Promise<void> {
    await this.agents.updateById(uid, { $set: { pendingCommand: command } });
  }

  /**
   * Takes the stored command `id` for delivery: true for exactly one caller, whichever replica
   * the agent polls (false when another replica took it, or it was replaced).
   */
  async claimPendingCommand(uid: string, id: string): Promise<boolean> {
    return (await this.agents.updateManyIn([uid], { 'pendingCommand.id': id }, { $unset: { pendingCommand: 1 } })) > 0;
  }

  /**
   * Lets a config the agents reported FAILED be pushed to them again (a user's retry): drops the
   * hash from what they remember as failed. Returns how many agents remembered it.
   */
  async forgetFailedHash(uids: string[], hashHex: string): Promise<number> {
    let n = 0;
    for (let i = 0; i < uids.length; i += 1000) {
      n += await this.agents.updateManyIn(
        uids.slice(i, i + 1000),
        { 'remoteConfig.failedHashes': hashHex },
        { $pull: { 'remoteConfig.failedHashes': hashHex } },
      );
    }
    return n;
  }

  /**
   * Lets packages offers the agents reported INSTALL_FAILED be sent to them again (a user's retry
   * of a rollout of packages): they forget every failed offer. Returns how many remembered one.
   */
  async forgetFailedPackageOffers(uids: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < uids.length; i += 1000) {
      n += await this.agents.updateManyIn(
        uids.slice(i, i + 1000),
        { 'packageOffer.failedHashes': { $exists: true } },
        { $unset: { 'packageOffer.failedHashes': 1 } },
      );
    }
    return n;
  }

  async findOne(uid: string): Promise<Agent | undefined> {
    await this.queue.flush();
    const doc = await this.agents.findById(uid);
    return doc ? this.withHeld((await this.bodies.join([doc]))[0]) : undefined;
  }

  /** One page of agents in uid order, after the cursor `after`. */
  async list(limit: number, after?: string): Promise<{ items: Agent[]; remaining: number }> {
    await this.queue.flush();
    const { items, remaining } = await this.agents.page(limit, after || undefined);
    return { items: (await this.bodies.join(items)).map((a) => this.withHeld(a)), remaining };
  }

  /**
   * One page of agents matching every filter, in the order of `q.sort` (uid by default), as summaries unless `q.view` is full.
   * `scope` narrows it further: a selector and a filter the caller built (a group's governed agents).
   */
  async search(
    q: ListAgentsQuery,
    limit: number,
    after?: PageCursor,
    scope?: { requirements: SelectorRequirement[]; extra: FilterQuery<unknown> },
  ): Promise<{ items: Agent[]; remaining: number }> {
    await this.queue.flush();
    let requirements: SelectorRequirement[] = [];
    if (q.selector) {
      try {
        requirements = parseSelector(q.selector);
      } catch (err) {
        if (err instanceof SelectorError) throw new InvalidError(`selector: ${err.message}`, { errors: [{ field: 'selector', message: err.message }] });
        throw err;
      }
    }
    if (q.group) {
      const groupRequirements = await this.groups.activeRequirements(q.group);
      if (!groupRequirements) throw new NotFoundError(`agent group ${q.group} not found`);
      requirements = [...requirements, ...groupRequirements];
    }
    const and: FilterQuery<Agent>[] = [];
    if (scope) {
      requirements = [...requirements, ...scope.requirements];
      if (Object.keys(scope.extra).length > 0) and.push(scope.extra as FilterQuery<Agent>);
    }
    const live = this.liveness.connectedFilter() as FilterQuery<Agent>;
    if (q.connected === true) and.push(live);
    if (q.connected === false) and.push({ $nor: [live] });
    if (q.healthy !== undefined) and.push(q.healthy ? { 'health.healthy': true } : { 'health.healthy': { $ne: true } });
    if (q.transport) and.push({ 'connection.transport': q.transport });
    if (q.condition === 'ConfigDrift') and.push({ 'configDrift.status': 'True' });
    else if (q.condition) and.push({ 'ownTelemetry.conditions': q.condition });
    if (q.package) and.push({ packageTerms: `pkg:${q.package}` });
    // Each a bound on a number: an agent without own telemetry has none, and no bound holds for it.
    for (const [param, field, op] of RATE_FILTERS) if (q[param] !== undefined) and.push({ [field]: { [op]: q[param] } });
    if (q.configState) and.push(q.configState === 'none' ? { 'remoteConfig.state': null } : { 'remoteConfig.state': q.configState });
    if (q.search) {
      const re = new RegExp(q.search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
      and.push({ $or: [{ _id: re }, { 'description.identifying.value': re }, { 'description.nonIdentifying.value': re }] });
    }
    const sort = agentSort(q.sort);
    // A page cursor needs the sort value on every item: agents without own telemetry have no rate to sort by.
    if (RATE_SORT_FIELDS.has(sort.field)) and.push({ [sort.field]: { $exists: true } });
    const extra: FilterQuery<Agent> = and.length === 0 ? {} : and.length === 1 ? and[0] : { $and: and };
    const view = q.view ?? 'summary';
    const page = await this.agents.pageSelected(requirements, limit, after, extra, sort, AGENT_LIST_PROJECTIONS[view]);
    // The full view shows bodies: one read of the content store for the page. A summary needs none.
    const items = view === 'full' ? await this.bodies.join(page.items) : page.items;
    return { ...page, items: items.map((a) => this.withHeld(a)) };
  }

  /**
   * Every agent a selector plus `extra` picks (a group's governed agents: see governedQuery), as
   * the facts a rollout watches. No config bodies.
   */
  async rolloutFacts(requirements: SelectorRequirement[], extra: FilterQuery<unknown>): Promise<RolloutAgentFacts[]> {
    await this.queue.flush();
    const cutoff = this.httpSilenceCutoff();
    const projection = {
      labels: 1,
      description: 1,
      connection: 1,
      capabilities: 1,
      'health.healthy': 1,
      remoteConfigStatus: 1,
      packageStatuses: 1,
      connectionSettingsOffer: 1,
      connectionSettingsStatus: 1,
    };
    // One query, unsorted and unpaged: on FerretDB such a filter reads the collection once, where
    // pages in uid order would read it once per page and again for each page's remaining count.
    const terms = selectorToTermsFilter(requirements) as FilterQuery<Agent>;
    const parts = [terms, extra as FilterQuery<Agent>].filter((f) => Object.keys(f).length > 0);
    const filter: FilterQuery<Agent> = parts.length === 0 ? {} : parts.length === 1 ? parts[0] : { $and: parts };
    const items = await this.agents.findWhere(filter, projection);
    return items.map((a) => {
      const c = a.connection;
      return {
        uid: a._id,
        labels: a.labels,
        description: a.description,
        connected: connectedAt(c, cutoff),
        healthy: a.health?.healthy,
        replicaId: c?.connected ? c.replicaId : undefined,
        acceptsRemoteConfig: ((a.capabilities ?? 0) & 0x2) !== 0,
        acceptsPackages: ((a.capabilities ?? 0) & 0x8) !== 0,
        packages: a.packageStatuses?.packages,
        capabilities: a.capabilities ?? 0,
        connectionSettingsOffer: a.connectionSettingsOffer,
        connectionSettingsStatus: a.connectionSettingsStatus,
        reported: a.remoteConfigStatus
          ? { hash: a.remoteConfigStatus.lastRemoteConfigHash, status: a.remoteConfigStatus.status, errorMessage: a.remoteConfigStatus.errorMessage }
          : undefined,
      };
    });
  }

  /** The hash (hex) of the effective config map each of these agents reports, for those that report one. */
  async effectiveConfigHashes(uids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < uids.length; i += 200) {
      const docs = await this.agents.findByIds(uids.slice(i, i + 200), { effectiveConfig: 1 });
      for (const d of docs) {
        // From the content store ref (no body read) or, for a document with inline bodies, from them.
        if (d.effectiveConfig?.configMap) out.set(d._id, effectiveConfigHashHex(d.effectiveConfig));
      }
    }
    return out;
  }

  /** Merges server-side labels (null removes one); selectors and groups see them at once. */
  async patchLabels(uid: string, patch: Record<string, unknown>): Promise<Agent> {
    const set: Record<string, string> = {};
    const unset: Record<string, ''> = {};
    const errors: { field: string; message: string }[] = [];
    for (const [k, v] of Object.entries(patch)) {
      const keyProblem = selectorKeyProblem(k);
      if (keyProblem || k.includes('.') || k.startsWith('$')) {
        errors.push({ field: `metadata.labels.${k}`, message: keyProblem ?? 'label keys may not contain "." or start with "$"' });
        continue;
      }
      if (v === null) unset[`labels.${k}`] = '';
      else if (typeof v === 'string' && !selectorValueProblem(v)) set[`labels.${k}`] = v;
      else errors.push({ field: `metadata.labels.${k}`, message: typeof v === 'string' ? selectorValueProblem(v)! : 'must be a string or null' });
    }
    if (errors.length) throw new InvalidError(`Invalid labels: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
    if (Object.keys(set).length || Object.keys(unset).length) {
      // Reports queued before the patch are stored first; then read and write under the lock, so the
      // selector terms written are those of the labels and description stored.
      await this.queue.flush();
      const res = await this.writes.run(uid, async () => {
        const current = await this.agents.findById(uid, { labels: 1, description: 1 });
        if (!current) return false;
        const labels: Record<string, string> = { ...(current.labels ?? {}) };
        for (const k of Object.keys(unset)) delete labels[k.slice('labels.'.length)];
        for (const [k, v] of Object.entries(set)) labels[k.slice('labels.'.length)] = v;
        const update: Record<string, unknown> = { $set: { ...set, selectorTerms: agentSelectorTerms({ labels, description: current.description }) } };
        if (Object.keys(unset).length) update.$unset = unset;
        return this.agents.updateById(uid, update);
      });
      if (!res) throw new NotFoundError(`agent ${uid} not found`);
      this.events.publish({ reason: 'agent.labels', agents: [uid] });
    }
    const agent = await this.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    return agent;
  }

  /** Sets (or clears, with undefined) the agent's own configuration, which overrides any group's. */
  async assignConfig(uid: string, assignment: AgentConfigAssignment | undefined): Promise<Agent> {
    const found = await this.writes.run(uid, () =>
      this.agents.updateById(uid, assignment ? { $set: { assignedConfig: assignment } } : { $unset: { assignedConfig: '' } }),
    );
    if (!found) throw new NotFoundError(`agent ${uid} not found`);
    this.events.publish({ reason: 'agent.config', agents: [uid] });
    return (await this.findOne(uid))!;
  }

  /** Sets (or clears, with undefined) the agent's own packages, each overriding its group's package of the same name. */
  async assignPackages(uid: string, assignment: AgentPackageAssignment | undefined): Promise<Agent> {
    const found = await this.writes.run(uid, () =>
      this.agents.updateById(uid, assignment ? { $set: { assignedPackages: assignment } } : { $unset: { assignedPackages: '' } }),
    );
    if (!found) throw new NotFoundError(`agent ${uid} not found`);
    this.events.publish({ reason: 'agent.packages', agents: [uid] });
    return (await this.findOne(uid))!;
  }

  /** How many agents hold each of these package terms (see Agent.packageTerms), each an indexed count; `extra` narrows them (a group's agents). */
  async countPackageTerms(terms: string[], requirements: SelectorRequirement[] = [], extra: FilterQuery<unknown> = {}): Promise<Map<string, number>> {
    await this.queue.flush();
    const both = (t: string): FilterQuery<Agent> =>
      Object.keys(extra).length ? { $and: [{ packageTerms: t }, extra as FilterQuery<Agent>] } : { packageTerms: t };
    const counts = await Promise.all(terms.map((t) => this.agents.countSelected(requirements, both(t))));
    return new Map(terms.map((t, i) => [t, counts[i]]));
  }

  /** Every package term agents reported (some may be held by none any more: they count 0), for the fleet-wide package view. */
  async packageTermsInUse(): Promise<string[]> {
    await this.queue.flush();
    return this.agents.recordedPackageTerms();
  }

  /** Records the terms of a report this replica has not recorded yet (rare: a new package, version or status). */
  private async recordPackageTerms(terms: string[]): Promise<void> {
    const fresh = terms.filter((t) => !this.recordedTerms.has(t));
    if (!fresh.length) return;
    if (this.recordedTerms.size > 100_000) this.recordedTerms.clear();
    try {
      await this.agents.recordPackageTerms(fresh);
      fresh.forEach((t) => this.recordedTerms.add(t));
    } catch (err) {
      // The report itself is still stored; the next report with these terms records them.
      if (isDatabaseUnavailable(err)) throw err;
      this.logger.warn(`package terms not recorded (the next report retries): ${err}`);
    }
  }

  /** Deletes a disconnected agent; a connected one would come straight back, so that is a conflict. */
  async delete(uid: string): Promise<void> {
    const agent = await this.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    if (this.liveness.isConnected(agent.connection)) {
      throw new ConflictError(`agent ${uid} is connected; only a disconnected agent can be deleted`);
    }
    const deleted = await this.writes.run(uid, () => this.agents.deleteWhere({ _id: uid, 'connection.connected': agent.connection?.connected ?? false }));
    if (deleted) this.feed.agentDeleted(uid);
  }

  /**
   * Counts for the fleet gauges: delivery states over all agents, health over connected ones.
   * Three counts whatever the fleet's size: one grouping every agent by delivery state,
   * connection and health (a database that scans for a count scans once, not once per figure),
   * and the connected HTTP agents, all and healthy (their liveness depends on their last poll,
   * so they are counted by it: an indexed range, or the repository's shared read of counted fields).
   */
  async fleetCounts(): Promise<{ configStates: Record<string, number>; healthy: number; unhealthy: number; configDrift: number }> {
    const states = ['applied', 'applying', 'failed', 'pending', 'unsupported'];
    const cutoff = this.httpSilenceCutoff();
    type Group = { _id: { s?: string; c?: boolean; t?: string; h?: boolean; d?: string }; n: number };
    const liveHttp: FilterQuery<Agent> = { 'connection.connected': true, 'connection.transport': 'http', 'connection.lastSeenAt': { $gte: cutoff } };
    const [groups, httpConnected, httpHealthy] = await Promise.all([
      this.agents.countGrouped<Group['_id']>(undefined, {
        s: '$remoteConfig.state',
        c: '$connection.connected',
        t: '$connection.transport',
        h: '$health.healthy',
        // Drift is a fact of the stored document (it outlives the session), so it is counted here
        // in the same grouped read, connected or not.
        d: '$configDrift.status',
      }),
      this.agents.countSelected([], liveHttp),
      this.agents.countSelected([], { ...liveHttp, 'health.healthy': true }),
    ]);
    const configStates: Record<string, number> = Object.fromEntries(states.map((s) => [s, 0]));
    let connected = 0;
    let healthy = 0;
    let configDrift = 0;
    for (const { _id: g, n } of groups) {
      if (g.s !== undefined && g.s in configStates) configStates[g.s] += n;
      if (g.d === 'True') configDrift += n;
      // HTTP agents are judged one by one below: their liveness depends on their last poll.
      if (g.t !== 'http' && connectedAt({ connected: g.c, transport: g.t }, cutoff)) {
        connected += n;
        if (g.h === true) healthy += n;
      }
    }
    connected += httpConnected;
    healthy += httpHealthy;
    return { configStates, healthy, unhealthy: connected - healthy, configDrift };
  }
}

/** Same stored connection fact (dates by time). */
function sameFact(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

/**
 * Labels as the session holds them: none is `undefined`, whether the document has `{}` (every
 * insert gets it) or nothing, so that comparing what is stored with what a new session holds
 * does not see a change where there is none (and rewrite every new agent's selector terms).
 */
function ownLabels(labels: Record<string, string> | undefined): Record<string, string> | undefined {
  return labels && Object.keys(labels).length > 0 ? labels : undefined;
}
