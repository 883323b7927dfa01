import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument, Schema as MongooseSchema } from 'mongoose';
import type { AgentConfigAssignment } from './agent-config-assignment';
import type { AgentPackageAssignment } from './agent-package-assignment';

/**
 * One agent as stored. Attribute keys and component names contain dots, which MongoDB field
 * names handle badly, so maps coming from agents are stored as arrays of named entries.
 * Reported parts are stored as plain sub-documents written whole when they change.
 */
@Schema({ collection: 'agents', timestamps: { createdAt: 'firstSeenAt', updatedAt: 'updatedAt' }, minimize: false, versionKey: false })
export class Agent {
  /** Canonical instance uid text (UUID 8-4-4-4-12, or a legacy ULID). */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: MongooseSchema.Types.Mixed })
  description?: {
    identifying: { key: string; value: unknown }[];
    nonIdentifying: { key: string; value: unknown }[];
  };

  /** Capability bits as reported (only the low 16 bits exist today). */
  @Prop({ type: Number, default: 0 })
  capabilities: number;

  /**
   * Health as reported. The component tree below the top level is stored once by content in the
   * content store (`componentsRef`), the document keeping the summary (healthy, status, last
   * error, component counts) and an empty `components`; reads that show the tree join it back.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  health?: StoredHealth;

  /**
   * The effective config as reported: file names, content types and sizes here, the bodies once
   * by content in the content store (`ref`, `effective-config:<config map hash>`); a document
   * stored before that holds the bodies inline (read as is, rewritten to a ref on its next write).
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  effectiveConfig?: StoredEffectiveConfig;

  @Prop({ type: MongooseSchema.Types.Mixed })
  remoteConfigStatus?: { lastRemoteConfigHash: string; status: string; errorMessage: string };

  @Prop({ type: MongooseSchema.Types.Mixed })
  packageStatuses?: StoredPackageStatuses;

  /**
   * Small terms of the reported package statuses, so that "how many agents run NAME@VERSION" is
   * an indexed count, never a scan: `pkg:NAME` (reports the package), `pkg:NAME@VERSION` (runs
   * that version), `pkg:NAME#STATUS` (e.g. `#INSTALL_FAILED`). See packageTerms in agent-report.mapper.ts.
   */
  @Prop({ type: [String], default: undefined })
  packageTerms?: string[];

  /** Hash of the agent's available components; the components themselves live in a catalogue by hash. */
  @Prop({ type: String })
  availableComponentsHash?: string;

  @Prop({ type: [String], default: undefined })
  customCapabilities?: string[];

  @Prop({ type: MongooseSchema.Types.Mixed })
  connectionSettingsStatus?: { lastConnectionSettingsHash: string; status: string; errorMessage: string };

  @Prop({ type: MongooseSchema.Types.Mixed, default: {} })
  labels: Record<string, string>;

  /**
   * Every key of `labels` and of the description's attributes as selector terms ("k" and "k=v",
   * see src/common/selectors/selector-terms.ts), so that selectors are answered by an index.
   * Rewritten with every write that changes labels or description.
   */
  @Prop({ type: [String], default: undefined })
  selectorTerms?: string[];

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  connection: StoredConnection;

  /** A per-agent configuration that overrides any group's. */
  @Prop({ type: MongooseSchema.Types.Mixed })
  assignedConfig?: AgentConfigAssignment | null;

  /** The agent's own packages, overriding its group's package of the same name. */
  @Prop({ type: MongooseSchema.Types.Mixed })
  assignedPackages?: AgentPackageAssignment | null;

  /** Where the packages offer stands for this agent (maintained by the OpAMP session). */
  @Prop({ type: MongooseSchema.Types.Mixed })
  packageOffer?: PackageOfferTracking | null;

  /** Where remote configuration delivery stands for this agent (maintained by the OpAMP session). */
  @Prop({ type: MongooseSchema.Types.Mixed })
  remoteConfig?: RemoteConfigTracking | null;

  /**
   * The ConfigDrift condition (issue 20): whether what the agent runs is the config it was sent,
   * judged by the session (src/opamp-gateway/config-drift.ts); `since` is when its status last changed.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  configDrift?: StoredDriftCondition | null;

  /**
   * What the agent's own metrics show, as the replica holding its telemetry window last wrote it
   * (src/telemetry/telemetry-summary.ts): the own-telemetry conditions that are True and its
   * rates. Written only when a condition changes or a rate moves to another band, so lists can
   * filter and sort on it without asking every replica, at a few writes per agent per hour.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  ownTelemetry?: StoredOwnTelemetry | null;

  /**
   * The last connection settings offer sent, so that it is sent again only when it changes;
   * `rollout`: the rollout whose connection settings it was made from (recorded also when that
   * rollout's settings give the agent the offer it already has, so nothing is sent).
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  connectionSettingsOffer?: { lastSentHash: string; lastSentAt: Date; origin: string; rollout?: string } | null;

  /**
   * A command waiting for an HTTP agent's next poll (it cannot be pushed), stored so that the
   * replica the agent polls next delivers it, whichever that is; claimed with a conditional
   * update, so it is delivered once. Older than PENDING_COMMAND_TTL_MS, it is dropped.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  pendingCommand?: PendingAgentCommand | null;

  firstSeenAt: Date;
  updatedAt: Date;
}

export interface StoredConnection {
  connected: boolean;
  transport: 'websocket' | 'http' | 'grpc';
  remoteAddress?: string;
  connectedAt?: Date;
  disconnectedAt?: Date;
  lastSeenAt: Date;
  /** Sequence number of the last message; a string when it exceeds 2^53. */
  sequenceNum: number | string;
  replicaId: string;
  connectionId?: string;
}

