import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKey } from '../database/duplicate-key';
import { LeaseTerm, ReplicaRecord } from './cluster.schemas';

/** The one owner of the `leases` terms and the `replicas` records (the cluster module's collections). */
export abstract class ClusterRecordsRepository {
  /** The newest term of a lease. */
  abstract latestTerm(name: string): Promise<LeaseTerm | undefined>;
  /** Takes a new term; false when another replica took it first. */
  abstract insertTerm(term: LeaseTerm): Promise<boolean>;
  /** Extends a term its holder still holds unexpired; false when it had expired or is another's. */
  abstract renewTerm(id: string, holder: string, expiresAt: Date): Promise<boolean>;
  /** Ends a term of this holder at once (shutdown). */
  abstract releaseTerm(id: string, holder: string): Promise<void>;
  /** Deletes a lease's terms older than `term`. */
  abstract deleteTermsBefore(name: string, term: number): Promise<void>;
  abstract replicas(): Promise<ReplicaRecord[]>;
  /** Writes a replica's own record (only that replica writes it). */
  abstract saveReplica(record: ReplicaRecord): Promise<void>;
  /** Deletes a replica's record, only if it is still the one seen (`heartbeatAt`) when given. */
  abstract deleteReplica(id: string, heartbeatAt?: Date): Promise<void>;
}

@Injectable()
export class MongooseClusterRecordsRepository extends ClusterRecordsRepository {
  constructor(
    @InjectModel(LeaseTerm.name) private readonly leases: Model<LeaseTerm>,
    @InjectModel(ReplicaRecord.name) private readonly records: Model<ReplicaRecord>,
  ) {
    super();
  }

  async latestTerm(name: string): Promise<LeaseTerm | undefined> {
    return (await this.leases.find({ name }).sort({ term: -1 }).limit(1).lean<LeaseTerm[]>())[0];
  }

  async insertTerm(term: LeaseTerm): Promise<boolean> {
    try {
      await this.leases.create(term);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async renewTerm(id: string, holder: string, expiresAt: Date): Promise<boolean> {
    const res = await this.leases.updateOne({ _id: id, holder, expiresAt: { $gt: new Date() } }, { $set: { expiresAt } });
    return res.matchedCount === 1;
  }

  async releaseTerm(id: string, holder: string): Promise<void> {
    await this.leases.updateOne({ _id: id, holder }, { $set: { expiresAt: new Date(0) } });
  }

  async deleteTermsBefore(name: string, term: number): Promise<void> {
    await this.leases.deleteMany({ name, term: { $lt: term } });
  }

  replicas(): Promise<ReplicaRecord[]> {
    return this.records.find({}).lean<ReplicaRecord[]>();
  }

  async saveReplica(record: ReplicaRecord): Promise<void> {
    await this.records.replaceOne({ _id: record._id }, record, { upsert: true });
  }

  async deleteReplica(id: string, heartbeatAt?: Date): Promise<void> {
    await this.records.deleteOne(heartbeatAt === undefined ? { _id: id } : { _id: id, heartbeatAt });
  }
}
