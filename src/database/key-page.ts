import type { FilterQuery, Model, ProjectionType, SortOrder } from 'mongoose';

/** One page of a list and how many items follow it (what the API shows as `remainingItemCount`). */
export interface Page<T> {
  items: T[];
  remaining: number;
}

/** What one page of a list ordered by a unique key asks for. */
export interface KeyPageRequest<T> {
  /** What the whole list holds, before the cursor is applied. */
  filter?: FilterQuery<T>;
  /** The unique field the list is ordered by (default `_id`); the cursor is its value on the previous page's last item. */
  key?: string;
  /** 1: ascending (names); -1: newest first (time-ordered ids, revision numbers). */
  direction?: 1 | -1;
  limit: number;
  /** The key of the last item of the previous page; undefined for the first page. */
  after?: string | number;
  projection?: ProjectionType<T>;
  /** How the items after the page are counted (default: the database's countDocuments); see AgentsRepository's counts. */
  count?: (filter: FilterQuery<T>) => Promise<number>;
}

/**
 * One page of a list in key order, and the exact number of items after it. Two commands at
 * most: the page, and a count only when the page is full (a short page is the last one, so
 * nothing follows it). Every list of the API pages this way; the cursor token that carries
 * `after` to the client is made and checked in src/common/resource-list.ts.
 */
export async function pageByKey<T>(model: Model<T>, req: KeyPageRequest<T>): Promise<Page<T>> {
  const key = req.key ?? '_id';
  const direction = req.direction ?? 1;
  const filter = req.filter ?? {};
  const items = await model
    .find(beyond(filter, key, direction, req.after), req.projection)
    .sort({ [key]: direction as SortOrder })
    .limit(req.limit)
    .lean<T[]>();
  if (items.length < req.limit) return { items, remaining: 0 };
  const last = (items[items.length - 1] as Record<string, unknown>)[key] as string | number;
  const rest = beyond(filter, key, direction, last);
  const remaining = await (req.count ? req.count(rest) : model.countDocuments(rest).exec());
  return { items, remaining };
}

/**
 * The filter with "after `after` in this order" added. Added beside the filter's own
 * conditions when it has none on the key (the shape a database pushes down best: equality
 * conditions stay at the top level), else joined with `$and`.
 */
function beyond<T>(filter: FilterQuery<T>, key: string, direction: 1 | -1, after: string | number | undefined): FilterQuery<T> {
  if (after === undefined) return filter;
  const condition = { [direction === 1 ? '$gt' : '$lt']: after };
  if (!(key in filter)) return { ...filter, [key]: condition } as FilterQuery<T>;
  return { $and: [filter, { [key]: condition }] } as FilterQuery<T>;
}
