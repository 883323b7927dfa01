import type { AuditedKind } from '../audit/audited-kinds';
import { without } from '../audit/audited-resources';
import type { AgentGroup } from './agent-group.schema';
import type { AgentGroupsRepository } from './agent-groups.repository';

/** A group's spec and labels; its derived selector requirements and bookkeeping are not an operator's change. */
export const auditedAgentGroups = (groups: AgentGroupsRepository): AuditedKind<AgentGroup> => ({
  read: (name) => groups.findById(name),
  view: without('_id', 'updatedAt', 'resourceVersion', 'requirements'),
});
