import type { FilterQuery } from 'mongoose';
import { matchesAgent, SelectorRequirement, selectorToTermsFilter } from '../common/selectors';
import type { AgentConfigAssignment, AgentView } from './desired-state.types';

/**
 * The one rule deciding where an agent's desired configuration comes from: its own assignment
 * when it has entries, else the first active group that matches it in precedence order (highest
 * priority, ties by name). The desired-state service applies it to one agent in memory; group
 * status applies it as a database filter (`governedQuery`), so both always agree.
 */

/** What the rule needs of a group. */
export interface RankedGroup {
  name: string;
  priority: number;
  requirements: SelectorRequirement[];
}

/** Precedence order: highest priority first, ties by name. */
export function byPrecedence(a: Pick<RankedGroup, 'name' | 'priority'>, b: Pick<RankedGroup, 'name' | 'priority'>): number {
  return b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** An assignment with entries overrides every group; an empty one does not. */
export function hasOwnConfig(assigned: AgentConfigAssignment | null | undefined): assigned is AgentConfigAssignment {
  return !!assigned && ((assigned.configs?.length ?? 0) > 0 || (assigned.files?.length ?? 0) > 0);
}

/** `hasOwnConfig` as a filter on stored agents (field `assignedConfig`). */
export const OWN_CONFIG_FILTER: FilterQuery<unknown> = {
  $or: [{ 'assignedConfig.configs.0': { $exists: true } }, { 'assignedConfig.files.0': { $exists: true } }],
};
const WITHOUT_OWN_CONFIG: FilterQuery<unknown> = { $nor: OWN_CONFIG_FILTER.$or };

/** The group whose configuration an agent without its own gets; `groups` in precedence order. */
export function governingGroup<G extends RankedGroup>(groups: readonly G[], agent: AgentView): G | undefined {
  return groups.find((g) => matchesAgent(g.requirements, agent));
}

/**
 * The agents a group governs, as its selector plus a filter on other fields: matched by it,
 * without their own config, and matched by no group before it. `groups` is every active group in precedence order; undefined when `name` is not among them.
 */
export function governedQuery(groups: readonly RankedGroup[], name: string): { requirements: SelectorRequirement[]; extra: FilterQuery<unknown> } | undefined {
  const at = groups.findIndex((g) => g.name === name);
  if (at < 0) return undefined;
  const before = groups.slice(0, at).map((g) => selectorToTermsFilter(g.requirements));
  return { requirements: groups[at].requirements, extra: before.length ? { $and: [WITHOUT_OWN_CONFIG, { $nor: before }] } : WITHOUT_OWN_CONFIG };
}

/**
 * The agents whose packages come from a group (the first active group that matches them, whatever
 * their own config): its selector plus a filter, none of the groups before it matching. An
 * agent's own packages override the group's by name only, so such agents still count here.
 */
export function packagesGovernedQuery(
  groups: readonly RankedGroup[],
  name: string,
): { requirements: SelectorRequirement[]; extra: FilterQuery<unknown> } | undefined {
  const at = groups.findIndex((g) => g.name === name);
  if (at < 0) return undefined;
  const before = groups.slice(0, at).map((g) => selectorToTermsFilter(g.requirements));
  return { requirements: groups[at].requirements, extra: before.length ? { $nor: before } : {} };
}

/** Where a desired config comes from, as the agent's delivery tracking records it (`remoteConfig.origin`). */
export function originText(o: { kind: 'group'; group: string } | { kind: 'agent' }): string {
  return o.kind === 'group' ? `group/${o.group}` : 'agent';
}
