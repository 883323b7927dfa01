import type { Model } from 'mongoose';
import type { Agent } from './agent.schema';

interface Pending {
  lastSeenAt: Date;
  sequenceNum: number | string;
}

/**
 * Heartbeat-only messages change nothing but "last seen" and the sequence number. Writing each
 * would cost one database write per agent per heartbeat; instead the newest value per agent is
 * kept here and written in one unordered bulk every flush interval.
 */
export class LastSeenBatcher {
  private pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly model: Model<Agent>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
    /** Holds the agents' write locks around a bulk (see AgentsService.writes). */
    private readonly lock: <T>(uids: string[], work: () => Promise<T>) => Promise<T>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  record(uid: string, lastSeenAt: Date, sequenceNum: number | string): void {
    this.pending.set(uid, { lastSeenAt, sequenceNum });
  }

  /** Drops a pending update that a full write has made redundant. */
  forget(uid: string): void {
    this.pending.delete(uid);
  }

  get size(): number {
    return this.pending.size;
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      const ops = [...batch].map(([uid, p]) => ({
        updateOne: {
          filter: { _id: uid },
          update: { $set: { 'connection.lastSeenAt': p.lastSeenAt, 'connection.sequenceNum': p.sequenceNum } },
        },
      }));
      try {
        for (let i = 0; i < ops.length; i += 1000) {
          const slice = ops.slice(i, i + 1000);
          await this.lock(
            slice.map((o) => o.updateOne.filter._id),
            () => this.model.bulkWrite(slice as never, { ordered: false }),
          );
        }
      } catch (err) {
        // Keep what failed for the next round unless newer values arrived meanwhile.
        for (const [uid, p] of batch) if (!this.pending.has(uid)) this.pending.set(uid, p);
        this.onError(err);
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
