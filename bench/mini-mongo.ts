/**
 * A minimal in-memory MongoDB wire-protocol server for `--db memory`: just the commands the
 * OpAMP Commander server and the bench use (hello, find, aggregate counts, insert, update with
 * upsert, createIndexes), documents in a Map by _id with an ordered _id view for cursors.
 *
 * Queries behave like a database with indexes, so that this stand-in is not what a benchmark
 * measures: a filter is compiled once per query into a predicate; finds sorted by _id walk the
 * ordered ids from the cursor's bound and stop at `limit`; equality or `$in` on the first field of
 * a declared index (e.g. the agents' `selectorTerms`) walks that field's postings (sorted _id lists
 * per value, built when a query first uses the field and kept up to date by every write) instead
 * of every document, and a count answered by the postings and the _id range alone never looks at
 * a document.
 *
 * It exists to measure the server process on its own: the embedded FerretDB (SQLite) scans a
 * collection for every `_id` lookup, so with thousands of agents the database, not the server,
 * sets every figure. This stand-in costs almost nothing per operation. It is a measuring tool,
 * not a database: no durability, no transactions, a subset of query and update operators.
 */
import * as net from 'node:net';
import mongoose from 'mongoose';

const { BSON } = mongoose.mongo;
type Doc = Record<string, unknown>;

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

class Collection {
  readonly docs = new Map<unknown, Doc>();
  private sorted: unknown[] | null = [];
  /** Fields that lead a declared index (other than _id). */
  readonly indexed = new Set<string>();
  /** Per indexed field, once a query used it: each value's _id keys in ascending order, kept up to date by every write. */
  private readonly postings = new Map<string, Map<unknown, unknown[]>>();

  /** Inserts or replaces a whole document. */
  add(doc: Doc): void {
    const k = key(doc._id);
    const old = this.docs.get(k);
    this.change(k, old, () => {
      if (!old && this.sorted) insertSorted(this.sorted, k);
      this.docs.set(k, doc);
    });
  }

  remove(id: unknown): void {
    this.change(id, this.docs.get(id), () => {
      if (this.docs.delete(id) && this.sorted) removeSorted(this.sorted, id);
    });
  }

  /** Changes a stored document in place (an update), keeping the postings right. */
  update(doc: Doc, mutate: () => void): void {
    this.change(key(doc._id), doc, mutate);
  }

  private change(k: unknown, before: Doc | undefined, mutate: () => void): void {
    const fields = [...this.postings.keys()];
    const old = fields.map((f) => (before ? valuesAt(before, f) : []));
    mutate();
    const now = this.docs.get(k);
    fields.forEach((f, i) => {
      const p = this.postings.get(f)!;
      const next = now ? valuesAt(now, f) : [];
      for (const v of old[i]) if (!next.includes(v)) removeSorted(p.get(v) ?? [], k);
      for (const v of next) {
        if (old[i].includes(v)) continue;
        const list = p.get(v);
        if (list) insertSorted(list, k);
        else p.set(v, [k]);
      }
    });
  }

  /** Every _id key in ascending order. */
  ids(): unknown[] {
    if (!this.sorted) this.sorted = [...this.docs.keys()].sort(compare);
    return this.sorted;
  }

  /** The postings of an indexed field: value → ascending _id keys of the documents holding it (in an array or as the value). */
  postingsOf(field: string): Map<unknown, unknown[]> {
    let p = this.postings.get(field);
    if (!p) {
      p = new Map();
      for (const id of this.ids()) {
        for (const x of valuesAt(this.docs.get(id)!, field)) {
          const list = p.get(x);
          if (list) list.push(id);
          else p.set(x, [id]);
        }
      }
      this.postings.set(field, p);
    }
    return p;
  }
}

/** The distinct scalar values a document holds at a path (the elements of an array). */
function valuesAt(doc: Doc, field: string): unknown[] {
  const v = getPath(doc, field);
  if (v === undefined) return [];
  return Array.isArray(v) ? [...new Set(v.map(scalar))] : [scalar(v)];
}

function insertSorted(list: unknown[], k: unknown): void {
  const at = lowerBound(list, k, false);
  if (at < list.length && compare(list[at], k) === 0) return;
  if (at === list.length) list.push(k);
  else list.splice(at, 0, k);
}

function removeSorted(list: unknown[], k: unknown): void {
  const at = lowerBound(list, k, false);
  if (at < list.length && compare(list[at], k) === 0) list.splice(at, 1);
}

/** Bounds on _id taken from a filter's top-level conjuncts. */
interface IdRange {
  lower?: unknown;
  lowerStrict?: boolean;
  upper?: unknown;
  upperStrict?: boolean;
}

/** [from, to) of the ascending keys inside the range. */
function rangeOf(ids: unknown[], r: IdRange): [number, number] {
  const from = r.lower === undefined ? 0 : lowerBound(ids, r.lower, !!r.lowerStrict);
  const to = r.upper === undefined ? ids.length : lowerBound(ids, r.upper, !r.upperStrict);
  return [from, Math.max(from, to)];
}

