import type { FilterQuery, Model, UpdateQuery } from 'mongoose';

/** A document changed only by compare-and-set on its resourceVersion (the API's optimistic concurrency). */
export interface Versioned {
  _id: string;
  resourceVersion: number;
}

/**
 * Writes `fields` over the stored document iff its resourceVersion is still the one `current`
 * was read with (and it also matches `guard`, e.g. "not deleted"), raising the version by one.
 * A field given as undefined is removed. Returns the document as now stored, or undefined when
 * another write came first (the caller answers 409 or reads again and retries).
 *
 * Where the database does not apply one update atomically (see DatabaseProfile.atomicUpdates)
 * the caller runs its read-check-commit under the profile's keyedWrites() guard.
 */
export async function compareAndSet<T extends Versioned>(model: Model<T>, current: T, fields: Partial<T>, guard: FilterQuery<T> = {}): Promise<T | undefined> {
  const next: T = { ...current, ...fields, resourceVersion: current.resourceVersion + 1 };
  const set: Record<string, unknown> = { resourceVersion: next.resourceVersion };
  const unset: Record<string, ''> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'resourceVersion' || k === '_id') continue;
    if (v === undefined) unset[k] = '';
    else set[k] = v;
  }
  const update = (Object.keys(unset).length ? { $set: set, $unset: unset } : { $set: set }) as UpdateQuery<T>;
  const res = await model.updateOne({ ...guard, _id: current._id, resourceVersion: current.resourceVersion } as FilterQuery<T>, update);
  if (res.matchedCount === 0) return undefined;
  for (const k of Object.keys(unset)) delete (next as Record<string, unknown>)[k];
  return next;
}
