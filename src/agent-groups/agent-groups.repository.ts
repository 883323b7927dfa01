import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { FilterQuery, Model } from 'mongoose';
import type { SelectorRequirement } from '../common/selectors';
import { compareAndSet } from '../database/compare-and-set';
import { isDuplicateKey } from '../database/duplicate-key';
import { Page, pageByKey } from '../database/key-page';
import { AgentGroup } from './agent-group.schema';

/**
 * The one owner of the `agent_groups` collection: every read and write of a stored group goes
 * through here. Abstract so that it is the injection token and the storage behind it can change
 * (or be faked in a spec) without touching its users.
 */
export abstract class AgentGroupsRepository {
  /** The group as stored, deleted or not. */
  abstract findById(name: string): Promise<AgentGroup | undefined>;
  /** Stores a new group; false when the name is taken (a concurrent create won). */
  abstract insert(group: AgentGroup): Promise<boolean>;
  /** One page in name order after `after`. */
  abstract page(limit: number, after: string | undefined, includeDeleted: boolean): Promise<Page<AgentGroup>>;
  /** Writes `fields` iff the group is still at the resourceVersion read (see compareAndSet); undefined when not. */
  abstract compareAndSet(current: AgentGroup, fields: Partial<AgentGroup>, guard?: FilterQuery<AgentGroup>): Promise<AgentGroup | undefined>;
  /** Every group not deleted, in no particular order. */
  abstract findActive(): Promise<AgentGroup[]>;
  /** Names of the active groups that assign the remote config. */
  abstract activeNamesUsingConfig(config: string): Promise<string[]>;
  /** Names of the active groups with a rollout policy that assign the remote config. */
  abstract activeNamesWithPolicyUsingConfig(config: string): Promise<string[]>;
  /** Names of the active groups that hold configs, packages or connection settings back for a rollout (`deliveredConfigs`, `deliveredPackages` or `deliveredConnectionSettings` set). */
  abstract activeNamesHoldingBack(): Promise<string[]>;
  /** The parsed selector of an active group (undefined when there is no such group). */
  abstract activeRequirements(name: string): Promise<SelectorRequirement[] | undefined>;
}

@Injectable()
export class MongooseAgentGroupsRepository extends AgentGroupsRepository {
  constructor(@InjectModel(AgentGroup.name) private readonly groups: Model<AgentGroup>) {
    super();
  }

  async findById(name: string): Promise<AgentGroup | undefined> {
    return (await this.groups.findById(name).lean<AgentGroup>()) ?? undefined;
  }

  async insert(group: AgentGroup): Promise<boolean> {
    try {
      await this.groups.create(group);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  page(limit: number, after: string | undefined, includeDeleted: boolean): Promise<Page<AgentGroup>> {
    return pageByKey(this.groups, { filter: includeDeleted ? {} : { deletedAt: null }, limit, after });
  }

  compareAndSet(current: AgentGroup, fields: Partial<AgentGroup>, guard: FilterQuery<AgentGroup> = {}): Promise<AgentGroup | undefined> {
    return compareAndSet(this.groups, current, fields, guard);
  }

  findActive(): Promise<AgentGroup[]> {
    return this.groups.find({ deletedAt: null }).lean<AgentGroup[]>();
  }

  async activeNamesUsingConfig(config: string): Promise<string[]> {
    const found = await this.groups.find({ deletedAt: null, 'configs.remoteConfig': config }, { _id: 1 }).lean<{ _id: string }[]>();
    return found.map((g) => g._id);
  }

  async activeNamesWithPolicyUsingConfig(config: string): Promise<string[]> {
    const found = await this.groups
      .find({ deletedAt: null, 'configs.remoteConfig': config, rolloutPolicy: { $exists: true } }, { _id: 1 })
      .lean<{ _id: string }[]>();
    return found.map((g) => g._id);
  }

  async activeNamesHoldingBack(): Promise<string[]> {
    const found = await this.groups
      .find(
        {
          deletedAt: null,
          $or: [{ deliveredConfigs: { $exists: true } }, { deliveredPackages: { $exists: true } }, { deliveredConnectionSettings: { $exists: true } }],
        },
        { _id: 1 },
      )
      .lean<{ _id: string }[]>();
    return found.map((g) => g._id);
  }

  async activeRequirements(name: string): Promise<SelectorRequirement[] | undefined> {
    const g = await this.groups.findOne({ _id: name, deletedAt: null }, { requirements: 1 }).lean<Pick<AgentGroup, 'requirements'>>();
    return g?.requirements;
  }
}
