import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HeldLease, LeaseService } from './lease.service';

interface Job {
  name: string;
  everyMs: number;
  run: (lease: HeldLease) => Promise<unknown>;
  timer?: NodeJS.Timeout;
  running?: Promise<unknown>;
}

/**
 * The one scheduler of fleet-wide work (sweeps, retention, backfills): each job runs every
 * `everyMs` on the replica that holds the lease named after it, never twice at once, and is
 * handed the lease so that it can stop as soon as the lease is lost. On one process the lease is
 * simply always this replica's. Stops every job before the database closes.
 */
@Injectable()
export class FleetJobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger(FleetJobs.name);
  private readonly jobs = new Map<string, Job>();
  private stopped = false;
  /** Runs per job on this replica (what the exactly-once tests count). */
  readonly runs = new Map<string, number>();

  constructor(private readonly leases: LeaseService) {}

  /** Schedules `run` every `everyMs` under the lease `name`. */
  schedule(name: string, everyMs: number, run: (lease: HeldLease) => Promise<unknown>): void {
    if (this.jobs.has(name)) throw new Error(`fleet job ${name} is scheduled twice`);
    const job: Job = { name, everyMs, run };
    this.jobs.set(name, job);
    this.leases.want(name);
    job.timer = setInterval(() => void this.runNow(name), everyMs);
    job.timer.unref();
  }

  /** Runs the job now if this replica holds its lease and it is not already running; resolves when done. */
  async runNow(name: string): Promise<void> {
    const job = this.jobs.get(name);
    if (!job || this.stopped || job.running) return;
    job.running = this.leases
      .runIfHolder(name, (lease) => {
        this.runs.set(name, (this.runs.get(name) ?? 0) + 1);
        return job.run(lease);
      })
      .catch((e) => this.logger.error(`${name} failed: ${e instanceof Error ? e.message : e}`))
      .finally(() => (job.running = undefined));
    await job.running;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs.values()) if (job.timer) clearInterval(job.timer);
    await Promise.all([...this.jobs.values()].map((j) => j.running));
  }
}
