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

  /** One page in uid order after `after`, and how many matching agents follow it. */
  async page(requirements: SelectorRequirement[], limit: number, after?: string, extra: FilterQuery<T> = {}): Promise<{ items: T[]; remaining: number }> {
    const { filter, exact } = await this.plan(requirements);
    const from = (id?: string): FilterQuery<T> => both(both(filter, extra), id === undefined ? {} : ({ _id: { $gt: id } } as FilterQuery<T>));
    if (exact) {
      const items = await this.agents.find(from(after)).sort({ _id: 1 }).limit(limit).lean<T[]>();
      const remaining = items.length < limit ? 0 : await this.agents.countDocuments(from(items[items.length - 1]._id));
      return { items, remaining };
    }
    const candidates = await this.agents.find(from(after), { labels: 1, description: 1 }).sort({ _id: 1 }).lean<SelectableAgent[]>();
    const ids = candidates.filter((a) => matchesAgent(requirements, a)).map((a) => a._id);
    const pageIds = ids.slice(0, limit);
    const items = pageIds.length ? await this.agents.find({ _id: { $in: pageIds } } as FilterQuery<T>).sort({ _id: 1 }).lean<T[]>() : [];
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