/** The conditions that must all hold: top-level fields and the members of top-level $and, flattened. */
function conjuncts(filter: Doc, out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, cond] of Object.entries(filter)) {
    if (k === '$and') for (const f of cond as Doc[]) conjuncts(f, out);
    else out.push([k, cond]);
  }
  return out;
}

const isPrimitive = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** How a query finds its candidates, decided once per query. */
interface Plan {
  /** An _id equality: at most that document. */
  id?: unknown;
  range: IdRange;
  /** Equality or $in on an indexed field: the postings of these values. */
  postings?: unknown[][];
  /** True when the postings and the range alone decide the filter (no other condition). */
  exact: boolean;
}

function plan(c: Collection, filter: Doc): Plan {
  const range: IdRange = {};
  let id: unknown;
  let indexedAt = -1;
  let values: unknown[] | undefined;
  let idList: unknown[] | undefined;
  let rest = 0;
  const parts = conjuncts(filter);
  parts.forEach(([k, cond], i) => {
    if (k === '_id' && !isOperatorDoc(cond)) {
      id = cond;
      return;
    }
    // _id in a list: each id's document, as the _id index finds them.
    if (k === '_id' && indexedAt < 0 && Object.keys(cond as Doc).length === 1 && Array.isArray((cond as Doc).$in)) {
      idList = ((cond as Doc).$in as unknown[]).map(key);
      indexedAt = i;
      return;
    }
    if (k === '_id' && Object.keys(cond as Doc).every((op) => ['$gt', '$gte', '$lt', '$lte'].includes(op))) {
      const b = cond as Doc;
      if (b.$gt !== undefined || b.$gte !== undefined) Object.assign(range, { lower: b.$gt ?? b.$gte, lowerStrict: b.$gt !== undefined });
      if (b.$lt !== undefined || b.$lte !== undefined) Object.assign(range, { upper: b.$lt ?? b.$lte, upperStrict: b.$lt !== undefined });
      return;
    }
    if (indexedAt < 0 && c.indexed.has(k)) {
      if (isPrimitive(cond)) values = [cond];
      else if (
        isOperatorDoc(cond) &&
        Object.keys(cond as Doc).length === 1 &&
        Array.isArray((cond as Doc).$in) &&
        ((cond as Doc).$in as unknown[]).every(isPrimitive)
      ) {
        values = (cond as Doc).$in as unknown[];
      }
      if (values) {
        indexedAt = i;
        return;
      }
    }
    rest++;
  });
  if (id !== undefined) return { id, range, exact: false };
  if (idList) return { range, postings: [...new Set(idList)].map((k) => (c.docs.has(k) ? [k] : [])), exact: false };
  if (!values) return { range, exact: rest === 0 };
  const p = c.postingsOf(parts[indexedAt][0]);
  return { range, postings: [...new Set(values)].map((v) => p.get(v) ?? []), exact: rest === 0 };
}

/** The _id keys a plan visits, in ascending (1) or descending (-1) order. */
function* planIds(c: Collection, pl: Plan, dir: 1 | -1): Generator<unknown> {
  if (pl.id !== undefined) {
    if (c.docs.has(key(pl.id))) yield key(pl.id);
    return;
  }
  const lists = pl.postings ?? [c.ids()];
  const slices = lists.map((l) => ({ l, r: rangeOf(l, pl.range) })).filter((x) => x.r[0] < x.r[1]);
  if (slices.length === 1) {
    const { l, r } = slices[0];
    if (dir === 1) for (let i = r[0]; i < r[1]; i++) yield l[i];
    else for (let i = r[1] - 1; i >= r[0]; i--) yield l[i];
    return;
  }
  // A k-way merge of sorted lists, each id once.
  const at = slices.map((x) => (dir === 1 ? x.r[0] : x.r[1] - 1));
  const live = (j: number) => (dir === 1 ? at[j] < slices[j].r[1] : at[j] >= slices[j].r[0]);
  let last: unknown = undefined;
  for (;;) {
    let best = -1;
    for (let j = 0; j < slices.length; j++) {
      if (!live(j)) continue;
      if (best < 0 || compare(slices[j].l[at[j]], slices[best].l[at[best]]) * dir < 0) best = j;
    }
    if (best < 0) return;
    const v = slices[best].l[at[best]];
    at[best] += dir;
    if (last === undefined || compare(v, last) !== 0) yield v;
    last = v;
  }
}

/** Map key for an _id (ObjectIds by their hex). */
function key(id: unknown): unknown {
  return id instanceof BSON.ObjectId ? id.toHexString() : id;
}

function isOperatorDoc(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v) || v instanceof Date || v instanceof BSON.ObjectId || v instanceof BSON.Binary) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function scalar(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (v instanceof BSON.ObjectId) return v.toHexString();
  if (v instanceof BSON.Long) return v.toNumber();
  return v;
}

