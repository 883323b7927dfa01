import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { mongo, type Connection } from 'mongoose';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** GridFS bucket of uploaded package files: collections `package_files.files` and `package_files.chunks`. */
export const PACKAGE_FILES_BUCKET = 'package_files';

/**
 * The bytes of uploaded package files, in GridFS format (readable by any GridFS tool). Written as a
 * stream, chunk by chunk, never held whole; a write that fails part-way (too large, a wrong hash
 * detected by the caller's stream, a database fault) leaves no chunk behind.
 */
export abstract class PackageFilesRepository {
  /** Streams `source` into a new stored file; resolves with its id. On any error nothing is kept and the error is rethrown. */
  abstract store(filename: string, source: Readable, metadata: Record<string, unknown>): Promise<string>;
  /** The whole stored file as a stream. */
  abstract open(id: string): Readable;
  /** Removes a stored file and its chunks; a file already gone is fine. */
  abstract remove(id: string): Promise<void>;
}

@Injectable()
export class GridFsPackageFilesRepository extends PackageFilesRepository {
  private bucketOnce?: mongo.GridFSBucket;

  constructor(@InjectConnection() private readonly connection: Connection) {
    super();
  }

  private get bucket(): mongo.GridFSBucket {
    // The driver's Db comes from the connection once it is open (the server opens it before serving).
    this.bucketOnce ??= new mongo.GridFSBucket(this.connection.db!, { bucketName: PACKAGE_FILES_BUCKET });
    return this.bucketOnce;
  }

  async store(filename: string, source: Readable, metadata: Record<string, unknown>): Promise<string> {
    const upload = this.bucket.openUploadStream(filename, { metadata });
    try {
      await pipeline(source, upload);
      return upload.id.toHexString();
    } catch (err) {
      // A chunk insert may still be on its way when the source fails (over the limit, say): wait for it,
      // so that the delete below finds every chunk and the refusal really leaves nothing stored.
      await settled(upload);
      // abort() deletes the chunks written so far; should that fail too, remove() is tried once more.
      await upload.abort().catch(() => this.remove(upload.id.toHexString()).catch(() => undefined));
      throw err;
    }
  }

  open(id: string): Readable {
    return this.bucket.openDownloadStream(new mongo.ObjectId(id));
  }

  async remove(id: string): Promise<void> {
    try {
      await this.bucket.delete(new mongo.ObjectId(id));
    } catch (err) {
      // The driver reports a file without a files document; its chunks are deleted all the same.
      if (!/File not found/i.test(String((err as Error).message))) throw err;
    }
  }
}

/** Resolves once the upload stream has no chunk insert in flight (at most 10 s: a database that stopped answering). */
async function settled(upload: mongo.GridFSBucketWriteStream): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (upload.state.outstandingRequests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}
