import { Logger } from '@nestjs/common';
import type { FilterQuery, Model } from 'mongoose';
import type { SelectorRequirement } from './label-selector';
import { AgentLabelSources, matchesAgent } from './selector-matcher';
import { coarseFilterIsExact, selectorToAgentFilter, selectorToCoarseAgentFilter } from './selector-mongo-filter';

/** What a selector looks at in an agent document, plus its uid. */
export type SelectableAgent = AgentLabelSources & { _id: string };

/**
 * Counts and pages agents by selector on whatever MongoDB wire server is behind the model. Where
 * `$elemMatch` on sub-documents works (MongoDB) everything happens in the database; where it does
 * not (FerretDB 1.x, the embedded and test database), a coarse filter narrows the candidates and
 * `matchesAgent` decides, reading only labels and description of the candidates.
 */
export class AgentSelectorQuery<T extends SelectableAgent> {
  private readonly logger = new Logger(AgentSelectorQuery.name);
  private elemMatch?: Promise<boolean>;

  constructor(private readonly agents: Model<T>) {}

  /** Whether the server evaluates `{$elemMatch: {key, value}}` on arrays of sub-documents; probed once. */
  supportsElemMatch(): Promise<boolean> {
    this.elemMatch ??= this.probe();
    return this.elemMatch;
  }

  /** Agents matching the requirements and `extra` (a filter on other fields, applied in the database). */
  async count(requirements: SelectorRequirement[], extra: FilterQuery<T> = {}): Promise<number> {
    const { filter, exact } = await this.plan(requirements);
    if (exact) return this.agents.countDocuments(both(filter, extra));
    const candidates = await this.agents.find(both(filter, extra), { labels: 1, description: 1 }).lean<SelectableAgent[]>();
    return candidates.filter((a) => matchesAgent(requirements, a)).length;
  }

  /**
   * One page after the cursor `after`, and how many matching agents follow it. Ordered by
   * `sort` (a field every agent has, e.g. `connection.lastSeenAt`) then uid, or by uid alone;
   * the cursor is the last item's sort value and uid.
   */
  async page(
    requirements: SelectorRequirement[],
    limit: number,
    after?: PageCursor | string,
    extra: FilterQuery<T> = {},
    sort: PageSort = { field: '_id', direction: 1 },
  ): Promise<{ items: T[]; remaining: number }> {
    const { filter, exact } = await this.plan(requirements);
    const cursor: PageCursor | undefined = typeof after === 'string' ? { id: after } : after;
    const from = (c?: PageCursor): FilterQuery<T> => both(both(filter, extra), c === undefined ? {} : afterCursor(c, sort));
    const order = sort.field === '_id' ? { _id: sort.direction } : { [sort.field]: sort.direction, _id: sort.direction };
    if (exact) {
      const items = await this.agents.find(from(cursor)).sort(order as never).limit(limit).lean<T[]>();
      const last = items[items.length - 1];
      const remaining = items.length < limit ? 0 : await this.agents.countDocuments(from(cursorOf(last, sort)));
      return { items, remaining };
    }
    const projection: Record<string, 1> = { labels: 1, description: 1 };
    if (sort.field !== '_id') projection[sort.field] = 1;
    const candidates = await this.agents.find(from(cursor), projection).sort(order as never).lean<SelectableAgent[]>();
    const ids = candidates.filter((a) => matchesAgent(requirements, a)).map((a) => a._id);
    const pageIds = ids.slice(0, limit);
    const items = pageIds.length ? await this.agents.find({ _id: { $in: pageIds } } as FilterQuery<T>).sort(order as never).lean<T[]>() : [];
    return { items, remaining: ids.length - pageIds.length };
  }

  private async plan(requirements: SelectorRequirement[]): Promise<{ filter: FilterQuery<T>; exact: boolean }> {
    if (await this.supportsElemMatch()) return { filter: selectorToAgentFilter(requirements) as FilterQuery<T>, exact: true };
    return { filter: selectorToCoarseAgentFilter(requirements) as FilterQuery<T>, exact: coarseFilterIsExact(requirements) };
  }

  private async probe(): Promise<boolean> {
    const probes = this.agents.db.collection<{ _id: string; a: { key: string; value: string }[] }>('server_capabilities');
    try {
      await probes.updateOne({ _id: 'elemMatch' }, { $set: { a: [{ key: 'x', value: '1' }, { key: 'y', value: '2' }] } }, { upsert: true });
      const hit = await probes.countDocuments({ _id: 'elemMatch', a: { $elemMatch: { key: 'x', value: { $in: ['1'] } } } });
      const miss = await probes.countDocuments({ _id: 'elemMatch', a: { $elemMatch: { key: 'x', value: { $in: ['2'] } } } });
      const ok = hit === 1 && miss === 0;
      if (!ok) this.logger.log('The database lacks $elemMatch on sub-documents: selectors are refined in memory');
      return ok;
    } catch (err) {
      this.logger.log(`The database lacks $elemMatch on sub-documents (${err}): selectors are refined in memory`);
      return false;
    }
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
