import type { LabelSelectorObject } from '../common/selectors';
import type { AgentGroup, StoredConfigRef, StoredConnectionSettings, StoredEndpoint, StoredEntry, StoredSelector } from './agent-group.schema';
import type { ConnectionSettingsDto } from './agent-group-manifest.dto';

/** Conversions between the API's maps and the stored arrays of entries. */

export const toEntries = (m: Record<string, string> | undefined): StoredEntry[] => Object.entries(m ?? {}).map(([key, value]) => ({ key, value }));
export const fromEntries = (e: StoredEntry[] | undefined): Record<string, string> => Object.fromEntries((e ?? []).map((x) => [x.key, x.value]));

export function selectorToStored(s: string | LabelSelectorObject): StoredSelector {
  if (typeof s === 'string') return { text: s };
  const out: StoredSelector = {};
  if (s.matchLabels) out.matchLabels = toEntries(s.matchLabels);
  if (s.matchExpressions)
    out.matchExpressions = s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values ? { values: e.values } : {}) }));
  return out;
}

export function selectorFromStored(s: StoredSelector): string | LabelSelectorObject {
  if ('text' in s) return s.text;
  const out: LabelSelectorObject = {};
  if (s.matchLabels) out.matchLabels = fromEntries(s.matchLabels);
  if (s.matchExpressions) out.matchExpressions = s.matchExpressions;
  return out;
}

/** Connection settings as the API shows them (and as the desired-state code reads them). */
export interface ProxySettings {
  url: string;
  connectHeaders?: Record<string, string>;
}

export interface ConnectionSettings {
  heartbeatIntervalSeconds?: number;
  opamp?: { endpoint?: string; headers?: Record<string, string>; proxy?: ProxySettings };
  ownMetrics?: { endpoint: string; headers?: Record<string, string>; proxy?: ProxySettings };
  ownTraces?: { endpoint: string; headers?: Record<string, string>; proxy?: ProxySettings };
  ownLogs?: { endpoint: string; headers?: Record<string, string>; proxy?: ProxySettings };
}

const ENDPOINTS = ['opamp', 'ownMetrics', 'ownTraces', 'ownLogs'] as const;

export function connectionSettingsToStored(c: ConnectionSettingsDto | undefined): StoredConnectionSettings | undefined {
  if (!c) return undefined;
  const out: StoredConnectionSettings = {};
  if (c.heartbeatIntervalSeconds !== undefined) out.heartbeatIntervalSeconds = c.heartbeatIntervalSeconds;
  for (const k of ENDPOINTS) {
    const e = c[k];
    if (!e) continue;
    const stored: StoredEndpoint = {};
    if (e.endpoint !== undefined) stored.endpoint = e.endpoint;
    if (e.headers !== undefined) stored.headers = toEntries(e.headers);
    if (e.proxy) stored.proxy = { url: e.proxy.url, ...(e.proxy.connectHeaders !== undefined ? { connectHeaders: toEntries(e.proxy.connectHeaders) } : {}) };
    out[k] = stored;
  }
  return out;
}

export function connectionSettingsFromStored(c: StoredConnectionSettings | undefined): ConnectionSettings | undefined {
  if (!c) return undefined;
  const out: ConnectionSettings = {};
  if (c.heartbeatIntervalSeconds !== undefined) out.heartbeatIntervalSeconds = c.heartbeatIntervalSeconds;
  for (const k of ENDPOINTS) {
    const e = c[k];
    if (!e) continue;
    const view: { endpoint?: string; headers?: Record<string, string>; proxy?: ProxySettings } = {};
    if (e.endpoint !== undefined) view.endpoint = e.endpoint;
    if (e.headers !== undefined) view.headers = fromEntries(e.headers);
    if (e.proxy) view.proxy = { url: e.proxy.url, ...(e.proxy.connectHeaders !== undefined ? { connectHeaders: fromEntries(e.proxy.connectHeaders) } : {}) };
    (out as Record<string, unknown>)[k] = view;
  }
  return out;
}

/** Who governs agents a group matches but does not govern: a group before it, or the agent's own config. */
export type OverriddenBy = { kind: 'group'; group: string; agents: number } | { kind: 'agent'; agents: number };

/** One package a group names, counted over the agents it governs (see agent-group-status.ts). */
export interface GroupPackageStatus {
  name: string;
  /** The version the group names. */
  version: string;
  /** Governed agents that report running each version (the named one, and others they run). */
  versions: { version: string; agents: number }[];
  /** Governed agents that run the named version. */
  current: number;
  /** Governed agents that run an older version, or report the package without one. */
  behind: number;
  /** Governed agents that run a newer version (the group does not force a downgrade: they keep it). */
  ahead: number;
  /** Governed agents that do not report the package at all (not installed yet, or no package support). */
  notReported: number;
  /** Governed agents whose install of it failed, or that download or install it now. */
  failed: number;
  installing: number;
}

/** Counts shown in a group's status: over the agents it governs (its config is theirs), see agent-group-status.ts. */
export interface AgentGroupStatus {
  agents: number;
  connected: number;
  healthy: number;
  /**
   * Delivery states of this group's config; `drifted` counts the governed agents whose
   * ConfigDrift condition is True (most of them also counted as applied: they said APPLIED, but
   * what they run is not what they were sent).
   */
  config: { applied: number; applying: number; failed: number; pending: number; drifted: number };
  /**
   * From the summary each governed agent has stored (Agent.ownTelemetry): agents per own-telemetry
   * condition that is True, and the group's total items accepted and sent per second.
   */
  ownTelemetry: { conditions: { Idle: number; ExportFailing: number; Stale: number; Restarting: number }; acceptedPerSecond: number; sentPerSecond: number };
  /** Agents the selector matches whose config comes from elsewhere (not in the counts above). */
  matchedNotGoverned: number;
  overriddenBy: OverriddenBy[];
  /** Per package the group names (absent when it names none). */
  packages?: GroupPackageStatus[];
}

/** The REST shape of an agent group: `{kind, apiVersion, metadata, spec, status}`. */
export function configRefsToApi(configs: readonly StoredConfigRef[]) {
  return configs.map((c) => ({ fileName: c.fileName, remoteConfig: c.remoteConfig, ...(c.revision !== undefined ? { revision: c.revision } : {}) }));
}

export function toAgentGroupResource(g: AgentGroup, status: AgentGroupStatus) {
  const labels = fromEntries(g.labels);
  const connectionSettings = connectionSettingsFromStored(g.connectionSettings);
  return {
    kind: 'AgentGroup' as const,
    apiVersion: 'v1' as const,
    metadata: {
      name: g._id,
      ...(Object.keys(labels).length ? { labels } : {}),
      createdAt: g.createdAt,
      updatedAt: g.updatedAt,
      resourceVersion: String(g.resourceVersion),
      ...(g.deletedAt ? { deletedAt: g.deletedAt } : {}),
    },
    spec: {
      selector: selectorFromStored(g.selector),
      priority: g.priority,
      configs: configRefsToApi(g.configs),
      ...(connectionSettings ? { connectionSettings } : {}),
      ...(g.packages?.length ? { packages: g.packages.map((p) => ({ name: p.name, version: p.version, ...(p.force ? { force: true } : {}) })) } : {}),
    },
    status,
  };
}
