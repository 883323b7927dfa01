import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectConnection, InjectModel } from '@nestjs/mongoose';
import type { Connection, FilterQuery, Model } from 'mongoose';
import { FleetJobs } from '../cluster/fleet-jobs.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DATABASE_PROFILE, DatabaseProfile } from '../database/database-profile';
import { AuditActor, AuditEvent } from './audit-event.schema';
import { AUDITED_KINDS, auditHash } from './audited-resources';

export type AuditEntry = Omit<AuditEvent, '_id' | 'at' | 'outcome'> & { outcome?: AuditEvent['outcome'] };

export interface AuditFilter {
  actor?: string;
  kind?: string;
  name?: string;
  action?: string;
  since?: Date;
  until?: Date;
}

/** A resource as the audit log sees it at one moment: its audited fields and their hash. */
export interface AuditSnapshot {
  view: Record<string, unknown> | null;
  hash: string | null;
}

const DAY_MS = 86_400_000;
const TTL_INDEX = 'audit_retention';

/** The audit log: written for every change through the API, read at GET /api/v1/audit. */
@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Audit');

  constructor(
    @InjectModel(AuditEvent.name) private readonly events: Model<AuditEvent>,
    @InjectConnection() private readonly connection: Connection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_PROFILE) private readonly profile: DatabaseProfile,
    private readonly jobs: FleetJobs,
  ) {}

  /**
   * Retention: a TTL index on `at` where the database deletes by one, else an hourly delete of
   * expired entries (the database profile says which).
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.profile.ttlIndexes) {
      // Once at start on every replica (idempotent), then hourly on one replica at a time.
      await this.deleteExpired().catch((e) => this.logger.error(`audit sweep failed: ${e}`));
      this.jobs.schedule('audit-retention', 3_600_000, () => this.deleteExpired());
      return;
    }
    const seconds = this.config.auditRetentionDays * 86_400;
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
          .catch((e) => this.logger.warn(`audit retention index not created: ${e.message}`));
      }
    }
  }

  async deleteExpired(now = Date.now()): Promise<number> {
    return (await this.events.deleteMany({ at: { $lt: new Date(now - this.config.auditRetentionDays * DAY_MS) } })).deletedCount;
  }

  /** Writes one entry. An audit write that fails is logged, never turned into a failed request. */
  async record(entry: AuditEntry): Promise<void> {
    const at = new Date();
    const id = at.getTime().toString(16).padStart(12, '0') + randomBytes(6).toString('hex');
    try {
      await this.events.create({ _id: id, at, outcome: 'success', ...entry });
    } catch (err) {
      this.logger.error(`audit entry ${entry.action} ${entry.resource.kind}/${entry.resource.name ?? ''} by ${entry.actor.username} not written: ${err}`);
    }
  }

  /** The audited fields of a resource now, when its kind is audited (else null). */
  async snapshot(kind: string, name: string | undefined): Promise<AuditSnapshot | undefined> {
    const audited = AUDITED_KINDS[kind];
    if (!audited || !name) return undefined;
    const id = audited.id ? audited.id(name) : name;
    const doc = await this.connection.collection<{ _id: string }>(audited.collection).findOne({ _id: id });
    const view = doc ? audited.view(doc as Record<string, unknown>) : null;
    return { view, hash: auditHash(view) };
  }

  /** One page, newest first; `before` is the id of the last entry of the previous page. */
  async list(f: AuditFilter, limit: number, before?: string): Promise<{ items: AuditEvent[]; remaining: number }> {
    const and: FilterQuery<AuditEvent>[] = [];
    if (f.actor) and.push({ 'actor.username': f.actor });
    if (f.kind) and.push({ 'resource.kind': f.kind });
    if (f.name) and.push({ 'resource.name': f.name });
    if (f.action) and.push({ action: f.action });
    if (f.since) and.push({ at: { $gte: f.since } });
    if (f.until) and.push({ at: { $lt: f.until } });
    const base: FilterQuery<AuditEvent> = and.length ? { $and: and } : {};
    const page = before ? { $and: [...and, { _id: { $lt: before } }] } : base;
    const items = await this.events.find(page).sort({ _id: -1 }).limit(limit).lean<AuditEvent[]>();
    const remaining = items.length < limit ? 0 : await this.events.countDocuments({ $and: [...and, { _id: { $lt: items[items.length - 1]._id } }] });
    return { items, remaining };
  }
}

/** The actor of a request as authentication left it on `request.user`. */
export function actorOf(request: { user?: unknown; ip?: string }): AuditActor {
  const u = request.user as { username?: string; role?: string } | undefined;
  return { username: u?.username ?? 'anonymous', ...(u?.role ? { role: u.role } : {}), ...(request.ip ? { address: request.ip } : {}) };
}
