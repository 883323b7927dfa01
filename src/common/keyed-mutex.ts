/**
 * Runs async work one at a time per key, in arrival order. Writes that commit with a
 * compare-and-set need it on a database whose updates are not atomic (see DatabaseProfile):
 * there two concurrent updates with the same filter can both match. Serialising each
 * resource's read-check-commit within the process keeps a single-process server correct.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.runAll([key], work);
  }

  /**
   * Runs work holding several keys at once (a bulk write over many documents). Every key is
   * queued in the same synchronous step, so two holders of overlapping key sets always queue in
   * the same order and cannot deadlock.
   */
  async runAll<T>(keys: Iterable<string>, work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous: Promise<void>[] = [];
    const mineTails = new Map<string, Promise<void>>();
    for (const key of new Set(keys)) {
      const prev = this.tails.get(key) ?? Promise.resolve();
      previous.push(prev);
      const tail = prev.then(() => mine);
      this.tails.set(key, tail);
      mineTails.set(key, tail);
    }
    await Promise.all(previous);
    try {
      return await work();
    } finally {
      release();
      for (const [key, tail] of mineTails) if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work running or waiting (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