function compare(a: unknown, b: unknown): number {
  const x = scalar(a);
  const y = scalar(b);
  if (x === y) return 0;
  if (x === undefined || x === null) return -1;
  if (y === undefined || y === null) return 1;
  return (x as number) < (y as number) ? -1 : 1;
}

function lowerBound(ids: unknown[], v: unknown, strict: boolean): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = compare(ids[mid], v);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function getPath(doc: unknown, path: string): unknown {
  let cur = doc;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur) && !/^\d+$/.test(parts[i])) {
      // A path through an array of sub-documents yields the values of every element (MongoDB semantics).
      const rest = parts.slice(i).join('.');
      return cur.flatMap((e) => {
        const v = getPath(e, rest);
        return v === undefined ? [] : Array.isArray(v) ? v : [v];
      });
    }
    cur = (cur as Doc)[parts[i]];
  }
  return cur;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (next === null || typeof next !== 'object') cur[parts[i]] = {};
    cur = cur[parts[i]] as Doc;
  }
  cur[parts[parts.length - 1]] = value;
}

function unsetPath(doc: Doc, path: string): void {
  const parts = path.split('.');
  const parent = parts.length > 1 ? getPath(doc, parts.slice(0, -1).join('.')) : doc;
  if (parent && typeof parent === 'object') delete (parent as Doc)[parts[parts.length - 1]];
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && !Array.isArray(b)) return a.some((x) => equal(x, b));
  const x = scalar(a);
  const y = scalar(b);
  if (x === y) return true;
  if (x && y && typeof x === 'object' && typeof y === 'object') return JSON.stringify(x) === JSON.stringify(y);
  return (x === undefined && y === null) || (x === null && y === undefined);
}

function matchCond(value: unknown, cond: unknown): boolean {
  if (cond instanceof RegExp) {
    const test = (v: unknown) => typeof v === 'string' && cond.test(v);
    return Array.isArray(value) ? value.some(test) : test(value);
  }
  if (!isOperatorDoc(cond)) return equal(value, cond);
  for (const [op, arg] of Object.entries(cond as Doc)) {
    switch (op) {
      case '$eq':
        if (!equal(value, arg)) return false;
        break;
      case '$ne':
        if (equal(value, arg)) return false;
        break;
      case '$gt':
        if (value === undefined || compare(value, arg) <= 0) return false;
        break;
      case '$gte':
        if (value === undefined || compare(value, arg) < 0) return false;
        break;
      case '$lt':
        if (value === undefined || compare(value, arg) >= 0) return false;
        break;
      case '$lte':
        if (value === undefined || compare(value, arg) > 0) return false;
        break;
      case '$in':
        if (!(arg as unknown[]).some((x) => equal(value, x))) return false;
        break;
      case '$nin':
        if ((arg as unknown[]).some((x) => equal(value, x))) return false;
        break;
      case '$exists':
        if ((value !== undefined) !== !!arg) return false;
        break;
      case '$elemMatch':
        if (
          !Array.isArray(value) ||
          !value.some((e) => (isOperatorDoc(arg) || !e || typeof e !== 'object' ? matchCond(e, arg) : matches(e as Doc, arg as Doc)))
        )
          return false;
        break;
      case '$not':
        if (matchCond(value, arg)) return false;
        break;
      case '$regex': {
        const re = arg instanceof RegExp ? arg : new RegExp(String(arg), String((cond as Doc).$options ?? ''));
        if (!matchCond(value, re)) return false;
        break;
      }
      case '$options':
        break;
      default:
        throw new Error(`unsupported query operator ${op}`);
    }
  }
  return true;
}

function matches(doc: Doc, filter: Doc): boolean {
  for (const [k, cond] of Object.entries(filter)) {
    if (k === '$and') {
      if (!(cond as Doc[]).every((f) => matches(doc, f))) return false;
    } else if (k === '$or') {
      if (!(cond as Doc[]).some((f) => matches(doc, f))) return false;
    } else if (k === '$nor') {
      if ((cond as Doc[]).some((f) => matches(doc, f))) return false;
    } else if (!matchCond(getPath(doc, k), cond)) return false;
  }
  return true;
}

/** A getter for a dotted path, split once. */
function pathGetter(path: string): (doc: unknown) => unknown {
  if (!path.includes('.')) return (doc) => (doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Doc)[path] : getPath(doc, path));
  return (doc) => getPath(doc, path);
}

