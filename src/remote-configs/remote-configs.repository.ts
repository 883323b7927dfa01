import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { FilterQuery, Model } from 'mongoose';
import { compareAndSet } from '../database/compare-and-set';
import { isDuplicateKey } from '../database/duplicate-key';
import { Page, pageByKey } from '../database/key-page';
import { RemoteConfig, RemoteConfigRevision, revisionId, StoredRevision } from './remote-config.schema';

/**
 * The one owner of the `remote_configs` heads and their `remote_config_revisions`. The head
 * holds a copy of its latest revision; the revision documents are the history.
 */
export abstract class RemoteConfigsRepository {
  abstract findHead(name: string): Promise<RemoteConfig | undefined>;
  /** Stores a new head; false when the name is taken. */
  abstract insertHead(head: RemoteConfig): Promise<boolean>;
  /** One page of heads in name order after `after`. */
  abstract pageHeads(limit: number, after: string | undefined, includeDeleted: boolean): Promise<Page<RemoteConfig>>;
  /** Writes `fields` iff the head is still at the resourceVersion read; undefined when not. */
  abstract compareAndSet(head: RemoteConfig, fields: Partial<RemoteConfig>, guard?: FilterQuery<RemoteConfig>): Promise<RemoteConfig | undefined>;
  /** Latest revision numbers of the named heads that exist and are not deleted. */
  abstract latestRevisions(names: string[]): Promise<Map<string, number>>;
  /** One page of a config's history, newest first, before revision `before`. */
  abstract pageRevisions(config: string, limit: number, before?: number): Promise<Page<RemoteConfigRevision>>;
  abstract findRevision(config: string, revision: number): Promise<RemoteConfigRevision | undefined>;
  /** Stores a revision once; a second store of the same revision changes nothing. */
  abstract storeRevision(config: string, r: StoredRevision): Promise<void>;
}

@Injectable()
export class MongooseRemoteConfigsRepository extends RemoteConfigsRepository {
  constructor(
    @InjectModel(RemoteConfig.name) private readonly heads: Model<RemoteConfig>,
    @InjectModel(RemoteConfigRevision.name) private readonly revisions: Model<RemoteConfigRevision>,
  ) {
    super();
  }

  async findHead(name: string): Promise<RemoteConfig | undefined> {
    return (await this.heads.findById(name).lean<RemoteConfig>()) ?? undefined;
  }

  async insertHead(head: RemoteConfig): Promise<boolean> {
    try {
      await this.heads.create(head);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  pageHeads(limit: number, after: string | undefined, includeDeleted: boolean): Promise<Page<RemoteConfig>> {
    return pageByKey(this.heads, { filter: includeDeleted ? {} : { deletedAt: null }, limit, after });
  }

  compareAndSet(head: RemoteConfig, fields: Partial<RemoteConfig>, guard: FilterQuery<RemoteConfig> = {}): Promise<RemoteConfig | undefined> {
    return compareAndSet(this.heads, head, fields, guard);
  }

  async latestRevisions(names: string[]): Promise<Map<string, number>> {
    if (names.length === 0) return new Map();
    const heads = await this.heads.find({ _id: { $in: [...new Set(names)] }, deletedAt: null }, { 'latest.revision': 1 }).lean<RemoteConfig[]>();
    return new Map(heads.map((h) => [h._id, h.latest.revision]));
  }

  pageRevisions(config: string, limit: number, before?: number): Promise<Page<RemoteConfigRevision>> {
    return pageByKey(this.revisions, { filter: { config }, key: 'revision', direction: -1, limit, after: before });
  }

  async findRevision(config: string, revision: number): Promise<RemoteConfigRevision | undefined> {
    return (await this.revisions.findById(revisionId(config, revision)).lean<RemoteConfigRevision>()) ?? undefined;
  }

  async storeRevision(config: string, r: StoredRevision): Promise<void> {
    try {
      await this.revisions.updateOne(
        { _id: revisionId(config, r.revision) },
        {
          $setOnInsert: {
            config,
            revision: r.revision,
            hash: r.hash,
            contentType: r.contentType,
            body: r.body,
            author: r.author,
            message: r.message,
            createdAt: r.createdAt,
          },
        },
        { upsert: true },
      );
    } catch (err) {
      // A concurrent upsert of the same revision won: it is stored.
      if (!isDuplicateKey(err)) throw err;
    }
  }
}
