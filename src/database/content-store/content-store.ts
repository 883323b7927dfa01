import { Counter } from 'prom-client';
import { sharedMetric } from '../../metrics/registry';
import { ContentBody } from './content-body.schema';
import { ContentBodiesRepository, ContentKindStats } from './content-bodies.repository';
import { ContentKind, contentId } from './content-id';

/** Where the GC asks which bodies are still in use: every id some stored document refers to. */
export type ReferenceSource = () => Promise<Iterable<string>>;

export interface ContentStoreOptions {
  /** Bodies per insert or lookup command (the database profile's maxBulkStatements). */
  maxBatch: number;
  /** CONTENT_GC_GRACE_SECONDS in ms: a body touched more recently is never swept. */
  graceMs: number;
  /** Ids this replica remembers as stored (bounded; the oldest are forgotten first). */
  knownLimit?: number;
}

/** What one GC run did. */
export interface CollectOutcome {
  /** Bodies untouched for longer than the grace period. */
  candidates: number;
  /** Of those, bodies still referenced (kept). */
  referenced: number;
  swept: number;
}

const puts = () =>
  sharedMetric(
    'content_store_puts_total',
    () =>
      new Counter({
        name: 'content_store_puts_total',
        help: 'Bodies put in the content store, by kind and outcome: known (remembered or already on its way, no database work of its own), inserted, existing (found stored)',
        labelNames: ['kind', 'outcome'],
      }),
  );
const swept = () =>
  sharedMetric(
    'content_gc_swept_total',
    () => new Counter({ name: 'content_gc_swept_total', help: 'Content store bodies deleted by the GC (nothing referred to them)' }),
  );

interface PendingPut {
  doc: ContentBody;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Large bodies shared by many documents, stored once by content (collection `content_bodies`):
 * effective config files that thousands of agents report alike, component health trees, remote
 * config revision bodies. A document keeps the id (`<kind>:<sha256 hex>`) and reads join the
 * body back with `get`/`getMany`.
 *
 * `put` is put-if-absent: an insert, a duplicate key meaning "already there". This replica
 * remembers the ids it stored or confirmed for half the grace period, so a report whose body is
 * known costs no database work at all; puts arriving together go in one insert (group commit).
 *
 * Garbage collection (`collect`, a fleet job: ContentGc) is mark and sweep: bodies untouched
 * for longer than the grace period that no reference source names are deleted. Why that is
 * safe while writers keep referring to bodies without writing them: a writer that trusts its
 * memory does so only within half the grace period of the body's `touchedAt` (it inserted or
 * refreshed it then), so a body referenced at time t has `touchedAt` ≥ t − grace/2. A body swept
 * by a run that started at m has `touchedAt` < m − grace, so every reference to it was made
 * before m − grace/2, stored by then, and seen by the mark, which reads after m.
 */
export class ContentStore {
  private readonly known = new Map<string, number>();
  private readonly knownLimit: number;
  private pending = new Map<string, PendingPut>();
  private running?: Promise<void>;
  private readonly sources = new Map<string, ReferenceSource>();
  private readonly putsMetric = puts();
  private readonly sweptMetric = swept();

  constructor(
    private readonly repo: ContentBodiesRepository,
    private readonly options: ContentStoreOptions,
  ) {
    this.knownLimit = options.knownLimit ?? 50_000;
  }

  /**
   * Stores `body` under `<kind>:<sha256Hex>` unless it is stored already; resolves with the id
   * once it is. `sha256Hex` is the caller's hash of the body's canonical bytes (`size` of them).
   */
  async put(kind: ContentKind, sha256Hex: string, body: unknown, size: number, now = Date.now()): Promise<string> {
    const id = contentId(kind, sha256Hex);
    if (this.isKnown(id, now)) {
      this.putsMetric.inc({ kind, outcome: 'known' });
      return id;
    }
    await new Promise<void>((resolve, reject) => {
      let p = this.pending.get(id);
      // Joining a put of the same body already on its way costs no database work of its own.
      if (p) this.putsMetric.inc({ kind, outcome: 'known' });
      if (!p) {
        const at = new Date(now);
        p = { doc: { _id: id, kind, body, size, createdAt: at, touchedAt: at }, waiters: [] };
        this.pending.set(id, p);
      }
      p.waiters.push({ resolve, reject });
      this.kick();
    });
    return id;
  }

