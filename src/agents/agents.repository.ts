import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CountSnapshot, groupInMemory } from '../database/count-snapshot';
import { DATABASE_PROFILE, DatabaseProfile } from '../database/database-profile';
import type { FilterQuery, Model, mongo, PipelineStage, ProjectionType, UpdateQuery } from 'mongoose';
import { AgentSelectorQuery, PageCursor, PageSort, SelectorRequirement } from '../common/selectors';
import { Page, pageByKey } from '../database/key-page';
import { Agent, ComponentCatalog, PackageTerm } from './agent.schema';
import { isDuplicateKey } from '../database/duplicate-key';

/** One row of a grouped count: the group's key fields and how many agents share them. */
export interface AgentCountRow<K> {
  _id: K;
  n: number;
  /** The sums asked for, by name (a missing or non-numeric field adds 0). */
  sums?: Record<string, number>;
}

/**
 * The one owner of the `agents` and `component_catalogs` collections. Filters are written on the
 * stored Agent document (the agents module's own shape); other modules pass the filters that
 * src/desired-state and src/common/selectors build for it, never touch the model.
 */
export abstract class AgentsRepository {
  /** The driver collection the agent write queue bulks the OpAMP path's writes into. */
  abstract writeCollection(): mongo.Collection<mongo.Document>;
  abstract findById(uid: string, projection?: ProjectionType<Agent>): Promise<Agent | undefined>;
  /** Every agent matching, unsorted and unpaged (one read of the collection at most). */
  abstract findWhere(filter: FilterQuery<Agent>, projection?: ProjectionType<Agent>): Promise<Agent[]>;
  /** These agents (at most a thousand per call), with only the projected fields. */
  abstract findByIds(uids: string[], projection: ProjectionType<Agent>): Promise<Agent[]>;
  abstract idsWhere(filter: FilterQuery<Agent>): Promise<string[]>;
  /** updateMany over these uids that still match `filter`; returns how many changed. */
  abstract updateManyIn(uids: string[], filter: FilterQuery<Agent>, update: UpdateQuery<Agent>): Promise<number>;
  /** updateOne by uid; false when no such agent. */
  abstract updateById(uid: string, update: UpdateQuery<Agent>): Promise<boolean>;
  /** Deletes the agent the filter picks; false when none matched. */
  abstract deleteWhere(filter: FilterQuery<Agent>): Promise<boolean>;
  /** One page in uid order (no filter). */
  abstract page(limit: number, after?: string): Promise<Page<Agent>>;
  /** A batch of agents stored without selector terms, in uid order after `after`. */
  abstract withoutSelectorTerms(limit: number, after?: string): Promise<Pick<Agent, '_id' | 'labels' | 'description'>[]>;
  /** Sets selector terms on those still without them; returns how many were written. */
  abstract setMissingSelectorTerms(terms: { uid: string; selectorTerms: string[] }[]): Promise<number>;
  /** Agents matching a selector and `extra`, counted on the selector-terms index. */
  abstract countSelected(requirements: SelectorRequirement[], extra?: FilterQuery<Agent>): Promise<number>;
  /** Every selector term any agent has (each "key" and "key=value" once). */
  abstract distinctSelectorTerms(): Promise<string[]>;
  /** One page of agents matching a selector and `extra`, with the exact count after it. */
  abstract pageSelected(
    requirements: SelectorRequirement[],
    limit: number,
    after: PageCursor | undefined,
    extra: FilterQuery<Agent>,
    sort: PageSort,
    projection?: ProjectionType<Agent>,
  ): Promise<Page<Agent>>;
  /**
   * A grouped count: `$match` (when given) then `$group` by `key` (field paths of the Agent
   * document), with the `sums` of numeric fields (name → `$field.path`) of each group.
   */
  abstract countGrouped<K>(match: FilterQuery<Agent> | undefined, key: Record<string, string>, sums?: Record<string, string>): Promise<AgentCountRow<K>[]>;
  /** Records package terms agents reported (each once; a concurrent second record changes nothing). */
  abstract recordPackageTerms(terms: string[]): Promise<void>;
  /** Every package term ever recorded, sorted. */
  abstract recordedPackageTerms(): Promise<string[]>;
  /** Every content store id an agent document refers to (the content GC's mark). */
  abstract contentRefs(): Promise<Set<string>>;
  abstract catalogExists(hashHex: string): Promise<boolean>;
  /** Stores a component catalog once (a concurrent second store changes nothing). */
  abstract storeCatalog(hashHex: string, components: unknown[]): Promise<void>;
  abstract catalog(hashHex: string): Promise<unknown[] | undefined>;
}

/**
 * The fields agent counts filter and group on (selector and package terms, delivery state and
 * origin, drift, connection facts, health, own config, the sort keys of list cursors): what the
 * count snapshot reads of every agent, a few hundred bytes each.
 */
