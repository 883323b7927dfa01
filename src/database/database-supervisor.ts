import type { EmbeddedDatabase, ProcessExit } from './embedded-database';

/** running: the database is up; restarting: it died and is being started again; failed: it could not be restarted; stopped: the server stopped it. */
export type SupervisorState = 'running' | 'restarting' | 'failed' | 'stopped';

export interface SupervisorOptions {
  /** First wait before a restart; doubled after each failed one. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Consecutive failed restarts after which the supervisor gives up (state `failed`, onGiveUp). */
  maxFailures?: number;
  /** A restarted database that dies again sooner than this counts as a failed restart. */
  stableMs?: number;
  log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  /** Called once when the supervisor gives up; the server's entry point exits with status 1 there. */
  onGiveUp?: () => void;
  /** Injected by unit specs; real time otherwise. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Watches the embedded database process and starts it again when it dies, with back-off
 * (0.5 s, doubling up to 8 s), on the same port and data, so the driver reconnects by itself.
 * After `maxFailures` consecutive failed restarts it gives up: the server's entry point then
 * exits with status 1, so that a process supervisor (systemd, Kubernetes) restarts the whole
 * server, and /healthz fails meanwhile.
 */
export class DatabaseSupervisor {
  private current: EmbeddedDatabase;
  private stateNow: SupervisorState = 'running';
  private failures = 0;
  private startedAt: number;
  private restarts = 0;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly opts: Required<Pick<SupervisorOptions, 'initialDelayMs' | 'maxDelayMs' | 'maxFailures' | 'stableMs'>> & SupervisorOptions;

  constructor(first: EmbeddedDatabase, options: SupervisorOptions) {
    this.opts = { initialDelayMs: 500, maxDelayMs: 8000, maxFailures: 5, stableMs: 30_000, ...options };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.current = first;
    this.startedAt = this.now();
    this.watch(first);
  }

  get state(): SupervisorState {
    return this.stateNow;
  }

  /** Process id of the database now running (tests kill it). */
  get pid(): number | undefined {
    return this.current.pid;
  }

  /** How many times the database was started again since the server started. */
  get restartCount(): number {
    return this.restarts;
  }

  async stop(): Promise<void> {
    this.stateNow = 'stopped';
    await this.current.stop();
  }

  private watch(db: EmbeddedDatabase): void {
    void db.exited?.then((exit) => {
      if (this.stateNow === 'stopped' || db !== this.current) return;
      void this.restart(db, exit);
    });
  }

  private delayFor(failures: number): number {
    return Math.min(this.opts.initialDelayMs * 2 ** failures, this.opts.maxDelayMs);
  }

  private async restart(dead: EmbeddedDatabase, exit: ProcessExit): Promise<void> {
    if (!dead.relaunch) {
      this.giveUp(`the embedded ${dead.kind} exited (${describeExit(exit)}) and cannot be restarted`);
      return;
    }
    // Died again soon after a restart: that restart failed too.
    if (this.restarts > 0 && this.now() - this.startedAt < this.opts.stableMs) this.failures++;
    else this.failures = 0;
    this.stateNow = 'restarting';
    while (this.stateNow === 'restarting') {
      if (this.failures >= this.opts.maxFailures) {
        this.giveUp(`the embedded ${dead.kind} could not be restarted ${this.failures} times in a row`);
        return;
      }
      const delay = this.delayFor(this.failures);
      this.opts.log.warn(
        `Embedded ${dead.kind} exited (${describeExit(exit)}); restarting it in ${delay} ms (attempt ${this.failures + 1} of ${this.opts.maxFailures})`,
      );
      await this.sleep(delay);
      if (this.stateNow !== 'restarting') return;
      try {
        const next = await dead.relaunch();
        if (this.stateNow !== 'restarting') {
          await next.stop();
          return;
        }
        this.current = next;
        this.startedAt = this.now();
        this.restarts++;
        this.stateNow = 'running';
        this.opts.log.info(`Embedded ${dead.kind} restarted (pid ${next.pid ?? '?'}); the server reconnects by itself`);
        this.watch(next);
      } catch (err) {
        this.failures++;
        this.opts.log.warn(`Restarting the embedded ${dead.kind} failed: ${(err as Error).message}`);
      }
    }
  }

  private giveUp(reason: string): void {
    this.stateNow = 'failed';
    this.opts.log.error(`Giving up on the database: ${reason}. Exiting so that a process supervisor restarts the server.`);
    this.opts.onGiveUp?.();
  }
}

function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
