import { InvalidError } from '../common/domain-errors';
import type { GateSpec } from './gate-evaluator';
import type { RolloutPolicyDto } from './rollout-policy.dto';
import type { StoredRolloutSpec } from './rollout.schema';
import { parseRolloutStages, stagesToApi } from './rollout-stages';
import { selectorFromStored } from '../agent-groups/agent-group.mapper';
import type { StoredSelector } from '../agent-groups/agent-group.schema';

export const DEFAULT_APPLY_TIMEOUT_SECONDS = 300;
const DEFAULT_GATES: GateSpec[] = [{ metric: 'applyFailed', maxRatio: 0 }];

/** How a rollout goes, as stored: in a Rollout's spec, and as an agent group's rollout policy. */
export type StoredPolicy = Pick<StoredRolloutSpec, 'stages' | 'geometric' | 'applyTimeoutSeconds' | 'gates' | 'onGateTrip'>;

/**
 * The policy fields checked and completed with their defaults. `at` is where they sit in the
 * manifest (`spec` for a Rollout, `spec.rolloutPolicy` for a group), so a refused stage is named
 * where the user wrote it.
 */
export function storedRolloutPolicy(p: RolloutPolicyDto, at = 'spec'): StoredPolicy {
  let stages: Pick<StoredRolloutSpec, 'stages' | 'geometric'>;
  try {
    stages = parseRolloutStages(p.stages);
  } catch (e) {
    if (!(e instanceof InvalidError) || at === 'spec') throw e;
    const errors = ((e.details?.errors ?? []) as { field: string; message: string }[]).map((x) => ({ ...x, field: x.field.replace(/^spec\./, `${at}.`) }));
    throw new InvalidError(`Invalid rollout policy: ${errors.map((x) => `${x.field}: ${x.message}`).join('; ')}`, { errors });
  }
  return {
    ...stages,
    applyTimeoutSeconds: p.applyTimeoutSeconds ?? DEFAULT_APPLY_TIMEOUT_SECONDS,
    gates: (p.gates ?? DEFAULT_GATES).map((g) => ({ metric: g.metric, maxRatio: g.maxRatio, ...(g.vsControl ? { vsControl: true } : {}) })),
    onGateTrip: p.onGateTrip ?? 'rollback',
  };
}

/** The policy as the API shows it: stages in the form they are written. */
export function rolloutPolicyToApi(p: StoredPolicy) {
  return {
    stages: stagesToApi(p, (sel) => selectorFromStored(sel as StoredSelector)),
    applyTimeoutSeconds: p.applyTimeoutSeconds,
    gates: p.gates,
    onGateTrip: p.onGateTrip,
  };
}