/** Delivery state: desired vs sent vs reported, and the resulting state shown in group counts. */
export interface StoredDriftCondition {
  type: 'ConfigDrift';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  since: Date;
}

/** See Agent.ownTelemetry. Rates are items per second over the agent's latest report interval. */
export interface StoredOwnTelemetry {
  /** Types of the own-telemetry conditions that are True (Idle, ExportFailing, Stale, Restarting). */
  conditions: string[];
  acceptedPerSecond: number;
  sentPerSecond: number;
  /** failed / (sent + failed), 0–1. */
  exportFailureRatio: number;
  at: Date;
}

export interface RemoteConfigTracking {
  state: 'applied' | 'applying' | 'failed' | 'pending' | 'unsupported';
  desiredHash?: string;
  origin?: string;
  lastSentHash?: string;
  lastSentAt?: Date;
  /** Set for agents that cannot report status: "applied" only means "sent". */
  unconfirmed?: boolean;
  error?: string;
  /**
   * Config hashes the agent reported FAILED for (newest last, at most 8): never pushed to it
   * again, also after it rolled back to an older config, reconnected or the server restarted; a
   * new revision (another hash) is.
   */
  failedHashes?: string[];
  /** The last config hash the agent reported APPLIED: what it runs when it rolled back. */
  lastKnownGood?: string;
}

/** One package's status as the agent reported it (PackageStatus; hashes as hex). */
export interface StoredPackageStatus {
  name: string;
  agentHasVersion: string;
  agentHasHash: string;
  serverOfferedVersion: string;
  serverOfferedHash: string;
  /** INSTALLED, INSTALL_PENDING, INSTALLING, INSTALL_FAILED or DOWNLOADING. */
  status: string;
  errorMessage: string;
  downloadPercent?: number;
  downloadBytesPerSecond?: number;
}

export interface StoredPackageStatuses {
  packages: StoredPackageStatus[];
  serverProvidedAllPackagesHash: string;
  errorMessage: string;
}

/** A package the policy did not offer as desired, and why (shown in the agent's status). */
export interface PackageRefusal {
  name: string;
  version: string;
  /** The version the agent runs, when that is the reason. */
  installedVersion?: string;
  reason: string;
}

/** Delivery of packages: what the agent should run (hash, origin), what was sent, and how it stands. */
export interface PackageOfferTracking {
  /** installed: every offered package runs; installing: the agent works on the offer; offered: sent, nothing reported yet. */
  state: 'installed' | 'installing' | 'offered' | 'failed' | 'pending' | 'unsupported';
  /** all_packages_hash (hex) of the offer due now. */
  desiredHash?: string;
  /** Where the named packages come from: `group/NAME`, `agent`, or both joined by "+". */
  origin?: string;
  lastSentHash?: string;
  lastSentAt?: Date;
  /** Offers (all_packages_hash, hex) the agent failed to install (newest last, at most 8): never sent to it again. */
  failedHashes?: string[];
  /** What failed, as the agent said (package: error). */
  error?: string;
  /** Packages not offered as named: a downgrade without force, a version not catalogued, no file for the agent's platform. */
  refused?: PackageRefusal[];
}

