import type { FilterQuery, Model, ProjectionType, SortOrder } from 'mongoose';
import type { SelectorRequirement } from './label-selector';
import { excludedTermsOnly, SELECTOR_TERMS_FIELD, selectorToTermsFilter } from './selector-terms';

/**
 * Counts and pages agents by selector, entirely in the database and the same way on every
 * MongoDB wire server: the selector becomes conditions on the agents' stored selector terms
 * (see selector-terms.ts), answered from the index `{selectorTerms: 1, _id: 1}` where it helps.
 */
export class AgentSelectorQuery<T extends { _id: string }> {
  /**
   * `countWhere` counts agents matching a filter: the database's countDocuments unless the
   * repository answers counts another way (from a shared read where counts scan anyway).
   */
  constructor(
    private readonly agents: Model<T>,
    private readonly countWhere: (filter: FilterQuery<T>) => Promise<number> = (filter) => agents.countDocuments(filter).exec(),
  ) {}

  /**
   * Agents matching the requirements and `extra` (a filter on other fields). A selector of only
   * negations is counted as (agents matching `extra`) − (those also holding an excluded term):
   * two counts an index answers, where `$nin` would make the database read every agent.
   */
  async count(requirements: SelectorRequirement[], extra: FilterQuery<T> = {}): Promise<number> {
    const excluded = excludedTermsOnly(requirements);
    if (!excluded) return this.countWhere(both(selectorToTermsFilter(requirements) as FilterQuery<T>, extra));
    const [all, holding] = await Promise.all([
      this.countWhere(extra),
      this.countWhere(both({ [SELECTOR_TERMS_FIELD]: { $in: excluded } } as FilterQuery<T>, extra)),
    ]);
    return all - holding;
  }

  /**
   * One page after the cursor `after`, and how many matching agents follow it (exact, by one
   * more count). Ordered by `sort` (a field every agent has, e.g. `connection.lastSeenAt`) then
   * uid, or by uid alone; the cursor is the last item's sort value and uid. `projection` trims
   * what the database sends back (list summaries leave config bodies there).
   */
  async page(
    requirements: SelectorRequirement[],
    limit: number,
    after?: PageCursor | string,
    extra: FilterQuery<T> = {},
    sort: PageSort = { field: '_id', direction: 1 },
    projection?: ProjectionType<T>,
  ): Promise<{ items: T[]; remaining: number }> {
    const filter = both(selectorToTermsFilter(requirements) as FilterQuery<T>, extra);
    const cursor: PageCursor | undefined = typeof after === 'string' ? { id: after } : after;
    const from = (c?: PageCursor): FilterQuery<T> => both(filter, c === undefined ? {} : afterCursor(c, sort));
    const rest = (c?: PageCursor): FilterQuery<T> => both(extra, c === undefined ? {} : afterCursor(c, sort));
    const order: Record<string, SortOrder> = sort.field === '_id' ? { _id: sort.direction } : { [sort.field]: sort.direction, _id: sort.direction };
    const items = await this.agents.find(from(cursor), projection).sort(order).limit(limit).lean<T[]>();
    const last = items[items.length - 1];
    const remaining = items.length < limit ? 0 : await this.count(requirements, rest(cursorOf(last, sort)));
    return { items, remaining };
  }
}

function both<T>(a: FilterQuery<T>, b: FilterQuery<T>): FilterQuery<T> {
  if (Object.keys(a).length === 0) return b;
  if (Object.keys(b).length === 0) return a;
  return { $and: [a, b] } as FilterQuery<T>;
}

/** Order of a page: a field present on every agent, ascending (1) or descending (-1), then uid. */
export interface PageSort {
  field: string;
  direction: 1 | -1;
}

/** Where the previous page ended: its last uid and, for sorted pages, that item's sort value. */
export interface PageCursor {
  id: string;
  value?: string | number;
}

function readPath(doc: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), doc);
}

/** The cursor after `doc` in the given order (dates travel as epoch milliseconds). */
export function cursorOf(doc: { _id: string } | undefined, sort: PageSort): PageCursor | undefined {
  if (!doc) return undefined;
  if (sort.field === '_id') return { id: doc._id };
  const v = readPath(doc, sort.field);
  return { id: doc._id, value: v instanceof Date ? v.getTime() : (v as string | number) };
}

function afterCursor<T>(c: PageCursor, sort: PageSort): FilterQuery<T> {
  const cmp = sort.direction === 1 ? '$gt' : '$lt';
  if (sort.field === '_id' || c.value === undefined) return { _id: { [cmp]: c.id } } as FilterQuery<T>;
  const value = sort.field.endsWith('At') && typeof c.value === 'number' ? new Date(c.value) : c.value;
  return { $or: [{ [sort.field]: { [cmp]: value } }, { [sort.field]: value, _id: { [cmp]: c.id } }] } as FilterQuery<T>;
}
