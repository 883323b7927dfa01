import * as fs from 'node:fs';
import { Counter, Gauge, register } from 'prom-client';

/** Bytes of one block: the unit read from a local copy and kept in memory. */
export const PACKAGE_BLOCK_BYTES = 256 * 1024;

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

interface Block {
  /** The block's bytes once read; every download of the file shares them. */
  bytes: Promise<Buffer>;
  size: number;
  /** Read (a block still being read is never dropped: the downloads asking at that moment share the read). */
  ready: boolean;
}

/**
 * The bytes of local package copies in memory, in blocks of PACKAGE_BLOCK_BYTES, shared by every
 * download of the same file and bounded by PACKAGE_MEMORY_CACHE_BYTES (least recently used
 * blocks leave first).
 *
 * Why: a fleet downloading one file at once through a file stream per download reads it again
 * for every agent in 64 KiB pieces, each a round trip through libuv's thread pool and a fresh
 * buffer for the collector; profiled with 1,000 agents downloading 20 MiB (bench
 * package-download), that was half of the server's event loop (fs read 33 %, GC 15 %) and
 * the heartbeats waited behind it. A block here is read from disk once and sent to every agent
 * as slices of the same memory. Memory stays bounded whatever the number of downloads: at most
 * the bound, plus at most one block per download still being written to its socket after it
 * left. A bound of 0 keeps nothing: a block is read once for the downloads that ask for it at
 * the same moment.
 * Copies are named by content (SHA-256) and never change, so a block is never stale.
 */
export class PackageFileBlocks {
  /** Blocks by `sha256:index`, least recently used first (Map order). */
  private readonly blocks = new Map<string, Block>();
  private bytesHeld = 0;
  private readonly diskReads = once(
    'opamp_package_block_reads_total',
    () =>
      new Counter({
        name: 'opamp_package_block_reads_total',
        help: 'Blocks of package files read from the local disk copy into memory (PACKAGE_MEMORY_CACHE_BYTES)',
      }),
  );
  private readonly heldGauge = once(
    'opamp_package_block_cache_bytes',
    () => new Gauge({ name: 'opamp_package_block_cache_bytes', help: 'Bytes of package files held in memory for downloads (PACKAGE_MEMORY_CACHE_BYTES)' }),
  );

  constructor(private readonly maxBytes: number) {}

  /**
   * Up to `max` bytes of the file at `path` (whose content is `sha256`, `size` bytes) from
   * `offset`, never past the end of the block holding `offset`: a view of shared memory, which
   * the caller must not change.
   */
  async slice(sha256: string, path: string, size: number, offset: number, max: number): Promise<Buffer> {
    const index = Math.floor(offset / PACKAGE_BLOCK_BYTES);
    const bytes = await this.block(sha256, path, size, index);
    const from = offset - index * PACKAGE_BLOCK_BYTES;
    return bytes.subarray(from, Math.min(bytes.length, from + max));
  }

  /** Forgets the blocks of one file (its local copy is removed). */
  forget(sha256: string): void {
    for (const [key, b] of [...this.blocks]) {
      if (!key.startsWith(`${sha256}:`)) continue;
      this.blocks.delete(key);
      this.bytesHeld -= b.size;
    }
    this.heldGauge.set(this.bytesHeld);
  }

  /** Bytes held now (for tests and the gauge). */
  held(): number {
    return this.bytesHeld;
  }

  private block(sha256: string, path: string, size: number, index: number): Promise<Buffer> {
    const key = `${sha256}:${index}`;
    const known = this.blocks.get(key);
    if (known) {
      this.blocks.delete(key);
      this.blocks.set(key, known); // most recently used last
      return known.bytes;
    }
    const length = Math.max(0, Math.min(PACKAGE_BLOCK_BYTES, size - index * PACKAGE_BLOCK_BYTES));
    const block: Block = { bytes: this.read(path, index * PACKAGE_BLOCK_BYTES, length), size: length, ready: false };
    this.blocks.set(key, block);
    this.bytesHeld += length;
    const drop = () => {
      if (this.blocks.get(key) !== block) return;
      this.blocks.delete(key);
      this.bytesHeld -= length;
      this.heldGauge.set(this.bytesHeld);
    };
    // A failed read is not remembered: the next download reads again.
    block.bytes.then(() => {
      block.ready = true;
      this.trim();
    }, drop);
    this.heldGauge.set(this.bytesHeld);
    return block.bytes;
  }

  /** Drops least recently used blocks that have been read while over the bound. */
  private trim(): void {
    for (const [key, b] of [...this.blocks]) {
      if (this.bytesHeld <= this.maxBytes) break;
      if (!b.ready) continue;
      this.blocks.delete(key);
      this.bytesHeld -= b.size;
    }
    this.heldGauge.set(this.bytesHeld);
  }

  private async read(path: string, position: number, length: number): Promise<Buffer> {
    this.diskReads.inc();
    const handle = await fs.promises.open(path, 'r');
    try {
      const bytes = Buffer.allocUnsafeSlow(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await handle.read(bytes, got, length - got, position + got);
        if (bytesRead === 0) throw new Error(`${path} ended at ${position + got} bytes, before the block's end at ${position + length}`);
        got += bytesRead;
      }
      return bytes;
    } finally {
      await handle.close();
    }
  }
}
