import { connectionSettingsFromStored, fromEntries, selectorFromStored } from '../agent-groups/agent-group.mapper';
import type { StoredSelector } from '../agent-groups/agent-group.schema';
import { stagesToApi } from './rollout-stages';
import type { Rollout } from './rollout.schema';

/** A stored rollout as the API shows it (`kind: Rollout`). */
export function toRolloutResource(r: Rollout) {
  const s = r.status;
  return {
    kind: 'Rollout',
    apiVersion: 'v1',
    metadata: { name: r._id, labels: fromEntries(r.labels), resourceVersion: String(r.resourceVersion), createdAt: r.createdAt, updatedAt: r.updatedAt },
    spec: {
      target: r.spec.target,
      configs: r.spec.configs,
      ...(r.spec.packages?.length ? { packages: r.spec.packages } : {}),
      ...(r.spec.connectionSettings ? { connectionSettings: connectionSettingsFromStored(r.spec.connectionSettings) } : {}),
      stages: stagesToApi(r.spec, (sel) => selectorFromStored(sel as StoredSelector)),
      applyTimeoutSeconds: r.spec.applyTimeoutSeconds,
      gates: r.spec.gates,
      onGateTrip: r.spec.onGateTrip,
    },
    status: {
      phase: s.phase,
      stage: s.stage,
      stageCount: s.stageCount,
      targetAgents: s.targetAgents,
      reached: r.reached.length,
      toHash: s.toHash,
      configs: s.pinned,
      previousConfigs: s.from,
      ...(s.packageTargets ? { packages: s.packageTargets.map((t) => ({ name: t.name, version: t.version })), previousPackages: s.fromPackages } : {}),
      ...(s.fromConnectionSettings ? { previousConnectionSettings: connectionSettingsFromStored(s.fromConnectionSettings) } : {}),
      approvedStage: s.approvedStage,
      stageStartedAt: s.stageStartedAt,
      bakeStartedAt: s.bakeStartedAt,
      stages: s.stages,
      gates: s.gates,
      conditions: s.conditions,
      failedAgents: s.failedAgents,
    },
  };
}
