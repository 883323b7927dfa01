import type { AuditedKind } from '../audit/audited-kinds';
import { isUidText } from '../protocol/instance-uid';
import type { Agent } from './agent.schema';
import type { AgentsRepository } from './agents.repository';

/** What an operator changes on an agent: its labels, its own config assignment and its own packages (its reported state is not audited). */
export const auditedAgents = (agents: AgentsRepository): AuditedKind<Agent> => ({
  read: (name) =>
    isUidText(name)
      ? agents.findById(name.length === 26 ? name.toUpperCase() : name.toLowerCase(), { labels: 1, assignedConfig: 1, assignedPackages: 1 })
      : Promise.resolve(undefined),
  view: (a) => ({ labels: a.labels, assignedConfig: a.assignedConfig ?? null, assignedPackages: a.assignedPackages ?? null }),
});
