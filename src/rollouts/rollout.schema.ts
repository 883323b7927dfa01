import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { StoredConfigRef, StoredConnectionSettings, StoredEntry, StoredSelector } from '../agent-groups/agent-group.schema';
import type { PackageRef } from '../agents/agent-package-assignment';
import type { SelectorRequirement } from '../common/selectors';
import type { GateResult, GateSpec } from './gate-evaluator';

export type RolloutPhase = 'Pending' | 'Progressing' | 'Paused' | 'Succeeded' | 'RolledBack' | 'Aborted';

/** Phases in which the rollout's configs reach agents (its overlay holds). */
export const OVERLAY_PHASES: readonly RolloutPhase[] = ['Progressing', 'Paused', 'Aborted'];
/**
 * Phases in which a rollout of packages still says what its reached agents get: RolledBack too,
 * where they are offered the group's previous versions forced (see ConfigOverlay.rolledBack).
 */
export const PACKAGE_OVERLAY_PHASES: readonly RolloutPhase[] = [...OVERLAY_PHASES, 'RolledBack'];
/** Phases the controller still drives or waits in (one such rollout per group). */
export const ACTIVE_PHASES: readonly RolloutPhase[] = ['Pending', 'Progressing', 'Paused'];

/** One stage as stored: a count or a percentage (or neither: every agent its selector admits). */
export interface StoredStage {
  count?: number;
  percent?: number;
  selector?: StoredSelector;
  requirements?: SelectorRequirement[];
  bakeSeconds?: number;
  /** The stage waits for `approve` before it reaches any agent. */
  approval?: boolean;
}

export interface StoredRolloutSpec {
  target: { group: string };
  /** The config files the rollout moves the group's agents to (empty: it moves packages only). */
  configs: StoredConfigRef[];
  /** The package versions the rollout moves the group's agents to (absent or empty: configs only). */
  packages?: PackageRef[];
  /**
   * The connection settings the rollout moves the group's agents to, in the group's stored form
   * (they replace the group's whole `connectionSettings`); absent: it does not move them.
   */
  connectionSettings?: StoredConnectionSettings;
  /** Explicit stages, or `geometric` (exactly one of the two). */
  stages?: StoredStage[];
  geometric?: { initial: number; multiplier: number; bakeSeconds?: number };
  applyTimeoutSeconds: number;
  gates: GateSpec[];
  onGateTrip: 'rollback' | 'pause';
  /** Started by the group's rollout policy: at success the group's configs stay as written (unpinned). */
  fromPolicy?: boolean;
}

/** Whether the rollout has started (its targets are fixed): it knows its config hash, its package targets or the group's settings from before. */
export function hasStarted(s: Pick<RolloutStatus, 'toHash' | 'packageTargets' | 'fromConnectionSettings'>): boolean {
  return !!s.toHash || !!s.packageTargets || !!s.fromConnectionSettings;
}

export interface RolloutCondition {
  type: string;
  reason: string;
  message: string;
  at: Date;
}

export interface StageCounts {
  reached: number;
  /** Agents done with everything the rollout moves (configs applied, packages installed). */
  applied: number;
  failed: number;
  pending: number;
  /** For a rollout of packages: the stage's agents by how the target versions stand on them. */
  packages?: PackageStageCounts;
  /** For a rollout of connection settings: the stage's agents by how the new settings stand on them. */
  connectionSettings?: ConnectionSettingsStageCounts;
}

/** How the stage's agents stand with the rollout's connection settings. */
export interface ConnectionSettingsStageCounts {
  /** Reported APPLIED for the settings offered them (or, without ReportsConnectionSettingsStatus, were sent them). */
  applied: number;
  /** Sent them (or reported APPLYING), no final status yet. */
  applying: number;
  /** Reported FAILED for them (or did not apply them in time). */
  failed: number;
  /** Not yet offered them. */
  pending: number;
}

/** How the stage's agents stand with the rollout's package versions (each agent counted once, by its worst package). */
export interface PackageStageCounts {
  installed: number;
  /** Downloading or installing a target version. */
  installing: number;
  /** Reported INSTALL_FAILED for a target version (or did not install it in time). */
  failed: number;
  /** Not yet working on it (the offer is on its way). */
  pending: number;
}

/** A package version a rollout moves agents to, and the package hashes (hex) an agent reports when it runs it (one per catalogued file). */
export interface PackageTarget {
  name: string;
  version: string;
  hashes: string[];
}

export interface RolloutStatus {
  phase: RolloutPhase;
  /** Index of the stage in progress (or last reached). */
  stage: number;
  /** How many stages the plan has now (geometric plans grow with the target). */
  stageCount?: number;
  /** The configs the rollout delivers, with revisions pinned when it started. */
  pinned?: StoredConfigRef[];
  /** The group's configs when the rollout started (what undo after success restores). */
  from?: StoredConfigRef[];
  /** Hash (hex) of the config map the rollout delivers. */
  toHash?: string;
  /** The package versions the rollout delivers, with their hashes (set when it starts). */
  packageTargets?: PackageTarget[];
  /** The group's packages when the rollout started (what a rollback offers again, forced). */
  fromPackages?: PackageRef[];
  /**
   * For a rollout of connection settings: the group's connection settings when it started (`{}`
   * for none), stored form; what undo after success writes back. Set when it starts.
   */
  fromConnectionSettings?: StoredConnectionSettings;
  /** When the current stage first reached its agents. */
  stageStartedAt?: Date;
  /** When the current stage's gates first passed (its bake time runs from here). */
  bakeStartedAt?: Date;
  /** A stage whose tripped gates an operator overrode by resuming (it goes on as if they had passed). */
  overriddenStage?: number;
  /** The highest stage index an operator approved. */
  approvedStage?: number;
  stages: StageCounts[];
  gates: GateResult[];
  conditions: RolloutCondition[];
  failedAgents: { uid: string; error: string }[];
  targetAgents?: number;
}

/** A rollout as stored. `reached` is a flat array of uids (FerretDB rejects only nested arrays). */
@Schema({ collection: 'rollouts', versionKey: false, minimize: false })
export class Rollout {
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: MongooseSchema.Types.Mixed, default: [] })
  labels: StoredEntry[];

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  spec: StoredRolloutSpec;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  status: RolloutStatus;

  /** Every agent the rollout has reached, in the order it reached them. */
  @Prop({ type: [String], default: [] })
  reached: string[];

  /** Equality-indexed (FerretDB pushes only scalar equality down): the group and phase. */
  @Prop({ type: String, required: true })
  group: string;

  @Prop({ type: String, required: true })
  phase: RolloutPhase;

  @Prop({ type: Number, required: true })
  resourceVersion: number;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  @Prop({ type: Date, required: true })
  updatedAt: Date;
}

export const RolloutSchema = SchemaFactory.createForClass(Rollout);
RolloutSchema.index({ group: 1 });
RolloutSchema.index({ phase: 1 });
