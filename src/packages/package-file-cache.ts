import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { ServableFile } from './agent-packages.service';
import { PackageFileBlocks } from './package-file-blocks';
import { PackageFilesRepository } from './package-files.repository';

/** One download's hold on a local copy: its bytes by slices, and the release when the download ends. */
export interface OpenCopy {
  path: string;
  /** Up to `max` bytes from `offset` (fewer at a block's end), shared memory not to be changed. */
  slice(offset: number, max: number): Promise<Buffer>;
  release(): void;
}

/**
 * This replica's copy on local disk of the uploaded package files it has served, named by their
 * SHA-256 (DATA_DIR/package-cache). A file is read from the database once per replica — streamed,
 * checked against its hash, then renamed into place — and every download, whole or a range, is
 * served from that copy, through the blocks held in memory (PackageFileBlocks). Stored files
 * never change, so a copy is never stale.
 *
 * Why: on FerretDB 1.24 every chunk lookup of GridFS scans the whole chunks collection (measured:
 * 40–600 ms per chunk at 40 MB stored; a whole 20 MB file 2.9 s), so a fleet reading chunks from
 * the database at once would stall it and the heartbeats behind it. On MongoDB the copy spares
 * the database the same herd. Downloads are never buffered in memory either way.
 */
@Injectable()
export class PackageFileCache {
  private readonly logger = new Logger(PackageFileCache.name);
  private readonly dir: string;
  /** Copies being made, by hash: concurrent downloads of one file wait for one copy. */
  private readonly filling = new Map<string, Promise<string>>();
  /** Copies on disk, by hash, least recently served first (Map order): size and downloads reading it now. */
  private readonly copies = new Map<string, { size: number; readers: number }>();
  private readonly maxBytes: number;
  private readonly blocks: PackageFileBlocks;

  constructor(
    private readonly files: PackageFilesRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.dir = path.join(config.dataDir, 'package-cache');
    this.maxBytes = config.packages.cacheMaxBytes;
    this.blocks = new PackageFileBlocks(config.packages.memoryCacheBytes);
  }

  /**
   * The local copy of the file for one download: its path and a release to call when the download
   * ends. A copy being read is never evicted; the others go, least recently served first, while
   * the copies exceed PACKAGE_CACHE_MAX_BYTES.
   */
  async open(file: ServableFile): Promise<OpenCopy> {
    const target = await this.local(file);
    const entry = this.copies.get(file.sha256) ?? { size: file.size, readers: 0 };
    this.copies.delete(file.sha256);
    this.copies.set(file.sha256, entry); // most recently served last
    entry.readers++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      entry.readers--;
      void this.evict();
    };
    await this.evict();
    return { path: target, release, slice: (offset, max) => this.blocks.slice(file.sha256, target, file.size, offset, max) };
  }

  private async evict(): Promise<void> {
    let total = 0;
    for (const c of this.copies.values()) total += c.size;
    for (const [sha, c] of [...this.copies]) {
      if (total <= this.maxBytes) return;
      if (c.readers > 0) continue;
      this.copies.delete(sha);
      this.blocks.forget(sha);
      total -= c.size;
      await fs.promises.rm(path.join(this.dir, sha), { force: true }).catch(() => undefined);
      this.logger.log(`package file ${sha} (${c.size} bytes) evicted from this replica's cache`);
    }
  }

  /** The local path of the file's bytes, copied from the database first when this replica has none. */
  async local(file: ServableFile): Promise<string> {
    const target = path.join(this.dir, file.sha256);
    const st = await fs.promises.stat(target).catch(() => undefined);
    if (st?.size === file.size) return target;
    let fill = this.filling.get(file.sha256);
    if (!fill) {
      fill = this.fill(file, target).finally(() => this.filling.delete(file.sha256));
      this.filling.set(file.sha256, fill);
    }
    return fill;
  }

  /** Forgets the local copy of a file (its version was deleted and no other names the same bytes). */
  async forget(sha256: string): Promise<void> {
    this.copies.delete(sha256);
    this.blocks.forget(sha256);
    await fs.promises.rm(path.join(this.dir, sha256), { force: true });
  }

  private async fill(file: ServableFile, target: string): Promise<string> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(this.files.open(file.storedId), meter, fs.createWriteStream(partial));
      const digest = hash.digest('hex');
      if (digest !== file.sha256 || size !== file.size) {
        throw new Error(`stored file ${file.storedId} reads as ${size} bytes with SHA-256 ${digest}, not ${file.size} bytes with ${file.sha256}`);
      }
      await fs.promises.rename(partial, target);
      this.logger.log(`package file ${file.sha256} (${size} bytes) copied to this replica's cache`);
      return target;
    } catch (err) {
      await fs.promises.rm(partial, { force: true }).catch(() => undefined);
      throw err;
    }
  }
}