const COUNTED_FIELDS = [
  '_id',
  'selectorTerms',
  'packageTerms',
  'remoteConfig.state',
  'remoteConfig.origin',
  'configDrift.status',
  'connection.connected',
  'connection.transport',
  'connection.lastSeenAt',
  'health.healthy',
  'assignedConfig.configs',
  'assignedConfig.files',
  'firstSeenAt',
  // The own-telemetry summary: condition filters, group condition counts and the rate sorts' cursors.
  'ownTelemetry.conditions',
  'ownTelemetry.acceptedPerSecond',
  'ownTelemetry.sentPerSecond',
  'ownTelemetry.exportFailureRatio',
] as const;

@Injectable()
export class MongooseAgentsRepository extends AgentsRepository {
  private readonly selected: AgentSelectorQuery<Agent>;
  /**
   * Where the database reads every agent for any count (FerretDB), counts come from one shared
   * read of COUNTED_FIELDS at most COUNT_SNAPSHOT_MAX_AGE_MS old; elsewhere from indexed counts.
   */
  private readonly snapshot?: CountSnapshot<Agent>;
  private readonly sumsNestedFields: boolean;

  constructor(
    @InjectModel(Agent.name) private readonly agents: Model<Agent>,
    @InjectModel(ComponentCatalog.name) private readonly catalogs: Model<ComponentCatalog>,
    @InjectModel(PackageTerm.name) private readonly packageTerms: Model<PackageTerm>,
    @Inject(DATABASE_PROFILE) profile: DatabaseProfile,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super();
    this.sumsNestedFields = profile.sumsNestedFields;
    if (profile.countsReadEverything) {
      const projection = Object.fromEntries(COUNTED_FIELDS.map((f) => [f, 1]));
      // One unfiltered, unsorted read: on FerretDB any filter or sort reads every document anyway.
      this.snapshot = new CountSnapshot<Agent>(
        COUNTED_FIELDS,
        () => agents.find({}, projection).lean<Agent[]>().batchSize(5000).exec(),
        config.database.countSnapshotMaxAgeMs,
      );
      new Logger('AgentsRepository').log(`agent counts from a shared read of the counted fields, at most ${config.database.countSnapshotMaxAgeMs} ms old`);
    }
    this.selected = new AgentSelectorQuery(agents, (filter) => this.countWhere(filter));
  }

  /** Agents matching a filter: from the count snapshot when there is one and it holds every field the filter names, else countDocuments. */
  private countWhere(filter: FilterQuery<Agent>): Promise<number> {
    if (this.snapshot?.covers(filter)) return this.snapshot.count(filter);
    return this.agents.countDocuments(filter).exec();
  }

  writeCollection(): mongo.Collection<mongo.Document> {
    return this.agents.collection as unknown as mongo.Collection<mongo.Document>;
  }

  async findById(uid: string, projection?: ProjectionType<Agent>): Promise<Agent | undefined> {
    return (await this.agents.findById(uid, projection).lean<Agent>()) ?? undefined;
  }

  findWhere(filter: FilterQuery<Agent>, projection?: ProjectionType<Agent>): Promise<Agent[]> {
    return this.agents.find(filter, projection).lean<Agent[]>();
  }

  findByIds(uids: string[], projection: ProjectionType<Agent>): Promise<Agent[]> {
    return this.agents.find({ _id: { $in: uids } }, projection).lean<Agent[]>();
  }

  async idsWhere(filter: FilterQuery<Agent>): Promise<string[]> {
    return (await this.agents.find(filter, { _id: 1 }).lean<{ _id: string }[]>()).map((d) => d._id);
  }

  async updateManyIn(uids: string[], filter: FilterQuery<Agent>, update: UpdateQuery<Agent>): Promise<number> {
    return (await this.agents.updateMany({ $and: [{ _id: { $in: uids } }, filter] }, update)).modifiedCount;
  }

  async updateById(uid: string, update: UpdateQuery<Agent>): Promise<boolean> {
    return (await this.agents.updateOne({ _id: uid }, update)).matchedCount > 0;
  }

  async deleteWhere(filter: FilterQuery<Agent>): Promise<boolean> {
    return (await this.agents.deleteOne(filter)).deletedCount > 0;
  }

  page(limit: number, after?: string): Promise<Page<Agent>> {
    return pageByKey(this.agents, { limit, after, count: (filter) => this.countWhere(filter) });
  }

  withoutSelectorTerms(limit: number, after?: string): Promise<Pick<Agent, '_id' | 'labels' | 'description'>[]> {
    const filter: FilterQuery<Agent> = { selectorTerms: { $exists: false }, ...(after === undefined ? {} : { _id: { $gt: after } }) };
    return this.agents.find(filter, { labels: 1, description: 1 }).sort({ _id: 1 }).limit(limit).lean<Pick<Agent, '_id' | 'labels' | 'description'>[]>();
  }

  async setMissingSelectorTerms(terms: { uid: string; selectorTerms: string[] }[]): Promise<number> {
    const res = await this.agents.bulkWrite(
      terms.map((t) => ({ updateOne: { filter: { _id: t.uid, selectorTerms: { $exists: false } }, update: { $set: { selectorTerms: t.selectorTerms } } } })),
      { ordered: false },
    );
    return res.modifiedCount;
  }

