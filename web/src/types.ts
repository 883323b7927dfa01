/** The REST resources the UI shows, as far as it reads them. */

export interface User {
  metadata: { name: string };
  spec: { role: 'viewer' | 'operator' | 'admin'; disabled: boolean; githubLogin: string | null };
}

export interface HealthView {
  healthy?: boolean;
  status?: string;
  lastError?: string;
  startTime?: string;
  statusTime?: string;
  components?: Record<string, HealthView>;
  componentCount?: number;
  unhealthyComponentCount?: number;
}

export interface Agent {
  metadata: { name: string; instanceUid: string; labels: Record<string, string>; createdAt?: string; updatedAt?: string };
  spec: { assignedConfig?: unknown };
  status: {
    connected: boolean;
    connection: { transport?: string; remoteAddress?: string; connectedAt?: string; disconnectedAt?: string; lastSeenAt?: string; replica?: string };
    description?: { identifyingAttributes: Record<string, unknown>; nonIdentifyingAttributes: Record<string, unknown> };
    capabilities: { value: number; names: string[] };
    health?: HealthView;
    effectiveConfig?: { configMap: Record<string, { contentType: string; body?: string; bodyBase64?: string; size?: number }> };
    remoteConfigStatus?: { status?: string; errorMessage?: string; lastRemoteConfigHash?: string };
    remoteConfig?: { state: string; desiredHash?: string; origin?: unknown; lastSentAt?: string; errorMessage?: string };
    connectionSettingsOffer?: { lastSentHash: string; lastSentAt?: string; origin?: string };
    connectionSettingsStatus?: { lastConnectionSettingsHash: string; status: string; errorMessage?: string; current?: boolean };
    packages?: AgentPackages;
    conditions?: AgentCondition[];
    /** The own-telemetry summary the server stores (conditions True, rates within a factor of two). */
    ownTelemetry?: { conditions: string[]; acceptedPerSecond: number; sentPerSecond: number; exportFailureRatio: number; at: string };
  };
}

/** A Kubernetes-style condition of an agent (Idle, ExportFailing, Restarting, Stale, ConfigDrift). */
export interface AgentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  since?: string;
}

export interface AgentGroup {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string>; createdAt?: string };
  spec: {
    selector: string | Record<string, unknown>;
    priority?: number;
    configs?: { fileName: string; remoteConfig: string; revision?: number }[];
    packages?: PackageRef[];
  };
  status?: {
    agents: number;
    connected: number;
    healthy: number;
    config: { applied: number; applying: number; failed: number; pending: number; drifted?: number };
    /** Governed agents per own-telemetry condition that is True. */
    ownTelemetry?: { conditions: Record<string, number>; acceptedPerSecond: number; sentPerSecond: number };
    matchedNotGoverned: number;
    packages?: GroupPackageStatus[];
    /** Under a rollout policy: the versions the agents keep until its rollout reaches them. */
    deliveredPackages?: PackageRef[];
  };
}

export interface RemoteConfig {
  metadata: { name: string; resourceVersion: string; updatedAt?: string };
  spec: { contentType: string; body: string; description?: string };
  status: { latestRevision: number; hash: string; lastChange: { author?: string; message?: string; createdAt?: string } };
}

/** A stage as the API shows it: `"1"`, `"10%"`, or an object with a selector, bake time or approval. */
export type RolloutStageSpec = string | { stage?: string; selector?: unknown; bakeSeconds?: number; approval?: boolean };

export interface RolloutGateResult {
  metric: string;
  value: number;
  control?: number;
  threshold: number;
  agents: number;
  of: number;
  passed: boolean;
}

/** Connection settings as a group holds them: heartbeat, OpAMP server, own-telemetry destinations. */
export interface RolloutConnectionSettings {
  heartbeatIntervalSeconds?: number;
  opamp?: { endpoint?: string };
  ownMetrics?: { endpoint: string };
  ownTraces?: { endpoint: string };
  ownLogs?: { endpoint: string };
}

