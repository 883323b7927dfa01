import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { SelectorRequirement } from '../common/selectors';
import type { StoredPolicy } from '../rollouts/rollout-policy';
import type { PackageRef } from '../agents/agent-package-assignment';

/** Map entries stored as arrays: keys such as `app.kubernetes.io/name` contain dots, which MongoDB field names handle badly. */
export interface StoredEntry {
  key: string;
  value: string;
}

/** The selector as the operator wrote it (text or object form), kept to be shown back unchanged. */
export type StoredSelector = { text: string } | { matchLabels?: StoredEntry[]; matchExpressions?: { key: string; operator: string; values?: string[] }[] };

export interface StoredConfigRef {
  fileName: string;
  remoteConfig: string;
  /** Absent: follow the latest revision. */
  revision?: number;
}

export interface StoredEndpoint {
  endpoint?: string;
  headers?: StoredEntry[];
  proxy?: { url: string; connectHeaders?: StoredEntry[] };
}

export interface StoredConnectionSettings {
  heartbeatIntervalSeconds?: number;
  opamp?: StoredEndpoint;
  ownMetrics?: StoredEndpoint;
  ownTraces?: StoredEndpoint;
  ownLogs?: StoredEndpoint;
}

/** A group's rollout policy as stored: a rollout spec without target and configs (see rollouts). */
export type StoredRolloutPolicy = StoredPolicy;

/** An agent group as stored; changes commit by compare-and-set on `resourceVersion`. */
@Schema({ collection: 'agent_groups', versionKey: false, minimize: false })
export class AgentGroup {
  /** The name, a DNS label. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: MongooseSchema.Types.Mixed, default: [] })
  labels: StoredEntry[];

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  selector: StoredSelector;

  /** The selector parsed, so readers need not parse it again. */
  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  requirements: SelectorRequirement[];

  @Prop({ type: Number, default: 0 })
  priority: number;

  @Prop({ type: MongooseSchema.Types.Mixed, default: [] })
  configs: StoredConfigRef[];

  @Prop({ type: MongooseSchema.Types.Mixed })
  connectionSettings?: StoredConnectionSettings;

  /** Packages the group's agents should run (issue 21); absent on groups stored before. */
  @Prop({ type: MongooseSchema.Types.Mixed })
  packages?: PackageRef[];

  @Prop({ type: MongooseSchema.Types.Mixed })
  rolloutPolicy?: StoredRolloutPolicy;

  /**
   * What the group's agents get while a rollout of a change of `configs` (by the rollout policy)
   * has not reached them: the configs from before the change. Absent: `configs` themselves.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  deliveredConfigs?: StoredConfigRef[];

  /**
   * What the group's agents get while a rollout of a change of `packages` (by the rollout policy)
   * has not reached them: the packages from before the change. Absent: `packages` themselves.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  deliveredPackages?: PackageRef[];

  /**
   * What the group's agents get while a rollout of a change of `connectionSettings` (by the
   * rollout policy) has not reached them: the settings from before the change (`{}`: none).
   * Absent: `connectionSettings` themselves.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  deliveredConnectionSettings?: StoredConnectionSettings;

  @Prop({ type: Number, required: true })
  resourceVersion: number;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  @Prop({ type: Date, required: true })
  updatedAt: Date;

  @Prop({ type: Date, default: null })
  deletedAt: Date | null;
}
export const AgentGroupSchema = SchemaFactory.createForClass(AgentGroup);
AgentGroupSchema.index({ deletedAt: 1, _id: 1 });
