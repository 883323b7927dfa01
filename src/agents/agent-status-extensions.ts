import { Injectable } from '@nestjs/common';
import type { Agent } from './agent.schema';

/** Facts of the stored agent that a status extension reads. */
export interface AgentStatusFacts {
  connected: boolean;
  healthy?: boolean;
  /** The replica holding its connection, when connected. */
  replicaId?: string;
}

/**
 * Parts of an agent's status that other modules derive (the telemetry module's conditions),
 * registered here at start so that the agents module does not depend on them.
 */
@Injectable()
export class AgentStatusExtensions {
  private conditions?: (uid: string, facts: AgentStatusFacts) => Promise<unknown[]>;
  private localConditions?: (uid: string, facts: AgentStatusFacts) => unknown[];

  /** `remote` may ask the replica holding the agent; `local` answers from this replica's memory (for lists). */
  provideConditions(remote: (uid: string, facts: AgentStatusFacts) => Promise<unknown[]>, local: (uid: string, facts: AgentStatusFacts) => unknown[]): void {
    this.conditions = remote;
    this.localConditions = local;
  }

  /** `status.conditions` of one agent (they may come from the replica holding it): empty when no module provides any. */
  async conditionsOf(agent: Agent, facts: AgentStatusFacts): Promise<unknown[]> {
    return [...storedConditions(agent), ...(await this.conditionsOfUid(agent._id, facts))];
  }

  /** The same by uid, for callers that hold only facts of the agent (a rollout's gates). */
  async conditionsOfUid(uid: string, facts: AgentStatusFacts): Promise<unknown[]> {
    return (await this.conditions?.(uid, facts)) ?? [];
  }

  /** `status.conditions` of an agent in a list: what this replica knows, with no request per item. */
  localConditionsOf(agent: Agent, facts: AgentStatusFacts): unknown[] {
    return [...storedConditions(agent), ...(this.localConditions?.(agent._id, facts) ?? [])];
  }
}

/** Conditions kept on the agent document itself (ConfigDrift, judged by the OpAMP session). */
function storedConditions(agent: Pick<Agent, 'configDrift'>): unknown[] {
  const d = agent.configDrift;
  return d ? [{ type: d.type, status: d.status, reason: d.reason, message: d.message, since: d.since }] : [];
}
