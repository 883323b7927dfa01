import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register } from 'prom-client';
import { PACKAGE_BLOCK_BYTES, PackageFileBlocks } from './package-file-blocks';

/** Every byte of the file read through slices of at most `max` bytes, as a download does. */
async function readAll(blocks: PackageFileBlocks, sha: string, file: string, size: number, max: number, from = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let at = from; at < size;) {
    const piece = await blocks.slice(sha, file, size, at, max);
    expect(piece.length).toBeGreaterThan(0);
    parts.push(Buffer.from(piece));
    at += piece.length;
  }
  return Buffer.concat(parts);
}

async function diskReads(): Promise<number> {
  const m = await register.getSingleMetric('opamp_package_block_reads_total')!.get();
  return m.values[0]?.value ?? 0;
}

describe('PackageFileBlocks', () => {
  let dir: string;
  let file: string;
  let bytes: Buffer;
  let sha: string;
  // 3.5 blocks: the last block is short.
  const size = PACKAGE_BLOCK_BYTES * 3 + PACKAGE_BLOCK_BYTES / 2;

  beforeAll(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'package-blocks-'));
    bytes = randomBytes(size);
    sha = createHash('sha256').update(bytes).digest('hex');
    file = path.join(dir, sha);
    await fs.promises.writeFile(file, bytes);
  });
  afterAll(() => fs.promises.rm(dir, { recursive: true, force: true }));

  it('gives back the exact bytes of the file, from any offset and across block ends', async () => {
    const blocks = new PackageFileBlocks(64 * 1024 * 1024);
    expect((await readAll(blocks, sha, file, size, 64 * 1024)).equals(bytes)).toBe(true);
    const from = PACKAGE_BLOCK_BYTES - 1000;
    expect((await readAll(blocks, sha, file, size, 100_000, from)).equals(bytes.subarray(from))).toBe(true);
    // A slice never crosses the end of its block.
    expect((await blocks.slice(sha, file, size, PACKAGE_BLOCK_BYTES - 10, 64 * 1024)).length).toBe(10);
  });

  it('reads each block from disk once for many downloads of the same file at once', async () => {
    const blocks = new PackageFileBlocks(64 * 1024 * 1024);
    const before = await diskReads();
    const copies = await Promise.all(Array.from({ length: 50 }, () => readAll(blocks, sha, file, size, 64 * 1024)));
    expect(copies.every((c) => c.equals(bytes))).toBe(true);
    expect((await diskReads()) - before).toBe(4);
    // And again later, from memory.
    await readAll(blocks, sha, file, size, 64 * 1024);
    expect((await diskReads()) - before).toBe(4);
    expect(blocks.held()).toBe(size);
  });

  it('holds no more than its bound, dropping the least recently used blocks, and still serves the right bytes', async () => {
    const blocks = new PackageFileBlocks(2 * PACKAGE_BLOCK_BYTES);
    expect((await readAll(blocks, sha, file, size, 64 * 1024)).equals(bytes)).toBe(true);
    expect(blocks.held()).toBeLessThanOrEqual(2 * PACKAGE_BLOCK_BYTES);
    const before = await diskReads();
    // The first block left (least recently used): asking for it reads it again.
    expect((await blocks.slice(sha, file, size, 0, 10)).equals(bytes.subarray(0, 10))).toBe(true);
    expect((await diskReads()) - before).toBe(1);
  });

  it('with a bound of 0 keeps nothing once read', async () => {
    const blocks = new PackageFileBlocks(0);
    expect((await readAll(blocks, sha, file, size, 64 * 1024)).equals(bytes)).toBe(true);
    expect(blocks.held()).toBe(0);
  });

  it('forgets the blocks of a removed copy, and a failed read is not remembered', async () => {
    const blocks = new PackageFileBlocks(64 * 1024 * 1024);
    await readAll(blocks, sha, file, size, 64 * 1024);
    blocks.forget(sha);
    expect(blocks.held()).toBe(0);
    const missing = path.join(dir, 'gone');
    await expect(blocks.slice('0'.repeat(64), missing, size, 0, 10)).rejects.toThrow();
    expect(blocks.held()).toBe(0);
    await fs.promises.writeFile(missing, bytes);
    expect((await blocks.slice('0'.repeat(64), missing, size, 0, 10)).equals(bytes.subarray(0, 10))).toBe(true);
  });
});
