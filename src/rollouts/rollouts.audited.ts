import type { AuditedKind } from '../audit/audited-kinds';
import type { Rollout } from './rollout.schema';
import type { RolloutsRepository } from './rollouts.repository';

/** Spec, labels and phase: what an operator changes (the driver's progress is not an operator's change). */
export const auditedRollouts = (rollouts: RolloutsRepository): AuditedKind<Rollout> => ({
  read: (name) => rollouts.findById(name),
  view: (r) => ({ labels: r.labels, spec: r.spec, phase: r.phase }),
});
