import { Injectable, Logger } from '@nestjs/common';
import { InjectConnection, InjectModel } from '@nestjs/mongoose';
import type { Connection, FilterQuery, Model } from 'mongoose';
import { Page, pageByKey } from '../database/key-page';
import { AuditEvent } from './audit-event.schema';

/** Which entries a list shows (every given condition holds). */
export interface AuditEventFilter {
  actor?: string;
  kind?: string;
  name?: string;
  action?: string;
  since?: Date;
  until?: Date;
}

const TTL_INDEX = 'audit_retention';

/** The one owner of the `audit_events` collection. */
export abstract class AuditEventsRepository {
  abstract insert(event: AuditEvent): Promise<void>;
  /** One page, newest first (ids grow with time), before the id `before`. */
  abstract page(filter: AuditEventFilter, limit: number, before?: string): Promise<Page<AuditEvent>>;
  /** Deletes entries older than `cutoff`; returns how many. */
  abstract deleteOlderThan(cutoff: Date): Promise<number>;
  /** Has the database delete entries `seconds` after they were written (only where it has TTL indexes: see DatabaseProfile). */
  abstract expireAfter(seconds: number): Promise<void>;
}

@Injectable()
export class MongooseAuditEventsRepository extends AuditEventsRepository {
  private readonly logger = new Logger('Audit');

  constructor(
    @InjectModel(AuditEvent.name) private readonly events: Model<AuditEvent>,
    @InjectConnection() private readonly connection: Connection,
  ) {
    super();
  }

  async insert(event: AuditEvent): Promise<void> {
    await this.events.create(event);
  }

  page(f: AuditEventFilter, limit: number, before?: string): Promise<Page<AuditEvent>> {
    const and: FilterQuery<AuditEvent>[] = [];
    if (f.actor) and.push({ 'actor.username': f.actor });
    if (f.kind) and.push({ 'resource.kind': f.kind });
    if (f.name) and.push({ 'resource.name': f.name });
    if (f.action) and.push({ action: f.action });
    if (f.since) and.push({ at: { $gte: f.since } });
    if (f.until) and.push({ at: { $lt: f.until } });
    return pageByKey(this.events, { filter: and.length ? { $and: and } : {}, direction: -1, limit, after: before || undefined });
  }

  async deleteOlderThan(cutoff: Date): Promise<number> {
    return (await this.events.deleteMany({ at: { $lt: cutoff } })).deletedCount;
  }

  async expireAfter(seconds: number): Promise<void> {
    try {
      await this.events.collection.createIndex({ at: 1 }, { name: TTL_INDEX, expireAfterSeconds: seconds });
    } catch {
      // The index exists with another retention: change it in place, else recreate it.
      try {
        await this.connection.db!.command({ collMod: this.events.collection.collectionName, index: { name: TTL_INDEX, expireAfterSeconds: seconds } });
      } catch {
        await this.events.collection.dropIndex(TTL_INDEX).catch(() => undefined);
        await this.events.collection
          .createIndex({ at: 1 }, { name: TTL_INDEX, expireAfterSeconds: seconds })
          .catch((e: Error) => this.logger.warn(`audit retention index not created: ${e.message}`));
      }
    }
  }
}
