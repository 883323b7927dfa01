import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { FleetJobs } from '../../cluster/fleet-jobs.service';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { ContentStore } from './content-store';

/** The fleet job's name (FleetJobs.runNow in tests). */
export const CONTENT_GC_JOB = 'content-gc';

/**
 * Runs the content store's mark and sweep every CONTENT_GC_INTERVAL_SECONDS on the one replica
 * that holds the fleet-jobs lease (a run stops between deletes when the lease is lost).
 */
@Injectable()
export class ContentGc implements OnApplicationBootstrap {
  private readonly logger = new Logger(ContentGc.name);

  constructor(
    private readonly store: ContentStore,
    private readonly jobs: FleetJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.schedule(CONTENT_GC_JOB, this.config.database.contentGcIntervalSeconds * 1000, async (lease) => {
      const out = await this.store.collect(Date.now(), () => lease.signal.aborted);
      if (out.swept) this.logger.log(`content GC: swept ${out.swept} unreferenced bodies (${out.referenced} old ones still referenced)`);
    });
  }
}
