import type { mongo } from 'mongoose';
import { PeriodicTask } from '../common/periodic-task';

type Document = mongo.Document;

/** A `$set` document: dotted paths to values. */
export type SetPaths = Record<string, unknown>;

interface PendingWrite {
  set: SetPaths;
  upsert: boolean;
  /** Callers waiting for this write to be stored. Empty for deferred writes (heartbeats). */
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/** Holds the per-agent write locks of a batch (see AgentsService.writes). */
export type LockAll = <T>(uids: string[], work: () => Promise<T>) => Promise<T>;

/**
 * Every write the OpAMP path makes to agent documents goes through here, grouped. Changes are
 * merged per agent into one pending `$set` and written in unordered bulk writes, one batch at a
 * time. Two kinds of write:
 *
 * - `write` resolves once its change is stored (group commit). The session awaits it before
 *   answering a report, so an answer still means "stored"; under load one bulk write carries
 *   hundreds of agents' reports instead of one round trip (and one lock) each. A batch starts as
 *   soon as the previous one ends, so a lone write waits for no timer.
 * - `defer` is not awaited and rides along with the next batch, or is written by the periodic flush.
 * - `hold` (heartbeats: last seen, sequence number) stays in memory until it is due (its maximum
 *   age), then goes with the periodic flush, all due agents in a few bulk commands; a write of
 *   the same agent before then takes it along in the same statement. A read shows it from
 *   memory (`held`), so a heartbeat-only message never costs a write of its own.
 *
 * Writes go to the driver's collection, not through Mongoose: every path written here is a
 * Mixed or scalar field whose stored form the mappers already produce, and Mongoose's per-update
 * casting and cloning was most of the server's CPU during a config rollout. So what Mongoose
 * would do is done here: undefined fields are left out (not stored as null), `updatedAt` is set
 * on every write, and an insert gets `firstSeenAt`, `capabilities` 0 and empty `labels` (the
 * schema's timestamps and defaults).
 */
export class AgentWriteQueue {
  private pending = new Map<string, PendingWrite>();
  /** Conditional writes (`writeIf`), in arrival order; never merged. */
  private guarded: GuardedWrite[] = [];
  /** True while some pending write has a waiter: the next batch starts without waiting for the timer. */
  private urgent = false;
  private running?: Promise<void>;
  /** The periodic flush of held heartbeats and deferred writes. */
  private readonly ticker: PeriodicTask;
  /** Heartbeat facts kept in memory until due (see `hold`). */
  private heldSeen = new Map<string, { set: SetPaths; dueAt: number }>();

  constructor(
    private readonly collection: () => mongo.Collection<Document>,
    private readonly intervalMs: number,
    /** Statements per bulk command (the database profile's maxBulkStatements). */
    private readonly bulkSize: number,
    private readonly lockAll: LockAll,
    private readonly onError: (err: unknown) => void,
  ) {
    this.ticker = new PeriodicTask(() => this.flushDue(), onError);
  }

  start(): void {
    this.ticker.start(this.intervalMs);
  }

  /** Stores everything, held heartbeats included (after a periodic flush in progress). */
  async stop(): Promise<void> {
    await this.ticker.stop();
    await this.flushDue(Infinity);
  }

  /** Agents with a change not yet stored (for metrics and tests). */
  get size(): number {
    return this.pending.size + this.guarded.length;
  }

