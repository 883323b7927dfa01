/**
 * Work run every `everyMs` in the background, one run at a time, that a shutdown can stop and
 * wait for: `stop()` clears the timer and resolves once a run in progress has ended, so nothing
 * reaches a database client that is about to close. A run that throws goes to `onError`.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(everyMs: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.runNow(), everyMs);
    this.timer.unref();
  }

  /** Runs at once unless stopped or already running (then it waits for that run). */
  runNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= (async () => {
      try {
        await this.run();
      } catch (err) {
        this.onError(err);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
