/**
 * Runs async work one at a time per key, in arrival order. The REST writes commit with a
 * compare-and-set on resourceVersion, which MongoDB applies atomically but FerretDB 1.x (the
 * embedded and test database) does not: two concurrent updates with the same filter can both
 * match there. Serialising each resource's read-check-commit within the process keeps a
 * single-process server correct on either; several replicas need MongoDB, whose CAS is atomic.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work running or waiting (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
