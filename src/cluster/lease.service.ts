import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ClusterRecordsRepository } from './cluster-records.repository';

/** A lease held: its fencing token and a signal that aborts the moment the lease is lost. */
export interface HeldLease {
  name: string;
  term: number;
  signal: AbortSignal;
}

interface Holding {
  term: number;
  /** Local deadline: past it, without a renewal, this replica no longer counts itself the holder. */
  validUntil: number;
  abort: AbortController;
}

const pad = (term: number) => String(term).padStart(12, '0');
/** Why a lease is given up at a normal stop: an expected event, logged as info. */
const SHUTTING_DOWN = 'shutting down';

/**
 * Named leases in the database, so that fleet-wide work runs on one replica at a time. A lease
 * lasts REPLICA_TIMEOUT_SECONDS from its last renewal; its holder renews it every
 * REPLICA_HEARTBEAT_SECONDS (driven by the replica registry's heartbeat). Taking over an expired
 * lease inserts its next term (see LeaseTerm), so two replicas can never both win a term; the
 * holder counts itself the holder only until its local deadline, which ends a safety margin
 * before the stored expiry, so an old holder stops before a new one can start.
 */
@Injectable()
export class LeaseService {
  private readonly logger = new Logger(LeaseService.name);
  private readonly wanted = new Set<string>();
  private readonly held = new Map<string, Holding>();

  constructor(
    private readonly leases: ClusterRecordsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get ttlMs(): number {
    return this.config.cluster.timeoutSeconds * 1000;
  }

  /** Stop counting on a lease this long before its stored expiry (clock steps, a slow renewal). */
  private get marginMs(): number {
    return Math.min(2000, this.ttlMs / 4);
  }

  /** Declares that this replica competes for `name`; the next `renewAll` tries to take it. */
  want(name: string): void {
    this.wanted.add(name);
  }

  /** The lease if this replica holds it now, else undefined. */
  current(name: string): HeldLease | undefined {
    const h = this.held.get(name);
    if (!h) return undefined;
    if (Date.now() >= h.validUntil) {
      this.lose(name, 'its renewal is overdue');
      return undefined;
    }
    return { name, term: h.term, signal: h.abort.signal };
  }

  /** Names of the leases held now. */
  heldNames(): string[] {
    return [...this.held.keys()].filter((n) => this.current(n) !== undefined).sort();
  }

  /**
   * Runs `job` only if this replica holds `name`; the job is given the lease (its term and an
   * abort signal) so that long work can stop as soon as the lease is lost. Returns undefined when
   * not the holder.
   */
  async runIfHolder<T>(name: string, job: (lease: HeldLease) => Promise<T>): Promise<T | undefined> {
    this.want(name);
    const lease = this.current(name);
    return lease ? job(lease) : undefined;
  }

  /** Renews the leases held and tries to take the wanted ones that are free. Never throws. */
  async renewAll(): Promise<void> {
    for (const name of this.wanted) {
      try {
        await this.renewOrTake(name);
      } catch (e) {
        // A database fault: keep what is held until its local deadline (current() checks it), take nothing new.
        this.logger.warn(`lease ${name}: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  /** Gives every lease up (at shutdown), so that another replica takes over at once instead of after the timeout. */
  async releaseAll(): Promise<void> {
    const names = [...this.held.keys()];
    for (const name of names) {
      const h = this.held.get(name)!;
      this.lose(name, SHUTTING_DOWN);
      await this.leases.releaseTerm(`${name}#${pad(h.term)}`, this.config.replicaId).catch(() => undefined);
    }
  }

  private async renewOrTake(name: string): Promise<void> {
    const me = this.config.replicaId;
    const started = Date.now();
    const top = await this.leases.latestTerm(name);
    const mine = this.held.get(name);

    if (mine && (!top || top.term !== mine.term)) {
      this.lose(name, `term ${top?.term} was taken by ${top?.holder}`);
    } else if (mine && top) {
      // Only the holder writes its term's document, and only while it has not expired.
      if (await this.leases.renewTerm(top._id, me, new Date(started + this.ttlMs))) {
        mine.validUntil = started + this.ttlMs - this.marginMs;
        return;
      }
      this.lose(name, 'it expired before it could be renewed');
    }

    if (top && top.expiresAt.getTime() > Date.now()) return; // another replica holds it
    const term = (top?.term ?? 0) + 1;
    const taken = await this.leases.insertTerm({
      _id: `${name}#${pad(term)}`,
      name,
      term,
      holder: me,
      acquiredAt: new Date(started),
      expiresAt: new Date(started + this.ttlMs),
    });
    if (!taken) return; // another replica took this term first
    this.held.set(name, { term, validUntil: started + this.ttlMs - this.marginMs, abort: new AbortController() });
    this.logger.log(`took lease ${name} (term ${term})`);
    // Old terms are history nobody reads; keep the collection at one or two documents per lease.
    await this.leases.deleteTermsBefore(name, term - 1).catch(() => undefined);
  }

  private lose(name: string, why: string): void {
    const h = this.held.get(name);
    if (!h) return;
    this.held.delete(name);
    h.abort.abort(new Error(`lease ${name} lost: ${why}`));
    const line = `lost lease ${name} (term ${h.term}): ${why}`;
    if (why === SHUTTING_DOWN) this.logger.log(line);
    else this.logger.warn(line);
  }
}
