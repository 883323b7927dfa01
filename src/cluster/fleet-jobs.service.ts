import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { PeriodicTask } from '../common/periodic-task';
import { HeldLease, LeaseService } from './lease.service';

/** The one lease under which every fleet-wide job runs (one replica does them all; another takes over if it goes). */
export const FLEET_JOBS_LEASE = 'fleet-jobs';

/**
 * The one scheduler of fleet-wide work (the silent-HTTP-agent sweep, session and audit
 * retention, the rollout controller): each job runs every `everyMs`, one run at a time, on the
 * replica that holds the `fleet-jobs` lease, and is handed the lease so that long work can stop
 * as soon as it is lost. On one process the lease is simply always this replica's. Every job is
 * stopped and drained before the database closes.
 */
@Injectable()
export class FleetJobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger(FleetJobs.name);
  private readonly jobs = new Map<string, PeriodicTask>();
  /** Runs per job on this replica (what the exactly-once tests count). */
  readonly runs = new Map<string, number>();

  constructor(private readonly leases: LeaseService) {
    leases.want(FLEET_JOBS_LEASE);
  }

  /** Schedules `run` every `everyMs` on the holder of the fleet-jobs lease. */
  schedule(name: string, everyMs: number, run: (lease: HeldLease) => Promise<unknown>): void {
    if (this.jobs.has(name)) throw new Error(`fleet job ${name} is scheduled twice`);
    const task = new PeriodicTask(
      () =>
        this.leases.runIfHolder(FLEET_JOBS_LEASE, (lease) => {
          this.runs.set(name, (this.runs.get(name) ?? 0) + 1);
          return run(lease);
        }),
      (e) => this.logger.error(`${name} failed: ${e instanceof Error ? e.message : e}`),
    );
    this.jobs.set(name, task);
    task.start(everyMs);
  }

  /** Runs the job now if this replica holds the lease and it is not already running; resolves when done. */
  runNow(name: string): Promise<void> {
    return this.jobs.get(name)?.runNow() ?? Promise.resolve();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((t) => t.stop()));
  }
}
