import sift from 'sift';

/**
 * Counts answered in memory from one read of a collection's counted fields, for a database that
 * reads the whole collection for every count anyway (the profile's `countsReadEverything`:
 * FerretDB 1.x). One read then serves every count of every caller until it is `maxAgeMs` old,
 * instead of one scan per count per request.
 *
 * Staleness, exactly: a count asked at time t is computed from a read that STARTED at or after
 * t − maxAgeMs, so it includes every write acknowledged before t − maxAgeMs (and maybe later
 * ones). One read is in flight at a time: callers that arrive during a read started recently
 * enough share it; a caller for whom the read in flight is too old waits for it to end and then
 * starts (or shares) the next one. A caller that finds the read older than half the max age is
 * answered from it and starts the next read in the background, so a steady stream of requests
 * costs one read per half max age and never waits for one. maxAgeMs 0 gives every request a read
 * started after it arrived.
 *
 * Filters are MongoDB query documents, evaluated with MongoDB's matching rules (sift). A filter
 * naming a field the read does not hold is not `covers`ed: its caller asks the database instead.
 */
export class CountSnapshot<T extends object> {
  private current?: Snapshot<T>;
  private pending?: { at: number; done: Promise<Snapshot<T>> };
  private reads = 0;

  /**
   * `fields`: the top-level or dotted paths `read` returns (a filter on them, or on paths below
   * them, is covered). `read`: every document of the collection with those fields.
   */
  constructor(
    readonly fields: readonly string[],
    private readonly read: () => Promise<T[]>,
    readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many reads were started (for tests and the start-up log). */
  get readCount(): number {
    return this.reads;
  }

  /** True when every field the filter names is held by the read (so `count` answers it exactly). */
  covers(filter: object): boolean {
    return namesOnly(filter, (path) => this.fields.some((f) => path === f || path.startsWith(`${f}.`)));
  }

  /** Documents matching the filter. */
  async count(filter: object = {}): Promise<number> {
    const s = await this.snapshot();
    const mask = s.match(filter);
    let n = 0;
    for (let i = 0; i < mask.length; i++) n += mask[i];
    return n;
  }

  /** A grouped count: matching documents by the values of `key`'s paths (`{state: '$remoteConfig.state'}`), as `$group` would. */
  async countGrouped<K>(match: object | undefined, key: Record<string, string>, sums: Record<string, string> = {}): Promise<GroupedCount<K>[]> {
    const s = await this.snapshot();
    const mask = s.match(match ?? {});
    return groupInMemory<K>(
      s.docs.filter((_, i) => mask[i]),
      key,
      sums,
    );
  }

  /** Every document of the read (at most maxAgeMs old), for callers that derive something else from the same fields. */
  async documents(): Promise<readonly T[]> {
    return (await this.snapshot()).docs;
  }

  private async snapshot(): Promise<Snapshot<T>> {
    const now = this.now();
    const oldest = now - this.maxAgeMs;
    for (;;) {
      const current = this.current;
      if (current && current.at >= oldest) {
        // Past half its age the next read starts in the background, so that while requests keep
        // coming none waits for a read (the one answered now is still within the max age).
        if (!this.pending && now - current.at > this.maxAgeMs / 2) this.start().catch(() => undefined);
        return current;
      }
      if (!this.pending) return this.start();
      if (this.pending.at >= oldest) return this.pending.done;
      // Started before what this caller may accept: let it end (one read at a time), then look again.
      await this.pending.done.catch(() => undefined);
    }
  }

  private start(): Promise<Snapshot<T>> {
    const at = this.now();
    this.reads++;
    const done = this.read().then(
      (docs) => {
        const s = new Snapshot(at, docs);
        if (!this.current || this.current.at <= at) this.current = s;
        this.pending = undefined;
        return s;
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    this.pending = { at, done };
    return done;
  }
}

/** Bytes of remembered matches one read keeps (one byte per document per filter part; the parts of a group's counts repeat across requests). */
const MAX_REMEMBERED_BYTES = 16 * 1024 * 1024;

/** One read, and the matches of the filter parts asked of it so far. */
class Snapshot<T extends object> {
  private readonly matches = new Map<string, Uint8Array>();

  constructor(
    readonly at: number,
    readonly docs: readonly T[],
  ) {}

  /**
   * 1 for each document the filter matches. A `$and` is the intersection of its parts, each
   * remembered by its text: the counts of a request share most parts (a group's selector, the
   * groups before it), so each part is evaluated once per read, not once per count.
   */
  match(filter: object): Uint8Array {
    const parts = conjuncts(filter);
    const out = new Uint8Array(this.docs.length).fill(1);
    for (const p of parts) {
      const m = this.part(p);
      for (let i = 0; i < out.length; i++) out[i] &= m[i];
    }
    return out;
  }

  private part(filter: object): Uint8Array {
    const text = keyText(filter);
    const known = this.matches.get(text);
    if (known) return known;
    const test = sift(filter as never) as (doc: T) => boolean;
    const m = new Uint8Array(this.docs.length);
    for (let i = 0; i < m.length; i++) m[i] = test(this.docs[i]) ? 1 : 0;
    if ((this.matches.size + 1) * m.length > MAX_REMEMBERED_BYTES) this.matches.clear();
    this.matches.set(text, m);
    return m;
  }
}

/** The parts of a filter that must all hold: nested `$and`s flattened, each other top-level condition a part of its own. */
function conjuncts(filter: object): object[] {
  const out: object[] = [];
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) for (const p of v as object[]) out.push(...conjuncts(p));
    else out.push({ [k]: v });
  }
  return out;
}

/** True when `ok` accepts every field path the filter names (operators and their operands are not paths). */
function namesOnly(filter: unknown, ok: (path: string) => boolean): boolean {
  if (!filter || typeof filter !== 'object') return true;
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' || k === '$or' || k === '$nor') {
      if (!Array.isArray(v) || !v.every((p) => namesOnly(p, ok))) return false;
    } else if (k.startsWith('$')) {
      // A top-level operator other than the three (`$where`, `$expr`, `$text`, …) is not evaluated here.
      return false;
    } else if (!ok(k)) {
      return false;
    }
  }
  return true;
}

