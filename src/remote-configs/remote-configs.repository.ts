import { Inject, Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { FilterQuery, Model } from 'mongoose';
import { compareAndSet } from '../database/compare-and-set';
import { ContentStore } from '../database/content-store/content-store';
import { contentId } from '../database/content-store/content-id';
import { DATABASE_PROFILE, DatabaseProfile } from '../database/database-profile';
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
  /** One page of a config's history, newest first, before revision `before`; without bodies. */
  abstract pageRevisions(config: string, limit: number, before?: number): Promise<Page<RemoteConfigRevision>>;
  abstract findRevision(config: string, revision: number): Promise<RemoteConfigRevision | undefined>;
  /** Stores a revision once; a second store of the same revision changes nothing. */
  abstract storeRevision(config: string, r: StoredRevision): Promise<void>;
  /** Content store ids of every revision's body (the content GC's mark). */
  abstract contentRefs(): Promise<Set<string>>;
  /** Moves the bodies of revisions stored inline to the content store; returns how many moved. */
  abstract moveInlineBodies(): Promise<number>;
}

/** The content store id of a revision's body: its hash is sha256 over content type, NUL, body. */
const bodyRef = (r: Pick<StoredRevision, 'hash'>) => contentId('remote-config', r.hash);

@Injectable()
export class MongooseRemoteConfigsRepository extends RemoteConfigsRepository {
  constructor(
    @InjectModel(RemoteConfig.name) private readonly heads: Model<RemoteConfig>,
    @InjectModel(RemoteConfigRevision.name) private readonly revisions: Model<RemoteConfigRevision>,
    private readonly content: ContentStore,
    @Inject(DATABASE_PROFILE) private readonly profile: DatabaseProfile,
  ) {
    super();
  }

  /** Revisions with their bodies, joined from the content store in one read (inline ones as they are). */
  private async withBodies(docs: RemoteConfigRevision[]): Promise<RemoteConfigRevision[]> {
    const missing = docs.filter((d) => typeof d.body !== 'string');
    if (missing.length === 0) return docs;
    const bodies = await this.content.getMany(missing.map(bodyRef));
    return docs.map((d) => {
      if (typeof d.body === 'string') return d;
      const body = bodies.get(bodyRef(d));
      if (typeof body !== 'string') throw new Error(`the body of revision ${d._id} (${bodyRef(d)}) is missing from the content store`);
      return { ...d, body };
    });
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
    // History lists show no bodies: none is read, inline or in the content store.
    return pageByKey(this.revisions, { filter: { config }, key: 'revision', direction: -1, limit, after: before, projection: { body: 0 } });
  }

  async findRevision(config: string, revision: number): Promise<RemoteConfigRevision | undefined> {
    const doc = await this.revisions.findById(revisionId(config, revision)).lean<RemoteConfigRevision>();
    return doc ? (await this.withBodies([doc]))[0] : undefined;
  }

  async storeRevision(config: string, r: StoredRevision): Promise<void> {
    // The body first, so that a revision never refers to a body not stored.
    await this.content.put('remote-config', r.hash, r.body, Buffer.byteLength(r.body, 'utf8'));
    try {
      await this.revisions.updateOne(
        { _id: revisionId(config, r.revision) },
        {
          $setOnInsert: {
            config,
            revision: r.revision,
            hash: r.hash,
            contentType: r.contentType,
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

  async contentRefs(): Promise<Set<string>> {
    const [revisions, heads] = await Promise.all([
      this.revisions.find({}, { hash: 1 }).lean<Pick<RemoteConfigRevision, 'hash'>[]>(),
      this.heads.find({}, { 'latest.hash': 1 }).lean<Pick<RemoteConfig, 'latest'>[]>(),
    ]);
    // Heads too: a head's latest revision may not have its document yet (see the service's storeRevision).
    return new Set([...revisions.map(bodyRef), ...heads.filter((h) => h.latest?.hash).map((h) => bodyRef(h.latest))]);
  }

  async moveInlineBodies(): Promise<number> {
    let moved = 0;
    const size = this.profile.maxBulkStatements;
    for (;;) {
      const batch = await this.revisions
        .find({ body: { $exists: true } }, { hash: 1, body: 1 })
        .limit(size)
        .lean<Pick<RemoteConfigRevision, '_id' | 'hash' | 'body'>[]>();
      if (batch.length === 0) return moved;
      await Promise.all(batch.map((r) => this.content.put('remote-config', r.hash, r.body, Buffer.byteLength(r.body, 'utf8'))));
      // Unset only where the body is still the one just stored (a revision never changes; this is belt and braces).
      await this.revisions.bulkWrite(
        batch.map((r) => ({ updateOne: { filter: { _id: r._id, hash: r.hash }, update: { $unset: { body: '' } } } })),
        { ordered: false },
      );
      moved += batch.length;
      if (batch.length < size) return moved;
    }
  }
}