  /** Stores `set` on the agent (creating it when `upsert`); resolves when it is stored. */
  write(uid: string, set: SetPaths, upsert = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.merge(uid, set, upsert).waiters.push({ resolve, reject });
      this.urgent = true;
      this.kick();
    });
  }

  /**
   * Stores `set` only if the agent still matches `condition` when the batch is written (e.g. "the
   * connection being closed is still the agent's"). Written after the batch's other writes, so a
   * report queued before or after it lands first and the condition sees it.
   */
  writeIf(uid: string, condition: Record<string, unknown>, set: SetPaths): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.guarded.push({ uid, condition, set, waiters: [{ resolve, reject }] });
      this.urgent = true;
      this.kick();
    });
  }

  /** Stores `set` with the next batch; nobody waits for it. */
  defer(uid: string, set: SetPaths): void {
    this.merge(uid, set, false);
  }

  /**
   * Keeps `set` in memory and stores it once it is `maxAgeMs` old (counted from the first value
   * held since the agent's last store), or with the agent's next write, whichever comes first.
   * A newer value replaces the one held without moving the deadline.
   */
  hold(uid: string, set: SetPaths, maxAgeMs: number, now = Date.now()): void {
    const h = this.heldSeen.get(uid);
    if (h) Object.assign(h.set, set);
    else this.heldSeen.set(uid, { set: { ...set }, dueAt: now + maxAgeMs });
  }

  /** What is held in memory for the agent and not stored yet (for reads). */
  held(uid: string): SetPaths | undefined {
    return this.heldSeen.get(uid)?.set;
  }

  /** Forgets what is held for the agent (its connection closed: the close writes its own last seen). */
  release(uid: string): void {
    this.heldSeen.delete(uid);
  }

  /** Drops one held field (e.g. an agent judged silent is no longer "connected" by what was held of its last poll). */
  unhold(uid: string, path: string): void {
    delete this.heldSeen.get(uid)?.set[path];
  }

  /** Agents with held heartbeat facts (for tests and metrics). */
  get heldSize(): number {
    return this.heldSeen.size;
  }

  /** Stores held heartbeats due by `until` together with whatever is pending. */
  async flushDue(until = Date.now()): Promise<void> {
    for (const [uid, h] of this.heldSeen) {
      if (h.dueAt > until) continue;
      this.heldSeen.delete(uid);
      this.merge(uid, h.set, false);
    }
    await this.flush();
  }

  /** Resolves when everything queued before the call is stored (read-your-writes for the API). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.size === 0) return;
    this.running = this.drain();
    await this.running;
  }

  private merge(uid: string, set: SetPaths, upsert: boolean): PendingWrite {
    let p = this.pending.get(uid);
    if (!p) {
      p = { set: {}, upsert: false, waiters: [] };
      this.pending.set(uid, p);
    }
    // Held heartbeat facts ride along in the same statement, under what this write sets.
    const held = this.heldSeen.get(uid);
    if (held) {
      this.heldSeen.delete(uid);
      for (const [path, value] of Object.entries(held.set)) if (value !== undefined) setPath(p.set, path, value);
    }
    for (const [path, value] of Object.entries(set)) if (value !== undefined) setPath(p.set, path, value);
    p.upsert ||= upsert;
    return p;
  }

  /** Starts a batch on the next turn of the event loop unless one is running (it starts the next). */
  private kick(): void {
    if (this.running) return;
    this.running = new Promise<void>((resolve) => setImmediate(() => void this.drain().then(resolve)));
  }

  /** Writes batches until nothing urgent is left. */
  private async drain(): Promise<void> {
    try {
      do {
        this.urgent = false;
        const now = new Date();
        const ops: Op[] = [...this.pending].map(([uid, p]) => ({
          uid,
          filter: { _id: uid },
          update: toUpdate(p, now),
          upsert: p.upsert,
          waiters: p.waiters,
          // A deferred write that failed is kept for the next round unless a newer change came meanwhile.
          retry: () => (this.pending.has(uid) ? undefined : this.pending.set(uid, { ...p, waiters: [] })),
        }));
        const conditional: Op[] = this.guarded.map((g) => ({
          uid: g.uid,
          filter: { ...g.condition, _id: g.uid },
          update: { $set: { ...g.set, updatedAt: now } },
          upsert: false,
          waiters: g.waiters,
        }));
        this.pending = new Map();
        this.guarded = [];
        // Conditional writes go in bulks of their own, after: an unordered bulk may apply its
        // writes in any order, and a condition must see the writes queued with it.
        for (const list of [ops, conditional]) for (let i = 0; i < list.length; i += this.bulkSize) await this.writeSlice(list.slice(i, i + this.bulkSize));
      } while (this.urgent);
    } finally {
      this.running = undefined;
    }
  }

  private async writeSlice(ops: Op[]): Promise<void> {
    const uids = ops.map((o) => o.uid);
    const updateOne = (o: Op) => ({ filter: o.filter as mongo.Filter<Document>, update: o.update, upsert: o.upsert });
    try {
      await this.lockAll(uids, () =>
        this.collection().bulkWrite(
          ops.map((o) => ({ updateOne: updateOne(o) })),
          { ordered: false, ignoreUndefined: true },
        ),
      );
      for (const o of ops) o.waiters.forEach((w) => w.resolve());
      return;
    } catch (err) {
      this.onError(err);
    }
    // A bulk that failed may have stored some of its writes, or (FerretDB stops at the first
    // error even when unordered) none after the failing one. Each write is a `$set`, so doing
    // it again is harmless: every write is retried alone, and one bad write fails only its own.
    await this.lockAll(uids, async () => {
      for (const o of ops) {
        try {
          const { filter, update, upsert } = updateOne(o);
          await this.collection().updateOne(filter, update, { upsert, ignoreUndefined: true });
          o.waiters.forEach((w) => w.resolve());
        } catch (err) {
          if (o.waiters.length) {
            o.waiters.forEach((w) => w.reject(err));
          } else {
            this.onError(err);
            o.retry?.();
          }
        }
      }
    });
  }
}

interface GuardedWrite {
  uid: string;
  condition: Record<string, unknown>;
  set: SetPaths;
  waiters: PendingWrite['waiters'];
}

/** One update of a batch. */
interface Op {
  uid: string;
  filter: Record<string, unknown>;
  update: Document;
  upsert: boolean;
  waiters: PendingWrite['waiters'];
  retry?: () => void;
}

/** The update of one merged pending write, with what Mongoose's schema would have added. */
function toUpdate(p: PendingWrite, now: Date): Document {
  const update: Document = { $set: { ...p.set, updatedAt: now } };
  if (p.upsert) {
    const onInsert: Document = { firstSeenAt: now };
    const writes = (field: string) => Object.keys(p.set).some((k) => k === field || k.startsWith(`${field}.`));
    if (!writes('labels')) onInsert.labels = {};
    if (!writes('capabilities')) onInsert.capabilities = 0;
    update.$setOnInsert = onInsert;
  }
  return update;
}

/**
 * Sets `path` in a `$set` document as MongoDB would apply both in order: a path replaces the paths
 * below it, and a path below one already set is written into that value (copied, never mutated:
 * the value may be shared with the session's memory).
 */
export function setPath(set: SetPaths, path: string, value: unknown): void {
  for (const k of Object.keys(set)) if (k.startsWith(`${path}.`)) delete set[k];
  for (const k of Object.keys(set)) {
    if (!path.startsWith(`${k}.`)) continue;
    // Below a value that is not a plain object MongoDB would refuse the path; an object takes its place.
    const current = set[k];
    const base = isPlainObject(current) ? current : {};
    set[k] = withPath(base, path.slice(k.length + 1).split('.'), value);
    return;
  }
  set[path] = value;
}

function withPath(obj: Record<string, unknown>, keys: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = keys;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = obj[head];
  return { ...obj, [head]: withPath(isPlainObject(child) ? child : {}, rest, value) };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}