/** One group of a grouped count: its key, how many documents, and the sums asked for. */
export interface GroupedCount<K> {
  _id: K;
  n: number;
  sums?: Record<string, number>;
}

/**
 * `$group` by `key` with a count and `sums` (name → `$field.path`), done in memory over documents
 * already read. Sums add only finite numbers, as `$sum` does.
 */
export function groupInMemory<K>(docs: readonly unknown[], key: Record<string, string>, sums: Record<string, string> = {}): GroupedCount<K>[] {
  const paths = Object.entries(key).map(([k, p]) => [k, p.replace(/^\$/, '').split('.')] as const);
  const sumPaths = Object.entries(sums).map(([k, p]) => [k, p.replace(/^\$/, '').split('.')] as const);
  const groups = new Map<string, GroupedCount<K>>();
  for (const doc of docs) {
    const id: Record<string, unknown> = {};
    for (const [k, path] of paths) {
      const v = valueAt(doc, path);
      if (v !== undefined) id[k] = v;
    }
    const text = keyText(id);
    let g = groups.get(text);
    if (g) g.n++;
    else groups.set(text, (g = { _id: id as K, n: 1, ...(sumPaths.length ? { sums: Object.fromEntries(sumPaths.map(([k]) => [k, 0])) } : {}) }));
    for (const [k, path] of sumPaths) {
      const v = valueAt(doc, path);
      if (typeof v === 'number' && Number.isFinite(v)) g.sums![k] += v;
    }
  }
  return [...groups.values()];
}

function valueAt(doc: unknown, path: readonly string[]): unknown {
  let v: unknown = doc;
  for (const k of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A filter's or key's text, unambiguous for dates and regular expressions (which JSON alone would not tell from strings or `{}`). */
function keyText(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
    const original = this[k];
    if (original instanceof Date) return { $date: original.getTime() };
    if (original instanceof RegExp) return { $regex: original.source, $options: original.flags };
    return v;
  });
}
