/**
 * Lookups verified against the database recently enough to be used again without asking it:
 * the credential checks every request or every agent connection makes. An entry is fresh for
 * `freshMs` after it was verified; a change made on this replica forgets the entries it affects
 * at once (`forget`, `forgetWhere`), a change made on another replica is seen once they go stale.
 * Bounded: past `max` entries the oldest is dropped, so a flood of distinct keys costs lookups,
 * never memory.
 */
export class FreshCache<K, V> {
  private readonly entries = new Map<K, { value: V; verifiedAt: number }>();

  constructor(
    readonly freshMs: number,
    private readonly max: number,
  ) {}

  /** The value, when verified within `freshMs` of `now`. */
  fresh(key: K, now = Date.now()): V | undefined {
    const e = this.entries.get(key);
    return e && now - e.verifiedAt < this.freshMs ? e.value : undefined;
  }

  /** The entry however old (for callers that accept a stale one, e.g. while the database is unreachable). */
  entry(key: K): { value: V; verifiedAt: number } | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V, now = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, verifiedAt: now });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as K);
  }

  forget(key: K): void {
    this.entries.delete(key);
  }

  forgetWhere(test: (value: V, key: K) => boolean): void {
    for (const [k, e] of this.entries) if (test(e.value, k)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