  /** The stored body of `id`, or undefined when none is stored. */
  async get(id: string): Promise<unknown> {
    return (await this.getMany([id])).get(id);
  }

  /** The stored bodies of these ids (in as few commands as the batch size allows); missing ones are left out. */
  async getMany(ids: Iterable<string>): Promise<Map<string, unknown>> {
    const wanted = [...new Set(ids)];
    const out = new Map<string, unknown>();
    for (let i = 0; i < wanted.length; i += this.options.maxBatch) {
      for (const d of await this.repo.findByIds(wanted.slice(i, i + this.options.maxBatch))) out.set(d._id, d.body);
    }
    return out;
  }

  /** Names a source of references for the GC (one per owner of referring documents). */
  referencedBy(name: string, source: ReferenceSource): void {
    if (this.sources.has(name)) throw new Error(`content reference source ${name} is registered twice`);
    this.sources.set(name, source);
  }

  /** Mark and sweep (see the class comment); `aborted` stops it between deletes (the lease was lost). */
  async collect(now = Date.now(), aborted: () => boolean = () => false): Promise<CollectOutcome> {
    const cutoff = new Date(now - this.options.graceMs);
    const candidates = await this.repo.untouchedSince(cutoff);
    if (candidates.length === 0) return { candidates: 0, referenced: 0, swept: 0 };
    const marked = new Set<string>();
    for (const source of this.sources.values()) for (const id of await source()) marked.add(id);
    const doomed = candidates.filter((id) => !marked.has(id));
    let swept = 0;
    for (let i = 0; i < doomed.length && !aborted(); i += this.options.maxBatch) {
      const slice = doomed.slice(i, i + this.options.maxBatch);
      slice.forEach((id) => this.known.delete(id));
      const n = await this.repo.deleteUntouched(slice, cutoff);
      this.sweptMetric.inc(n);
      swept += n;
    }
    return { candidates: candidates.length, referenced: candidates.length - doomed.length, swept };
  }

  /** Count and bytes of the stored bodies by kind (benchmarks, diagnostics). */
  stats(): Promise<ContentKindStats[]> {
    return this.repo.stats();
  }

  /** Resolves when every put made before the call is stored. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private isKnown(id: string, now: number): boolean {
    const at = this.known.get(id);
    if (at === undefined) return false;
    if (now - at < this.options.graceMs / 2) return true;
    this.known.delete(id);
    return false;
  }

  private remember(id: string, at: number): void {
    this.known.delete(id);
    this.known.set(id, at);
    if (this.known.size > this.knownLimit) this.known.delete(this.known.keys().next().value as string);
  }

  /** Starts a batch on the next turn of the event loop unless one is running (it takes the rest). */
  private kick(): void {
    if (this.running) return;
    this.running = new Promise<void>((resolve) => setImmediate(() => void this.drain().then(resolve)));
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending.values()].slice(0, this.options.maxBatch);
        for (const p of batch) this.pending.delete(p.doc._id);
        try {
          const { existing } = await this.repo.insertAbsent(batch.map((p) => p.doc));
          // Bodies stored before: maybe long ago, and about to be referenced again (see the class comment).
          const at = new Date();
          await this.repo.touch(existing, at);
          const old = new Set(existing);
          for (const p of batch) this.putsMetric.inc({ kind: p.doc.kind, outcome: old.has(p.doc._id) ? 'existing' : 'inserted' });
          // Remembered from the time its `touchedAt` says, never later (the GC's reasoning needs it).
          for (const p of batch) this.remember(p.doc._id, old.has(p.doc._id) ? at.getTime() : p.doc.touchedAt.getTime());
          for (const p of batch) p.waiters.forEach((w) => w.resolve());
        } catch (err) {
          for (const p of batch) p.waiters.forEach((w) => w.reject(err));
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