  countSelected(requirements: SelectorRequirement[], extra: FilterQuery<Agent> = {}): Promise<number> {
    return this.selected.count(requirements, extra);
  }

  async distinctSelectorTerms(): Promise<string[]> {
    if (this.snapshot) {
      const terms = new Set<string>();
      for (const doc of await this.snapshot.documents()) for (const t of doc.selectorTerms ?? []) if (typeof t === 'string') terms.add(t);
      return [...terms];
    }
    // Read through rather than `distinct` or `$unwind`: FerretDB 1.24 refuses maxTimeMS on distinct,
    // and an $unwind + $group over the terms brought its SQLite backend down. Callers cache the result.
    const terms = new Set<string>();
    const cursor = this.agents.find({}, { _id: 0, selectorTerms: 1 }).lean<{ selectorTerms?: unknown[] }[]>().batchSize(1000).cursor();
    for await (const doc of cursor) for (const t of (doc as { selectorTerms?: unknown[] }).selectorTerms ?? []) if (typeof t === 'string') terms.add(t);
    return [...terms];
  }

  pageSelected(
    requirements: SelectorRequirement[],
    limit: number,
    after: PageCursor | undefined,
    extra: FilterQuery<Agent>,
    sort: PageSort,
    projection?: ProjectionType<Agent>,
  ): Promise<Page<Agent>> {
    return this.selected.page(requirements, limit, after, extra, sort, projection);
  }

  async countGrouped<K>(match: FilterQuery<Agent> | undefined, key: Record<string, string>, sums: Record<string, string> = {}): Promise<AgentCountRow<K>[]> {
    const paths = [...Object.values(key), ...Object.values(sums)];
    const held = this.snapshot && paths.every((p) => this.snapshot!.covers({ [p.replace(/^\$/, '')]: 1 }));
    if (held && this.snapshot!.covers(match ?? {})) return this.snapshot!.countGrouped<K>(match, key, sums);
    if (!this.sumsNestedFields && Object.keys(sums).length) {
      // The database cannot `$sum` nested fields (DatabaseProfile.sumsNestedFields): read the matched
      // documents' fields and sum in memory (where that is so, every count reads every agent anyway).
      const projection = Object.fromEntries(paths.map((p) => [p.replace(/^\$/, ''), 1]));
      return groupInMemory<K>(
        await this.agents
          .find(match ?? {}, projection)
          .lean()
          .exec(),
        key,
        sums,
      );
    }
    const pipeline: PipelineStage[] = [];
    if (match) pipeline.push({ $match: match });
    const accumulators = Object.fromEntries(Object.entries(sums).map(([name, path]) => [`s_${name}`, { $sum: path }]));
    pipeline.push({ $group: { _id: key, n: { $sum: 1 }, ...accumulators } });
    const rows = await this.agents.aggregate<{ _id: K; n: number } & Record<string, unknown>>(pipeline);
    if (!Object.keys(sums).length) return rows;
    return rows.map((r) => ({ _id: r._id, n: r.n, sums: Object.fromEntries(Object.keys(sums).map((name) => [name, Number(r[`s_${name}`]) || 0])) }));
  }

  async recordPackageTerms(terms: string[]): Promise<void> {
    // One upsert each (terms are few and new ones rare): a bulk would stop at the first term another
    // report recorded at the same moment (a duplicate key on FerretDB) and leave the rest unrecorded.
    for (const t of terms) {
      try {
        await this.packageTerms.updateOne({ _id: t }, { $setOnInsert: { firstSeenAt: new Date() } }, { upsert: true });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
  }

  async recordedPackageTerms(): Promise<string[]> {
    return (await this.packageTerms.find({}, { _id: 1 }).lean<{ _id: string }[]>()).map((t) => t._id).sort();
  }

  async contentRefs(): Promise<Set<string>> {
    const refs = new Set<string>();
    // One unfiltered read (no scan per page on FerretDB), two small fields of each agent.
    const docs = await this.agents.find({}, { 'effectiveConfig.ref': 1, 'health.componentsRef': 1 }).lean<Pick<Agent, 'effectiveConfig' | 'health'>[]>();
    for (const d of docs) {
      if (d.effectiveConfig?.ref) refs.add(d.effectiveConfig.ref);
      if (d.health?.componentsRef) refs.add(d.health.componentsRef);
    }
    return refs;
  }

  async catalogExists(hashHex: string): Promise<boolean> {
    return (await this.catalogs.exists({ _id: hashHex })) !== null;
  }

  async storeCatalog(hashHex: string, components: unknown[]): Promise<void> {
    await this.catalogs.updateOne({ _id: hashHex }, { $setOnInsert: { components, firstSeenAt: new Date() } }, { upsert: true });
  }

  async catalog(hashHex: string): Promise<unknown[] | undefined> {
    return (await this.catalogs.findById(hashHex).lean())?.components;
  }
}