/** `matchCond` with the common cases (equality, $in, $nin, $ne on scalars) turned into Set lookups once. */
function compileCond(cond: unknown): (value: unknown) => boolean {
  const anyOf = (set: Set<unknown>) => (v: unknown) => (Array.isArray(v) ? v.some((x) => set.has(scalar(x))) : set.has(scalar(v)));
  if (isPrimitive(cond)) return anyOf(new Set([cond]));
  if (!isOperatorDoc(cond)) return (v) => matchCond(v, cond);
  const tests = Object.entries(cond as Doc).map(([op, arg]): ((v: unknown) => boolean) => {
    const scalars = Array.isArray(arg) && arg.every(isPrimitive);
    if (op === '$in' && scalars) return anyOf(new Set(arg as unknown[]));
    if (op === '$nin' && scalars) {
      const hit = anyOf(new Set(arg as unknown[]));
      return (v) => !hit(v);
    }
    if ((op === '$eq' || op === '$ne') && isPrimitive(arg)) {
      const hit = anyOf(new Set([arg]));
      return op === '$eq' ? hit : (v) => !hit(v);
    }
    if (op === '$options') return () => true;
    if (op === '$regex') return (v) => matchCond(v, { $regex: arg, $options: (cond as Doc).$options });
    return (v) => matchCond(v, { [op]: arg });
  });
  return tests.length === 1 ? tests[0] : (v) => tests.every((t) => t(v));
}

/** A filter compiled once into a predicate (the same meaning as `matches`). */
function compileFilter(filter: Doc): (doc: Doc) => boolean {
  const parts = Object.entries(filter).map(([k, cond]): ((doc: Doc) => boolean) => {
    if (k === '$and') {
      const ps = (cond as Doc[]).map(compileFilter);
      return (d) => ps.every((p) => p(d));
    }
    if (k === '$or') {
      const ps = (cond as Doc[]).map(compileFilter);
      return (d) => ps.some((p) => p(d));
    }
    if (k === '$nor') {
      const ps = (cond as Doc[]).map(compileFilter);
      return (d) => !ps.some((p) => p(d));
    }
    const get = pathGetter(k);
    const test = compileCond(cond);
    return (d) => test(get(d));
  });
  if (parts.length === 0) return () => true;
  if (parts.length === 1) return parts[0];
  return (d) => {
    for (const p of parts) if (!p(d)) return false;
    return true;
  };
}

const isPlainDoc = (v: unknown): v is Doc =>
  !!v &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  !(v instanceof Date) &&
  !(v instanceof BSON.ObjectId) &&
  !(v instanceof BSON.Binary) &&
  !Buffer.isBuffer(v);

/** A copy of `doc` without the excluded paths (through arrays of sub-documents, as MongoDB does); untouched parts are shared. */
function exclude(doc: Doc, tree: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    const t = tree[k];
    if (t === true) continue;
    if (t === undefined) out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map((e) => (isPlainDoc(e) ? exclude(e, t as Doc) : e));
    else out[k] = isPlainDoc(v) ? exclude(v, t as Doc) : v;
  }
  return out;
}

function project(doc: Doc, projection: Doc | undefined): Doc {
  if (!projection || Object.keys(projection).length === 0) return doc;
  const entries = Object.entries(projection);
  // As MongoDB: inclusive when a field other than _id is included, or when _id is all it names
  // ({ _id: 1 } answers only the ids); _id may be turned on or off in either kind.
  const others = entries.filter(([k]) => k !== '_id');
  const inclusive = others.length ? others.some(([, v]) => !!v) : !!projection._id;
  if (inclusive) {
    const out: Doc = {};
    if (projection._id !== 0 && projection._id !== false) out._id = doc._id;
    for (const [k, v] of entries) {
      if (!v || k === '_id') continue;
      const val = getPath(doc, k);
      if (val !== undefined) setPath(out, k, val);
    }
    return out;
  }
  const tree: Doc = {};
  for (const [k] of entries.filter(([, v]) => !v)) {
    const parts = k.split('.');
    let t = tree;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) t[part] = true;
      else if (t[part] !== true) t = (t[part] ??= {}) as Doc;
    });
  }
  return exclude(doc, tree);
}

/** The value of a $group key expression for one document: "$path", an object of them, or a constant. */
function keyOf(doc: Doc, expr: unknown): unknown {
  if (typeof expr === 'string' && expr.startsWith('$')) return getPath(doc, expr.slice(1)) ?? null;
  if (isPlainDoc(expr)) return Object.fromEntries(Object.entries(expr).map(([k, v]) => [k, keyOf(doc, v)]));
  return expr;
}

/** $group with $sum accumulators (a number, or "$path"): one row per distinct key, as MongoDB groups. */
function group(docs: Doc[], g: Doc): Doc[] {
  const rows = new Map<string, Doc>();
  for (const d of docs) {
    const key = keyOf(d, g._id);
    const id = JSON.stringify(key);
    let row = rows.get(id);
    if (!row) {
      row = { _id: key };
      for (const field of Object.keys(g)) if (field !== '_id') row[field] = 0;
      rows.set(id, row);
    }
    for (const [field, acc] of Object.entries(g)) {
      if (field === '_id') continue;
      const sum = (acc as Doc).$sum;
      const add = typeof sum === 'number' ? sum : Number(getPath(d, String(sum).slice(1)));
      row[field] = (row[field] as number) + (Number.isFinite(add) ? add : 0);
    }
  }
  return [...rows.values()];
}

