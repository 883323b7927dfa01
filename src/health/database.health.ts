import { Inject, Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Connection } from 'mongoose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DATABASE_SUPERVISOR } from '../database/database.module';
import type { DatabaseSupervisor } from '../database/database-supervisor';

/** Longest a readiness ping waits: a probe must answer well within its own timeout. */
const PING_TIMEOUT_MS = 2000;

/**
 * Readiness of the database: an admin `ping` that must answer within a short deadline (the
 * driver's connection state alone stays "connected" while a frozen server answers nothing).
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    @InjectConnection() private readonly connection: Connection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_SUPERVISOR) private readonly supervisor: DatabaseSupervisor | null,
  ) {}

  /** The embedded database could not be restarted: the process is no longer alive in any useful sense. */
  get gaveUp(): boolean {
    return this.supervisor?.state === 'failed';
  }

  async ping(key: string) {
    const check = this.indicator.check(key);
    const state = this.supervisor?.state;
    if (state === 'restarting' || state === 'failed')
      return check.down({ message: `the embedded database is ${state === 'failed' ? 'down and could not be restarted' : 'restarting'}` });
    const db = this.connection.db;
    if (!db) return check.down({ message: 'not connected' });
    const timeoutMs = Math.min(PING_TIMEOUT_MS, this.config.database.timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        db.admin().command({ ping: 1 }, { timeoutMS: timeoutMs }),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
      return check.up();
    } catch (err) {
      return check.down({ message: `ping failed: ${String((err as Error).message).split('\n')[0]}` });
    } finally {
      clearTimeout(timer);
    }
  }
}
