import { Injectable } from '@nestjs/common';
import type { Agent } from './agent.schema';

/** Facts of the stored agent that a status extension reads. */
export interface AgentStatusFacts {
  connected: boolean;
  healthy?: boolean;
}

/**
 * Parts of an agent's status that other modules derive (the telemetry module's conditions),
 * registered here at start so that the agents module does not depend on them.
 */
@Injectable()
export class AgentStatusExtensions {
  private conditions?: (uid: string, facts: AgentStatusFacts) => unknown[];

  provideConditions(fn: (uid: string, facts: AgentStatusFacts) => unknown[]): void {
    this.conditions = fn;
  }

  /** `status.conditions` of the agent: empty when no module provides any. */
  conditionsOf(agent: Agent, facts: AgentStatusFacts): unknown[] {
    return this.conditions?.(agent._id, facts) ?? [];
  }
}