function applyUpdate(doc: Doc, u: Doc, inserting: boolean): void {
  if (!Object.keys(u).some((k) => k.startsWith('$'))) {
    for (const k of Object.keys(doc)) if (k !== '_id') delete doc[k];
    Object.assign(doc, u, { _id: doc._id });
    return;
  }
  for (const [op, fields] of Object.entries(u)) {
    for (const [path, value] of Object.entries(fields as Doc)) {
      switch (op) {
        case '$set':
          setPath(doc, path, value);
          break;
        case '$setOnInsert':
          if (inserting) setPath(doc, path, value);
          break;
        case '$unset':
          unsetPath(doc, path);
          break;
        case '$inc':
          setPath(doc, path, ((getPath(doc, path) as number) ?? 0) + (value as number));
          break;
        default:
          throw new Error(`unsupported update operator ${op}`);
      }
    }
  }
}

function sortDocs(docs: Doc[], sort: Doc | undefined): Doc[] {
  const keys = Object.entries(sort ?? {});
  if (keys.length === 0) return docs;
  return docs.sort((a, b) => {
    for (const [k, dir] of keys) {
      const c = compare(getPath(a, k), getPath(b, k));
      if (c) return c * (Number(dir) < 0 ? -1 : 1);
    }
    return 0;
  });
}

/** Bytes of documents one reply carries at most (a reply must stay under the 16 MiB BSON limit). */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** How many of `docs` from `from` go in one batch: `batchSize` (0: any number) and MAX_BATCH_BYTES. */
function batchLength(docs: Doc[], from: number, batchSize: number): number {
  let bytes = 0;
  let n = 0;
  for (let i = from; i < docs.length; i++) {
    if (batchSize > 0 && n >= batchSize) break;
    bytes += BSON.calculateObjectSize(docs[i]);
    if (n > 0 && bytes > MAX_BATCH_BYTES) break;
    n++;
  }
  return n;
}

/** A filter with its values blanked: what kind of query it is, not which agent it asks for. */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.every((x) => !x || typeof x !== 'object' || x instanceof Date) ? ['?'] : v.map(shapeOf);
  if (v && typeof v === 'object' && !(v instanceof Date) && !(v instanceof BSON.ObjectId) && !(v instanceof BSON.Binary)) {
    return Object.fromEntries(Object.entries(v as Doc).map(([k, x]) => [k, shapeOf(x)]));
  }
  return '?';
}

/**
 * What the stand-in did per collection (the `benchStats` command, for the ui scenario): documents
 * a predicate was evaluated on, and the scans: queries that examined more than a tenth of the
 * collection (at least 1,000 documents) because no _id bound or indexed equality narrowed them,
 * by filter shape. Counts answered by postings alone examine none.
 */
interface CollectionWork {
  examined: number;
  scans: number;
  scanShapes: Map<string, number>;
}

class MiniMongo {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private connections = 0;
  private readonly work = new Map<string, CollectionWork>();
  /** Results larger than one reply may carry, served by getMore. */
  private readonly cursors = new Map<number, Doc[]>();
  private nextCursorId = 1;

  /**
   * The first batch of a result (at most `batchSize` documents when given, and at most
   * MAX_BATCH_BYTES), the rest kept for getMore under a cursor id (0: nothing left).
   */
  private firstBatch(docs: Doc[], batchSize: number): { batch: Doc[]; id: number } {
    const n = batchLength(docs, 0, batchSize);
    if (n >= docs.length) return { batch: docs, id: 0 };
    const id = this.nextCursorId++;
    this.cursors.set(id, docs.slice(n));
    return { batch: docs.slice(0, n), id };
  }

  private nextBatch(id: number, batchSize: number): { batch: Doc[]; id: number } {
    const rest = this.cursors.get(id);
    if (!rest) return { batch: [], id: 0 };
    const n = batchLength(rest, 0, batchSize);
    if (n >= rest.length) {
      this.cursors.delete(id);
      return { batch: rest, id: 0 };
    }
    this.cursors.set(id, rest.slice(n));
    return { batch: rest.slice(0, n), id };
  }

  private workOf(c: Collection): CollectionWork | undefined {
    for (const d of this.dbs.values()) {
      for (const [name, x] of d) {
        if (x !== c) continue;
        let w = this.work.get(name);
        if (!w) this.work.set(name, (w = { examined: 0, scans: 0, scanShapes: new Map() }));
        return w;
      }
    }
    return undefined;
  }

  /** Counts the documents one query examined, and the query as a scan when they were many. */
  private noteExamined(c: Collection, filter: Doc, examined: number): void {
    const w = this.workOf(c);
    if (!w) return;
    w.examined += examined;
    if (examined >= Math.max(1000, c.docs.size / 10)) {
      w.scans++;
      const shape = JSON.stringify(shapeOf(filter));
      w.scanShapes.set(shape, (w.scanShapes.get(shape) ?? 0) + 1);
    }
  }

