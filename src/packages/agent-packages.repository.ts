import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { FilterQuery, Model } from 'mongoose';
import { compareAndSet } from '../database/compare-and-set';
import { isDuplicateKey } from '../database/duplicate-key';
import { Page, pageByKey } from '../database/key-page';
import { AgentPackage } from './agent-package.schema';

/** The one owner of `agent_packages`: catalogued package versions and what they say of their files. */
export abstract class AgentPackagesRepository {
  abstract findById(id: string): Promise<AgentPackage | undefined>;
  /** Stores a new version; false when its id is taken. */
  abstract insert(p: AgentPackage): Promise<boolean>;
  /** One page in id order after `after`, optionally of one package's versions. */
  abstract page(limit: number, after: string | undefined, includeDeleted: boolean, packageName?: string): Promise<Page<AgentPackage>>;
  /** Every version of a package that is not deleted. */
  abstract versionsOf(packageName: string): Promise<AgentPackage[]>;
  abstract compareAndSet(p: AgentPackage, fields: Partial<AgentPackage>, guard?: FilterQuery<AgentPackage>): Promise<AgentPackage | undefined>;
}

@Injectable()
export class MongooseAgentPackagesRepository extends AgentPackagesRepository {
  constructor(@InjectModel(AgentPackage.name) private readonly packages: Model<AgentPackage>) {
    super();
  }

  async findById(id: string): Promise<AgentPackage | undefined> {
    return (await this.packages.findById(id).lean<AgentPackage>()) ?? undefined;
  }

  async insert(p: AgentPackage): Promise<boolean> {
    try {
      await this.packages.create(p);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  page(limit: number, after: string | undefined, includeDeleted: boolean, packageName?: string): Promise<Page<AgentPackage>> {
    const filter: FilterQuery<AgentPackage> = { ...(includeDeleted ? {} : { deletedAt: null }), ...(packageName ? { package: packageName } : {}) };
    return pageByKey(this.packages, { filter, limit, after });
  }

  async versionsOf(packageName: string): Promise<AgentPackage[]> {
    return this.packages.find({ package: packageName, deletedAt: null }).lean<AgentPackage[]>();
  }

  compareAndSet(p: AgentPackage, fields: Partial<AgentPackage>, guard: FilterQuery<AgentPackage> = {}): Promise<AgentPackage | undefined> {
    return compareAndSet(this.packages, p, fields, guard);
  }
}
