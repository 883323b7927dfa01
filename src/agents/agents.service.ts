import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Agent, ComponentCatalog, StoredConnection } from './agent.schema';
import { LastSeenBatcher } from './last-seen-batcher';

/** What the protocol session needs to know of a stored agent to decide about ReportFullState. */
export interface StoredAgentSummary {
  capabilities: number;
  hasDescription: boolean;
  hasHealth: boolean;
  hasEffectiveConfig: boolean;
  hasRemoteConfigStatus: boolean;
  hasPackageStatuses: boolean;
  hasConnectionSettingsStatus: boolean;
  availableComponentsHash?: string;
  identifying?: { key: string; value: unknown }[];
  connection?: Pick<StoredConnection, 'connected' | 'transport' | 'connectedAt'>;
}

/** The Agent aggregate's persistence: status ingest from the protocol, reads for the API. */
@Injectable()
export class AgentsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AgentsService.name);
  private readonly batcher: LastSeenBatcher;
  private sweeper?: NodeJS.Timeout;

  constructor(
    @InjectModel(Agent.name) private readonly agents: Model<Agent>,
    @InjectModel(ComponentCatalog.name) private readonly catalogs: Model<ComponentCatalog>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.batcher = new LastSeenBatcher(agents, config.opamp.lastSeenFlushMs, (err) => this.logger.error(`last-seen flush failed: ${err}`));
  }

  async onApplicationBootstrap(): Promise<void> {
    // Connections this replica held before it stopped are gone; HTTP agents are judged by their polls.
    await this.agents.updateMany(
      { 'connection.replicaId': this.config.replicaId, 'connection.connected': true, 'connection.transport': { $ne: 'http' } },
      { $set: { 'connection.connected': false, 'connection.disconnectedAt': new Date() } },
    );
    this.batcher.start();
    const every = Math.min(this.config.opamp.heartbeatIntervalSeconds * 1000, 10_000);
    this.sweeper = setInterval(() => void this.sweepSilentHttpAgents().catch((e) => this.logger.error(`sweep failed: ${e}`)), every);
    this.sweeper.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.batcher.stop();
  }

  /** An HTTP agent counts as connected until it has missed 3 poll intervals. */
  httpSilenceCutoff(now = Date.now()): Date {
    return new Date(now - 3 * this.config.opamp.heartbeatIntervalSeconds * 1000);
  }

  async sweepSilentHttpAgents(): Promise<number> {
    await this.batcher.flush();
    const cutoff = this.httpSilenceCutoff();
    const res = await this.agents.updateMany(
      { 'connection.connected': true, 'connection.transport': 'http', 'connection.lastSeenAt': { $lt: cutoff } },
      { $set: { 'connection.connected': false, 'connection.disconnectedAt': new Date() } },
    );
    return res.modifiedCount;
  }

  async summary(uid: string): Promise<StoredAgentSummary | undefined> {
    const doc = await this.agents
      .findById(uid, {
        capabilities: 1,
        'description.identifying': 1,
        health: 1,
        effectiveConfig: 1,
        remoteConfigStatus: 1,
        packageStatuses: 1,
        connectionSettingsStatus: 1,
        availableComponentsHash: 1,
        'connection.connected': 1,
        'connection.transport': 1,
        'connection.connectedAt': 1,
      })
      .lean();
    if (!doc) return undefined;
    return {
      capabilities: doc.capabilities ?? 0,
      hasDescription: !!doc.description,
      hasHealth: !!doc.health,
      hasEffectiveConfig: !!doc.effectiveConfig,
      hasRemoteConfigStatus: !!doc.remoteConfigStatus,
      hasPackageStatuses: !!doc.packageStatuses,
      hasConnectionSettingsStatus: !!doc.connectionSettingsStatus,
      availableComponentsHash: doc.availableComponentsHash,
      identifying: doc.description?.identifying,
      connection: doc.connection,
    };
  }

  /**
   * Writes what an agent reported (only the parts present) and its connection facts, creating
   * the agent on its first message.
   */
  async applyReport(uid: string, parts: Partial<Agent>, connection: StoredConnection): Promise<void> {
    this.batcher.forget(uid);
    const set: Record<string, unknown> = { connection };
    for (const [k, v] of Object.entries(parts)) if (v !== undefined) set[k] = v;
    await this.agents.updateOne({ _id: uid }, { $set: set, $setOnInsert: { labels: {} } }, { upsert: true });
  }

  /** A heartbeat: remembered now, written with the next batch. */
  recordSeen(uid: string, lastSeenAt: Date, sequenceNum: number | string): void {
    this.batcher.record(uid, lastSeenAt, sequenceNum);
  }

  /** Marks the agent disconnected, unless a newer connection has taken it over meanwhile. */
  async markDisconnected(uid: string, connectionId: string, at = new Date()): Promise<void> {
    await this.batcher.flush();
    await this.agents.updateOne(
      { _id: uid, 'connection.connectionId': connectionId },
      { $set: { 'connection.connected': false, 'connection.disconnectedAt': at, 'connection.lastSeenAt': at } },
    );
  }

  async knowsComponentCatalog(hashHex: string): Promise<boolean> {
    return (await this.catalogs.exists({ _id: hashHex })) !== null;
  }

  async storeComponentCatalog(hashHex: string, components: unknown[]): Promise<void> {
    await this.catalogs.updateOne({ _id: hashHex }, { $setOnInsert: { components, firstSeenAt: new Date() } }, { upsert: true });
  }

  async componentCatalog(hashHex: string): Promise<unknown[] | undefined> {
    return (await this.catalogs.findById(hashHex).lean())?.components;
  }

  async findOne(uid: string): Promise<Agent | undefined> {
    await this.batcher.flush();
    return ((await this.agents.findById(uid).lean()) as Agent | null) ?? undefined;
  }

  /** One page of agents in uid order, after the cursor `after`. */
  async list(limit: number, after?: string): Promise<{ items: Agent[]; remaining: number }> {
    await this.batcher.flush();
    const filter = after ? { _id: { $gt: after } } : {};
    const items = await this.agents.find(filter).sort({ _id: 1 }).limit(limit).lean();
    const remaining = items.length < limit ? 0 : await this.agents.countDocuments({ _id: { $gt: items[items.length - 1]._id } });
    return { items: items as Agent[], remaining };
  }
}
