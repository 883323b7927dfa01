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
  };
}

export interface AgentGroup {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string>; createdAt?: string };
  spec: { selector: string | Record<string, unknown>; priority?: number; configs?: { fileName: string; remoteConfig: string; revision?: number }[] };
  status?: {
    agents: number;
    connected: number;
    healthy: number;
    config: { applied: number; applying: number; failed: number; pending: number };
    matchedNotGoverned: number;
  };
}

export interface RemoteConfig {
  metadata: { name: string; resourceVersion: string; updatedAt?: string };
  spec: { contentType: string; body: string; description?: string };
  status: { latestRevision: number; hash: string; lastChange: { author?: string; message?: string; createdAt?: string } };
}
