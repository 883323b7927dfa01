import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, ProjectionType } from 'mongoose';
import { compareAndSet } from '../database/compare-and-set';
import { isDuplicateKey } from '../database/duplicate-key';
import { Page, pageByKey } from '../database/key-page';
import { Rollout, RolloutPhase } from './rollout.schema';

/** The one owner of the `rollouts` collection. */
export abstract class RolloutsRepository {
  abstract findById(name: string): Promise<Rollout | undefined>;
  abstract exists(name: string): Promise<boolean>;
  /** Stores a new rollout; false when the name is taken. */
  abstract insert(rollout: Rollout): Promise<boolean>;
  /** One page in name order after `after`. */
  abstract page(limit: number, after?: string): Promise<Page<Rollout>>;
  /** Rollouts in any of these phases (one equality query per phase: FerretDB reads the whole collection for `$in`). */
  abstract inPhases(phases: readonly RolloutPhase[], projection?: ProjectionType<Rollout>): Promise<Rollout[]>;
  /** The rollouts of a group, with only their phase and spec. */
  abstract ofGroup(group: string): Promise<Pick<Rollout, '_id' | 'phase' | 'spec'>[]>;
  /** Writes `fields` iff the rollout is still at the resourceVersion read; undefined when not. */
  abstract compareAndSet(current: Rollout, fields: Partial<Rollout>): Promise<Rollout | undefined>;
  abstract delete(name: string): Promise<void>;
}

@Injectable()
export class MongooseRolloutsRepository extends RolloutsRepository {
  constructor(@InjectModel(Rollout.name) private readonly rollouts: Model<Rollout>) {
    super();
  }

  async findById(name: string): Promise<Rollout | undefined> {
    return (await this.rollouts.findById(name).lean<Rollout>()) ?? undefined;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.rollouts.exists({ _id: name })) !== null;
  }

  async insert(rollout: Rollout): Promise<boolean> {
    try {
      await this.rollouts.create(rollout);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  page(limit: number, after?: string): Promise<Page<Rollout>> {
    return pageByKey(this.rollouts, { limit, after });
  }

  async inPhases(phases: readonly RolloutPhase[], projection?: ProjectionType<Rollout>): Promise<Rollout[]> {
    return (await Promise.all(phases.map((phase) => this.rollouts.find({ phase }, projection).lean<Rollout[]>()))).flat();
  }

  ofGroup(group: string): Promise<Pick<Rollout, '_id' | 'phase' | 'spec'>[]> {
    return this.rollouts.find({ group }, { phase: 1, spec: 1 }).lean<Pick<Rollout, '_id' | 'phase' | 'spec'>[]>();
  }

  compareAndSet(current: Rollout, fields: Partial<Rollout>): Promise<Rollout | undefined> {
    return compareAndSet(this.rollouts, current, fields);
  }

  async delete(name: string): Promise<void> {
    await this.rollouts.deleteOne({ _id: name });
  }
}
