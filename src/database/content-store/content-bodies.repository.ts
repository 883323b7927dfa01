import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, mongo } from 'mongoose';
import { isDuplicateKey } from '../duplicate-key';
import { ContentBody } from './content-body.schema';

/** What a batch of inserts found: bodies it stored, and bodies that were there already. */
export interface InsertOutcome {
  inserted: string[];
  existing: string[];
}

/** Bytes and count of the stored bodies of one kind. */
export interface ContentKindStats {
  kind: string;
  bodies: number;
  bytes: number;
}

/** The one owner of `content_bodies` (see ContentStore for what the bodies are). */
export abstract class ContentBodiesRepository {
  /** Inserts each body unless one of its id is stored (then it is reported `existing`, unchanged). */
  abstract insertAbsent(docs: ContentBody[]): Promise<InsertOutcome>;
  /** Sets `touchedAt` of these bodies (those that exist). */
  abstract touch(ids: string[], at: Date): Promise<void>;
  abstract findByIds(ids: string[]): Promise<Pick<ContentBody, '_id' | 'body'>[]>;
  /** Ids of the bodies last touched before `cutoff`. */
  abstract untouchedSince(cutoff: Date): Promise<string[]>;
  /** Deletes these bodies if they are still untouched since `cutoff`; returns how many went. */
  abstract deleteUntouched(ids: string[], cutoff: Date): Promise<number>;
  abstract stats(): Promise<ContentKindStats[]>;
}

@Injectable()
export class MongooseContentBodiesRepository extends ContentBodiesRepository {
  constructor(@InjectModel(ContentBody.name) private readonly bodies: Model<ContentBody>) {
    super();
  }

  /** The driver's collection: bodies are written as they are (Binary config bodies included), without Mongoose's casting. */
  private collection(): mongo.Collection<mongo.Document> {
    return this.bodies.collection as unknown as mongo.Collection<mongo.Document>;
  }

  async insertAbsent(docs: ContentBody[]): Promise<InsertOutcome> {
    if (docs.length === 0) return { inserted: [], existing: [] };
    try {
      await this.collection().insertMany(docs as unknown as mongo.Document[], { ordered: false });
      return { inserted: docs.map((d) => d._id), existing: [] };
    } catch (err) {
      if (docs.length === 1) {
        if (isDuplicateKey(err)) return { inserted: [], existing: [docs[0]._id] };
        throw err;
      }
    }
    // Some were there already (or the bulk failed otherwise). FerretDB stops an unordered bulk at
    // its first error, so which of the others were stored is not known: each is inserted alone,
    // and one stored by the bulk meanwhile answers "duplicate", which is what it is now.
    const out: InsertOutcome = { inserted: [], existing: [] };
    for (const d of docs) {
      try {
        await this.collection().insertOne(d as unknown as mongo.Document);
        out.inserted.push(d._id);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        out.existing.push(d._id);
      }
    }
    return out;
  }

  async touch(ids: string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.bodies.updateMany({ _id: { $in: ids } }, { $set: { touchedAt: at } });
  }

  findByIds(ids: string[]): Promise<Pick<ContentBody, '_id' | 'body'>[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.bodies.find({ _id: { $in: ids } }, { body: 1 }).lean<Pick<ContentBody, '_id' | 'body'>[]>();
  }

  async untouchedSince(cutoff: Date): Promise<string[]> {
    return (await this.bodies.find({ touchedAt: { $lt: cutoff } }, { _id: 1 }).lean<{ _id: string }[]>()).map((d) => d._id);
  }

  async deleteUntouched(ids: string[], cutoff: Date): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.bodies.deleteMany({ _id: { $in: ids }, touchedAt: { $lt: cutoff } })).deletedCount;
  }

  stats(): Promise<ContentKindStats[]> {
    return this.bodies.aggregate<ContentKindStats>([
      { $group: { _id: '$kind', bodies: { $sum: 1 }, bytes: { $sum: '$size' } } },
      { $project: { _id: 0, kind: '$_id', bodies: 1, bytes: 1 } },
    ]);
  }
}