  coll(db: string, name: string): Collection {
    let d = this.dbs.get(db);
    if (!d) this.dbs.set(db, (d = new Map()));
    let c = d.get(name);
    if (!c) d.set(name, (c = new Collection()));
    return c;
  }

  private query(c: Collection, filter: Doc, sort: Doc | undefined, skip: number, limit: number): Doc[] {
    const keys = Object.keys(sort ?? {});
    const byId = keys.length === 1 && keys[0] === '_id' ? (Number(sort!._id) < 0 ? -1 : 1) : 0;
    const pl = plan(c, filter);
    const pred = compileFilter(filter);
    const out: Doc[] = [];
    let skipped = 0;
    let examined = 0;
    const inOrder = byId !== 0 || keys.length === 0;
    for (const id of planIds(c, pl, byId === -1 ? -1 : 1)) {
      const d = c.docs.get(id)!;
      examined++;
      if (!pred(d)) continue;
      if (inOrder) {
        if (skipped++ < skip) continue;
        out.push(d);
        if (limit > 0 && out.length >= limit) break;
      } else out.push(d);
    }
    this.noteExamined(c, filter, examined);
    if (!inOrder) {
      const sorted = sortDocs(out, sort).slice(skip);
      return limit > 0 ? sorted.slice(0, limit) : sorted;
    }
    return out;
  }

  /** How many documents match, from the postings and the _id range alone when they decide it. */
  private count(c: Collection, filter: Doc): number {
    const pl = plan(c, filter);
    if (pl.id === undefined && pl.exact) {
      const lists = pl.postings ?? [c.ids()];
      if (lists.length === 1) {
        const [from, to] = rangeOf(lists[0], pl.range);
        return to - from;
      }
      let n = 0;
      for (const _ of planIds(c, pl, 1)) n++;
      return n;
    }
    const pred = compileFilter(filter);
    let n = 0;
    let examined = 0;
    for (const id of planIds(c, pl, 1)) {
      examined++;
      if (pred(c.docs.get(id)!)) n++;
    }
    this.noteExamined(c, filter, examined);
    return n;
  }

