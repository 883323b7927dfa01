import type { ConnectionSettings } from '../agent-groups/agent-group.mapper';
import type { AgentConfigAssignment } from '../agents/agent-config-assignment';
import type { AgentPackageAssignment, PackageRef } from '../agents/agent-package-assignment';

// The agent aggregate stores the assignment; desired state reads it (agents sit below desired state).
export type { AgentConfigAssignment };

/** What an agent's desired state depends on. */
export interface AgentView {
  /** The agent's instance uid as stored; a rollout's overlay applies only to the agents it reached by uid. */
  _id?: string;
  labels?: Record<string, string> | null;
  description?: { identifying?: { key: string; value: unknown }[]; nonIdentifying?: { key: string; value: unknown }[] } | null;
  assignedConfig?: AgentConfigAssignment | null;
  assignedPackages?: AgentPackageAssignment | null;
}

export type EntrySource =
  | { kind: 'group'; group: string; remoteConfig: string; revision: number }
  | { kind: 'agent'; remoteConfig: string; revision: number }
  | { kind: 'agent-inline' };

export interface DesiredConfigEntry {
  fileName: string;
  contentType: string;
  body: Buffer;
  source: EntrySource;
}

/** The complete config map an agent should run, and its hash. */
export interface DesiredConfig {
  entries: DesiredConfigEntry[];
  hash: Buffer;
  hashHex: string;
  /** Where the map as a whole comes from. */
  origin: { kind: 'group'; group: string; rollout?: string } | { kind: 'agent' };
}

/** Why no config can be given: the agent's assignment points at something missing. */
export interface DesiredConfigProblem {
  origin: DesiredConfig['origin'];
  error: string;
}

/** Connection settings to offer, merged from the server default and the agent's group. */
export interface DesiredConnectionSettings {
  settings: ConnectionSettings;
  /** `rollout`: the group's settings here are a rollout's (its overlay reached the agent). */
  origin: { kind: 'default' } | { kind: 'group'; group: string; rollout?: string };
}

/**
 * A rollout's overlay of one group's config and packages: while it holds, the agents it reached
 * (by uid) get `configs` instead of the group's own (none: the group's configs), and `packages`
 * in place of the group's packages of the same names. Rollouts provide these (see src/rollouts).
 */
export interface ConfigOverlay {
  rollout: string;
  group: string;
  configs: { fileName: string; remoteConfig: string; revision?: number }[];
  packages?: PackageRef[];
  /**
   * Connection settings the reached agents get in place of the group's (the whole of them, as
   * the group would say them); absent: the group's own.
   */
  connectionSettings?: ConnectionSettings;
  /**
   * A rolled-back rollout of packages: its reached agents are offered the group's versions of
   * these packages (`packages`: what the group named when the rollout started) forced, as an
   * explicit downgrade where they run the newer version, for as long as the group still names
   * exactly those versions. No configs then.
   */
  rolledBack?: boolean;
  reached: string[];
}
