import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { FleetJobs } from '../cluster/fleet-jobs.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DATABASE_PROFILE, DatabaseProfile } from '../database/database-profile';
import { AuditActor, AuditEvent } from './audit-event.schema';
import { AuditEventFilter, AuditEventsRepository } from './audit-events.repository';
import { AuditedKinds } from './audited-kinds';
import { auditHash } from './audited-resources';

export type AuditEntry = Omit<AuditEvent, '_id' | 'at' | 'outcome'> & { outcome?: AuditEvent['outcome'] };

export type AuditFilter = AuditEventFilter;

/** A resource as the audit log sees it at one moment: its audited fields and their hash. */
export interface AuditSnapshot {
  view: Record<string, unknown> | null;
  hash: string | null;
}

const DAY_MS = 86_400_000;

/** The audit log: written for every change through the API, read at GET /api/v1/audit. */
@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly events: AuditEventsRepository,
    private readonly kinds: AuditedKinds,
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
    await this.events.expireAfter(this.config.auditRetentionDays * 86_400);
  }

  async deleteExpired(now = Date.now()): Promise<number> {
    return this.events.deleteOlderThan(new Date(now - this.config.auditRetentionDays * DAY_MS));
  }

  /** Writes one entry. An audit write that fails is logged, never turned into a failed request. */
  async record(entry: AuditEntry): Promise<void> {
    const at = new Date();
    const id = at.getTime().toString(16).padStart(12, '0') + randomBytes(6).toString('hex');
    try {
      await this.events.insert({ _id: id, at, outcome: 'success', ...entry });
    } catch (err) {
      this.logger.error(`audit entry ${entry.action} ${entry.resource.kind}/${entry.resource.name ?? ''} by ${entry.actor.username} not written: ${err}`);
    }
  }

  /** The audited fields of a resource now, when its kind is audited (else null). */
  async snapshot(kind: string, name: string | undefined): Promise<AuditSnapshot | undefined> {
    const audited = this.kinds.get(kind);
    if (!audited || !name) return undefined;
    const stored = await audited.read(name);
    const view = stored === undefined ? null : audited.view(stored);
    return { view, hash: auditHash(view) };
  }

  /** One page, newest first; `before` is the id of the last entry of the previous page. */
  async list(f: AuditFilter, limit: number, before?: string): Promise<{ items: AuditEvent[]; remaining: number }> {
    return this.events.page(f, limit, before);
  }
}

/** The actor of a request as authentication left it on `request.user`. */
export function actorOf(request: { user?: unknown; ip?: string }): AuditActor {
  const u = request.user as { username?: string; role?: string } | undefined;
  return { username: u?.username ?? 'anonymous', ...(u?.role ? { role: u.role } : {}), ...(request.ip ? { address: request.ip } : {}) };
}