export interface Rollout {
  metadata: { name: string; resourceVersion: string; createdAt?: string; updatedAt?: string };
  spec: {
    target: { group: string };
    configs: { fileName: string; remoteConfig: string; revision?: number }[];
    /** Package versions the rollout moves the group's agents to (absent: it moves configs only). */
    packages?: PackageRef[];
    /** Connection settings the rollout moves the group's agents to (a group's spec.connectionSettings). */
    connectionSettings?: RolloutConnectionSettings;
    stages: RolloutStageSpec[] | { initial: number; multiplier: number; bakeSeconds?: number };
    applyTimeoutSeconds?: number;
    gates: { metric: string; maxRatio: number; vsControl?: boolean }[];
    onGateTrip: 'rollback' | 'pause';
  };
  status: {
    phase: 'Pending' | 'Progressing' | 'Paused' | 'Succeeded' | 'RolledBack' | 'Aborted';
    stage: number;
    stageCount?: number;
    targetAgents?: number;
    reached: number;
    toHash?: string;
    approvedStage?: number;
    stageStartedAt?: string;
    bakeStartedAt?: string;
    stages: {
      reached: number;
      applied: number;
      failed: number;
      pending: number;
      packages?: { installed: number; installing: number; failed: number; pending: number };
      connectionSettings?: { applied: number; applying: number; failed: number; pending: number };
    }[];
    /** The versions moved to and from (a rollout of packages). */
    packages?: PackageRef[];
    previousPackages?: PackageRef[];
    gates: RolloutGateResult[];
    conditions: { type: string; reason: string; message: string; at: string }[];
    failedAgents: { uid: string; error: string }[];
  };
}

/** An agent's packages as the API shows them (status.packages). */
export interface AgentPackages {
  installed: {
    name: string;
    version?: string;
    hash?: string;
    status?: string;
    offeredVersion?: string;
    errorMessage?: string;
    downloadPercent?: number;
    downloadBytesPerSecond?: number;
  }[];
  errorMessage?: string;
  offer?: {
    state: string;
    origin?: string;
    lastSentAt?: string;
    error?: string;
    refused?: { name: string; version: string; installedVersion?: string; reason: string }[];
  };
}

/** A package a group (or an agent) names: offered forward-only unless forced. */
export interface PackageRef {
  name: string;
  version: string;
  force?: boolean;
}

/** One package a group names, counted over the agents it governs. */
export interface GroupPackageStatus {
  name: string;
  version: string;
  versions: { version: string; agents: number }[];
  current: number;
  behind: number;
  ahead: number;
  notReported: number;
  failed: number;
  installing: number;
}

/** A catalogued package version (GET /api/v1/packages), named NAME@VERSION. */
export interface AgentPackage {
  metadata: { name: string; createdAt?: string; updatedAt?: string; resourceVersion: string; deletedAt?: string };
  spec: {
    package: string;
    version: string;
    type: 'top-level' | 'addon';
    description?: string;
    files: { name: string; platform?: string; url?: string; sha256: string; size?: number; signature?: string }[];
  };
  status: {
    fileCount: number;
    files: { name: string; stored: boolean; downloadPath?: string; signed: boolean; signatureVerified?: boolean; addedAt?: string }[];
  };
}

/** One package across the fleet (GET /api/v1/fleet/packages): agents per version and per status. */
export interface FleetPackageCounts {
  name: string;
  agents: number;
  versions: { version: string; agents: number }[];
  statuses: Record<string, number>;
  latest?: string;
  behindLatest?: number;
}

/** One series of an agent's own-metrics window: items per second (counters) or values (gauges) per bucket. */
export interface TelemetrySeries {
  family: string;
  kind: 'counter' | 'gauge';
  component?: string;
  signal?: string;
  current: number | null;
  points: (number | null)[];
}

/** GET /api/v1/agents/{id}/telemetry. */
export interface AgentTelemetry {
  metadata: { name: string };
  status: {
    held: boolean;
    heldBy?: string;
    lastReceivedAt?: string;
    lastPointAt?: string;
    reports?: number;
    current?: Partial<
      Record<
        | 'acceptedPerSecond'
        | 'refusedPerSecond'
        | 'sentPerSecond'
        | 'sendFailedPerSecond'
        | 'exportFailureRatio'
        | 'queueSize'
        | 'queueCapacity'
        | 'cpuSecondsPerSecond'
        | 'rssBytes'
        | 'uptimeSeconds',
        number | null
      >
    >;
    window?: { start: string; stepSeconds: number; buckets: number; series: TelemetrySeries[] };
    conditions: AgentCondition[];
  };
}