  command(body: Doc, seqs: Record<string, Doc[]>, connId: number): Doc {
    const name = Object.keys(body)[0];
    const db = (body.$db as string) ?? 'admin';
    const ns = (coll: string) => `${db}.${coll}`;
    const cursor = (coll: string, docs: Doc[], batchSize?: unknown) => {
      const { batch, id } = this.firstBatch(docs, Number(batchSize ?? 0));
      return { cursor: { firstBatch: batch, id: BSON.Long.fromNumber(id), ns: ns(coll) }, ok: 1 };
    };
    switch (name.toLowerCase()) {
      case 'hello':
      case 'ismaster':
        return {
          helloOk: true,
          ismaster: true,
          isWritablePrimary: true,
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: 48_000_000,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          connectionId: connId,
          minWireVersion: 0,
          maxWireVersion: 17,
          readOnly: false,
          ok: 1,
        };
      case 'createindexes': {
        const c = this.coll(db, String(body.createIndexes));
        for (const ix of (body.indexes as Doc[]) ?? []) {
          const first = Object.keys((ix.key as Doc) ?? {})[0];
          if (first && first !== '_id') c.indexed.add(first);
        }
        return { ok: 1 };
      }
      case 'benchstats':
        return {
          collections: Object.fromEntries(
            [...this.work].map(([name, w]) => [name, { examined: w.examined, scans: w.scans, scanShapes: Object.fromEntries(w.scanShapes) }]),
          ),
          ok: 1,
        };
      case 'ping':
      case 'endsessions':
      case 'create':
      case 'dropindexes':
        return { ok: 1 };
      case 'buildinfo':
        return { version: '6.0.0-mini', versionArray: [6, 0, 0, 0], ok: 1 };
      case 'getparameter':
      case 'serverstatus':
      case 'hostinfo':
        return { ok: 1 };
      case 'killcursors': {
        const ids = ((body.cursors as unknown[]) ?? []).map((c) => Number(c));
        for (const id of ids) this.cursors.delete(id);
        return { cursorsKilled: ids.map((id) => BSON.Long.fromNumber(id)), ok: 1 };
      }
      case 'getmore': {
        const id = Number(body.getMore);
        const { batch, id: next } = this.nextBatch(id, Number(body.batchSize ?? 0));
        return { cursor: { nextBatch: batch, id: BSON.Long.fromNumber(next), ns: ns(String(body.collection)) }, ok: 1 };
      }
      case 'listcollections':
        return cursor(
          '$cmd.listCollections',
          [...(this.dbs.get(db)?.keys() ?? [])].map((n) => ({ name: n, type: 'collection', options: {} })),
        );
      case 'listindexes':
        return cursor(String(body.listIndexes), [{ v: 2, key: { _id: 1 }, name: '_id_' }]);
      case 'dropdatabase':
        this.dbs.delete(db);
        return { ok: 1 };
      case 'drop':
        this.dbs.get(db)?.delete(String(body.drop));
        return { ok: 1 };
      case 'find': {
        const c = this.coll(db, String(body.find));
        const limit = Math.abs(Number(body.limit ?? 0)) || (body.singleBatch ? Number(body.batchSize ?? 0) : 0);
        const docs = this.query(c, (body.filter as Doc) ?? {}, body.sort as Doc, Number(body.skip ?? 0), limit);
        return cursor(
          String(body.find),
          docs.map((d) => project(d, body.projection as Doc)),
          body.batchSize,
        );
      }
      case 'count': {
        const c = this.coll(db, String(body.count));
        if (!body.skip && !body.limit) return { n: this.count(c, (body.query as Doc) ?? {}), ok: 1 };
        return { n: this.query(c, (body.query as Doc) ?? {}, undefined, Number(body.skip ?? 0), Number(body.limit ?? 0)).length, ok: 1 };
      }
      case 'aggregate':
        return cursor(String(body.aggregate), this.aggregate(this.coll(db, String(body.aggregate)), body.pipeline as Doc[]), (body.cursor as Doc)?.batchSize);
      case 'insert': {
        const c = this.coll(db, String(body.insert));
        const docs = (body.documents as Doc[]) ?? seqs.documents ?? [];
        const writeErrors: Doc[] = [];
        let n = 0;
        docs.forEach((d, index) => {
          d._id ??= new BSON.ObjectId();
          if (c.docs.has(key(d._id)))
            writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error collection: ${db}.${body.insert} index: _id_` });
          else {
            c.add(d);
            n++;
          }
        });
        return writeErrors.length ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
      }
      case 'update': {
        const c = this.coll(db, String(body.update));
        const updates = (body.updates as Doc[]) ?? seqs.updates ?? [];
        let n = 0;
        let nModified = 0;
        const upserted: Doc[] = [];
        updates.forEach((up, index) => {
          const q = (up.q as Doc) ?? {};
          const u = up.u as Doc;
          const found = this.query(c, q, undefined, 0, up.multi ? 0 : 1);
          if (found.length) {
            for (const d of found) c.update(d, () => applyUpdate(d, u, false));
            n += found.length;
            nModified += found.length;
          } else if (up.upsert) {
            const doc: Doc = {};
            for (const [k, v] of Object.entries(q)) if (!k.startsWith('$') && !isOperatorDoc(v)) setPath(doc, k, v);
            applyUpdate(doc, u, true);
            doc._id ??= new BSON.ObjectId();
            c.add(doc);
            n++;
            upserted.push({ index, _id: doc._id });
          }
        });
        return upserted.length ? { n, nModified, upserted, ok: 1 } : { n, nModified, ok: 1 };
      }
      case 'delete': {
        const c = this.coll(db, String(body.delete));
        let n = 0;
        for (const del of (body.deletes as Doc[]) ?? seqs.deletes ?? []) {
          const found = this.query(c, (del.q as Doc) ?? {}, undefined, 0, Number(del.limit ?? 0));
          for (const d of found) c.remove(key(d._id));
          n += found.length;
        }
        return { n, ok: 1 };
      }
      default:
        process.stderr.write(`mini-mongo: unsupported command ${name}\n`);
        return { ok: 0, errmsg: `no such command: '${name}'`, code: 59, codeName: 'CommandNotFound' };
    }
  }

  private aggregate(c: Collection, pipeline: Doc[]): Doc[] {
    let docs: Doc[] | undefined;
    let filter: Doc = {};
    let sort: Doc | undefined;
    let skip = 0;
    let limit = 0;
    const rest: Doc[] = [];
    // Leading $match/$sort/$skip/$limit go to the query; $group and $count are applied after.
    for (const stage of pipeline) {
      const [op, arg] = Object.entries(stage)[0];
      if (rest.length === 0 && op === '$match') filter = arg as Doc;
      else if (rest.length === 0 && op === '$sort') sort = arg as Doc;
      else if (rest.length === 0 && op === '$skip') skip = Number(arg);
      else if (rest.length === 0 && op === '$limit') limit = Number(arg);
      else rest.push(stage);
    }
    const onlyCount = rest.length === 1 && Object.keys(rest[0])[0] === '$group' && !sort && !skip && !limit;
    const g0 = onlyCount ? (rest[0].$group as Doc) : undefined;
    // A key naming no field (countDocuments groups by null) is one row: counted, not collected.
    const constantKey = g0 !== undefined && !JSON.stringify(g0._id ?? null).includes('"$');
    if (g0 && constantKey && Object.entries(g0).every(([f, acc]) => f === '_id' || acc === 1 || typeof (acc as Doc).$sum === 'number')) {
      // countDocuments: counted, not collected.
      const g = rest[0].$group as Doc;
      const n = this.count(c, filter);
      const out: Doc = { _id: g._id };
      for (const [field, acc] of Object.entries(g)) if (field !== '_id') out[field] = n * Number((acc as Doc).$sum);
      return n ? [out] : [];
    }
    docs = this.query(c, filter, sort, skip, limit);
    for (const stage of rest) {
      const [op, arg] = Object.entries(stage)[0];
      if (op === '$group') {
        docs = group(docs, arg as Doc);
      } else if (op === '$count') {
        docs = [{ [String(arg)]: docs.length }];
      } else if (op === '$project') {
        docs = docs.map((d) => project(d, arg as Doc));
      } else throw new Error(`unsupported aggregation stage ${op}`);
    }
    return docs;
  }

  serve(port: number): Promise<number> {
    const server = net.createServer((sock) => this.connection(sock));
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  }

  private connection(sock: net.Socket): void {
    const connId = ++this.connections;
    let buf: Buffer = Buffer.alloc(0);
    // Chunks of a large message (an insert of many documents) wait here until it is whole:
    // concatenating at every chunk would copy the message once per chunk.
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    sock.on('data', (chunk: Buffer) => {
      if (buf.length >= 4 && pendingBytes + chunk.length < buf.readInt32LE(0) - buf.length) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        return;
      }
      buf = Buffer.concat([buf, ...pending, chunk]);
      pending.length = 0;
      pendingBytes = 0;
      while (buf.length >= 16) {
        const len = buf.readInt32LE(0);
        if (buf.length < len) break;
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        const reply = this.message(msg, connId);
        if (reply) sock.write(reply);
      }
    });
  }

  private message(msg: Buffer, connId: number): Buffer | undefined {
    const requestId = msg.readInt32LE(4);
    const opCode = msg.readInt32LE(12);
    const run = (body: Doc, seqs: Record<string, Doc[]>): Doc => {
      try {
        return this.command(body, seqs, connId);
      } catch (err) {
        return { ok: 0, errmsg: (err as Error).message, code: 2, codeName: 'BadValue' };
      }
    };
    if (opCode === OP_MSG) {
      const flags = msg.readUInt32LE(16);
      const end = flags & 1 ? msg.length - 4 : msg.length;
      let off = 20;
      let body: Doc = {};
      const seqs: Record<string, Doc[]> = {};
      while (off < end) {
        const kind = msg[off++];
        if (kind === 0) {
          const size = msg.readInt32LE(off);
          body = BSON.deserialize(msg.subarray(off, off + size));
          off += size;
        } else {
          const size = msg.readInt32LE(off);
          const stop = off + size;
          let p = off + 4;
          const z = msg.indexOf(0, p);
          const id = msg.toString('utf8', p, z);
          p = z + 1;
          const docs: Doc[] = [];
          while (p < stop) {
            const ds = msg.readInt32LE(p);
            docs.push(BSON.deserialize(msg.subarray(p, p + ds)));
            p += ds;
          }
          seqs[id] = docs;
          off = stop;
        }
      }
      const result = run(body, seqs);
      if (flags & 2) return undefined; // moreToCome: the client wants no answer
      const out = BSON.serialize(result);
      const head = Buffer.alloc(21);
      head.writeInt32LE(21 + out.length, 0);
      head.writeInt32LE(requestId, 8);
      head.writeInt32LE(OP_MSG, 12);
      head.writeUInt32LE(0, 16);
      head[20] = 0;
      return Buffer.concat([head, out]);
    }
    if (opCode === OP_QUERY) {
      let off = 20;
      const z = msg.indexOf(0, off);
      const ns = msg.toString('utf8', off, z);
      off = z + 1 + 8;
      const size = msg.readInt32LE(off);
      const query = BSON.deserialize(msg.subarray(off, off + size));
      const body = (query.$query as Doc) ?? query;
      body.$db ??= ns.split('.')[0];
      const out = BSON.serialize(run(body, {}));
      const head = Buffer.alloc(36);
      head.writeInt32LE(36 + out.length, 0);
      head.writeInt32LE(requestId, 8);
      head.writeInt32LE(OP_REPLY, 12);
      head.writeInt32LE(0, 16);
      head.writeBigInt64LE(0n, 20);
      head.writeInt32LE(0, 28);
      head.writeInt32LE(1, 32);
      return Buffer.concat([head, out]);
    }
    process.stderr.write(`mini-mongo: unsupported opcode ${opCode}\n`);
    return undefined;
  }
}

if (require.main === module) {
  const m = new MiniMongo();
  void m.serve(Number(process.argv[2] ?? 0)).then((port) => process.stdout.write(`ready mongodb://127.0.0.1:${port}/\n`));
  // Ends with the process that started it (stdin closes).
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
