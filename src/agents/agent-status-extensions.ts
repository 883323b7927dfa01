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

  provideConditions(fn: (uid: string, facts: AgentStatusFacts) => Promise<unknown[]>): void {
    this.conditions = fn;
  }

  /** `status.conditions` of the agent (they may come from the replica holding it): empty when no module provides any. */
  async conditionsOf(agent: Agent, facts: AgentStatusFacts): Promise<unknown[]> {
    return (await this.conditions?.(agent._id, facts)) ?? [];
  }
}
