import { InvalidError } from '../common/domain-errors';
import { DEFAULT_PAGE_SIZE } from '../common/resource-list';
import type { FilterQuery } from 'mongoose';
import { cursorOf, PageCursor, SelectorRequirement } from '../common/selectors';
import type { Agent } from './agent.schema';
import { toAgentResource } from './agent-resource.mapper';
import { ListAgentsQuery } from './agent-filters.query';
import { agentSort, AgentsService } from './agents.service';
import type { AgentStatusExtensions } from './agent-status-extensions';

/** A list narrowed by its caller (a group's agents), with status fields the caller adds to each item. */
export interface AgentListScope {
  requirements: SelectorRequirement[];
  extra: FilterQuery<unknown>;
  status?: (agent: Agent) => Record<string, unknown>;
}

/** Agent list cursors carry the last uid and, for sorted lists, its sort value. */
function encodeAgentCursor(c: PageCursor): string {
  return Buffer.from(`j:${JSON.stringify(c)}`).toString('base64url');
}

function decodeAgentCursor(token: string | undefined): PageCursor | undefined {
  if (token === undefined) return undefined;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  try {
    const c = JSON.parse(text.slice(2)) as PageCursor;
    if (text.startsWith('j:') && typeof c.id === 'string' && (c.value === undefined || ['string', 'number'].includes(typeof c.value))) return c;
  } catch {
    // fall through
  }
  throw new InvalidError('continue is not a token returned by a previous page', {
    errors: [{ field: 'continue', message: 'not a token returned by a previous page' }],
  });
}

/**
 * One page of agents as an AgentList: `GET /agents` and `GET /agentgroups/{name}/agents` (which is
 * the same list with `group` set) answer through here, with the same filters, views and cursors.
 */
export async function agentList(agents: AgentsService, q: ListAgentsQuery, scope?: AgentListScope, extensions?: AgentStatusExtensions) {
  const limit = q.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeAgentCursor(q.continue);
  const { items, remaining } = await agents.search(q, limit, after, scope);
  const last = cursorOf(items[items.length - 1], agentSort(q.sort));
  const cutoff = agents.httpSilenceCutoff();
  return {
    kind: 'AgentList',
    apiVersion: 'v1',
    metadata: {
      continue: remaining > 0 && last ? encodeAgentCursor(last) : undefined,
      remainingItemCount: remaining,
    },
    items: items.map((a) => {
      const r = toAgentResource(a, cutoff, q.view ?? 'summary');
      // Conditions from this replica's memory (no database or bus work per item; GET /agents/{id} asks the holder).
      const conditions = extensions?.localConditionsOf(a, { connected: r.status.connected, healthy: a.health?.healthy });
      const status = conditions ? { ...r.status, conditions } : r.status;
      return scope?.status ? { ...r, status: { ...status, ...scope.status(a) } } : { ...r, status };
    }),
  };
}