/** A command for an HTTP agent, waiting for its next poll. `type` is OpAMP's CommandType. */
export interface PendingAgentCommand {
  id: string;
  type: number;
  at: Date;
}

/** How long a command waits for an HTTP agent's next poll: a restart asked for long ago is not carried out. */
export const PENDING_COMMAND_TTL_MS = 10 * 60_000;

/** An effective config as the agent document holds it (see Agent.effectiveConfig). */
export interface StoredEffectiveConfig {
  configMap: StoredConfigFile[];
  /** The content store id of the files' bodies; absent when they are inline (or there are no files). */
  ref?: string;
}

export interface StoredConfigFile {
  name: string;
  contentType: string;
  /** Absent on a document whose bodies are in the content store, until a read joins them back. */
  body?: Buffer;
  /** Bytes of `body`, stored with it so list summaries can show it without reading the body. */
  size?: number;
}

export interface StoredHealth {
  healthy: boolean;
  startTime?: Date;
  lastError: string;
  status: string;
  statusTime?: Date;
  attributes?: { key: string; value: unknown }[];
  components: (StoredHealth & { name: string })[];
  /** At the top level only: how many components the tree below holds, and how many of them are unhealthy (for list summaries). */
  componentCount?: number;
  unhealthyComponentCount?: number;
  /** At the top level only: the content store id of `components`, which the document then stores empty. */
  componentsRef?: string;
}

export type AgentDocument = HydratedDocument<Agent>;
export const AgentSchema = SchemaFactory.createForClass(Agent);
AgentSchema.index({ 'connection.connected': 1, 'connection.transport': 1, 'connection.lastSeenAt': 1 });
AgentSchema.index({ 'connection.replicaId': 1, 'connection.connected': 1 });
AgentSchema.index({ 'remoteConfig.state': 1 });
// The overview's counts by health and by transport (`healthy`, `transport` filters): indexed
// counts, not a read of every agent per count.
AgentSchema.index({ 'health.healthy': 1 });
AgentSchema.index({ 'connection.transport': 1 });
AgentSchema.index({ 'ownTelemetry.conditions': 1 });
// The rate sorts of the agents list (sort=-acceptedRate, …): keyset pages in (rate, uid) order.
AgentSchema.index({ 'ownTelemetry.acceptedPerSecond': 1, _id: 1 });
AgentSchema.index({ 'ownTelemetry.sentPerSecond': 1, _id: 1 });
AgentSchema.index({ 'ownTelemetry.exportFailureRatio': 1, _id: 1 });
// Package counts per group and fleet-wide (equality on a term).
AgentSchema.index({ packageTerms: 1 });
// Selectors (equality on a term) with pages in uid order, and the exact remaining count after a page.
AgentSchema.index({ selectorTerms: 1, _id: 1 });
// The sorted list pages (`sort=firstSeen|lastSeen`, then uid).
AgentSchema.index({ firstSeenAt: 1, _id: 1 });
AgentSchema.index({ 'connection.lastSeenAt': 1, _id: 1 });

/** Available components reported by agents, shared by every agent reporting the same hash. */
@Schema({ collection: 'component_catalogs', versionKey: false })
export class ComponentCatalog {
  /** Hex of the agent-reported hash. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  components: unknown[];

  @Prop({ type: Date, default: () => new Date() })
  firstSeenAt: Date;
}
export const ComponentCatalogSchema = SchemaFactory.createForClass(ComponentCatalog);

/**
 * Every package term (see Agent.packageTerms) some agent reported at some time: the fleet-wide
 * package view counts agents per term it lists here, so it never walks the agents for their
 * distinct terms. Small (names × versions × statuses); a term no agent holds any more counts 0.
 */
@Schema({ collection: 'package_terms', versionKey: false })
export class PackageTerm {
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: Date, default: () => new Date() })
  firstSeenAt: Date;
}
export const PackageTermSchema = SchemaFactory.createForClass(PackageTerm);
