import mongoose, { Connection, Model, Schema } from 'mongoose';
import { testDatabaseUri } from '../../test/support/test-server';
import { compareAndSet } from './compare-and-set';

interface Doc {
  _id: string;
  resourceVersion: number;
  value?: string;
  note?: string;
  deletedAt: Date | null;
}

/**
 * The one compare-and-set of versioned resources (groups, remote configs, rollouts), on the
 * real test database: a write from a stale read is refused and loses nothing of the write that
 * came first; a guard (e.g. "not deleted") is part of the compare.
 */
describe('compareAndSet (optimistic concurrency on resourceVersion)', () => {
  let conn: Connection;
  let docs: Model<Doc>;

  beforeAll(async () => {
    conn = await mongoose.createConnection(testDatabaseUri('cas')).asPromise();
    docs = conn.model<Doc>(
      'Doc',
      new Schema<Doc>({ _id: String, resourceVersion: Number, value: String, note: String, deletedAt: { type: Date, default: null } }, { versionKey: false }),
    );
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });

  const read = async (id: string) => (await docs.findById(id).lean<Doc>())!;

  it('refuses the lost update: of two writers that read version 1, the second is turned away and the first one stays', async () => {
    await docs.create({ _id: 'a', resourceVersion: 1, value: 'v0', deletedAt: null });
    const seenByAlice = await read('a');
    const seenByBob = await read('a');

    const alice = await compareAndSet(docs, seenByAlice, { value: 'alice' });
    expect(alice).toMatchObject({ _id: 'a', resourceVersion: 2, value: 'alice' });

    const bob = await compareAndSet(docs, seenByBob, { value: 'bob' });
    expect(bob).toBeUndefined();
    expect(await read('a')).toMatchObject({ resourceVersion: 2, value: 'alice' });

    // Bob reads again and wins from the fresh read.
    expect(await compareAndSet(docs, await read('a'), { value: 'bob' })).toMatchObject({ resourceVersion: 3, value: 'bob' });
    expect(await read('a')).toMatchObject({ resourceVersion: 3, value: 'bob' });
  });

  it('makes the guard part of the compare, and removes a field given as undefined', async () => {
    await docs.create({ _id: 'b', resourceVersion: 1, value: 'x', note: 'keep me?', deletedAt: null });
    const current = await read('b');
    await docs.updateOne({ _id: 'b' }, { $set: { deletedAt: new Date() } }); // deleted meanwhile, version unchanged
    expect(await compareAndSet(docs, current, { value: 'y' }, { deletedAt: null })).toBeUndefined();
    expect(await read('b')).toMatchObject({ resourceVersion: 1, value: 'x' });

    const written = await compareAndSet(docs, await read('b'), { note: undefined, value: 'z' });
    expect(written).toMatchObject({ resourceVersion: 2, value: 'z' });
    expect(written).not.toHaveProperty('note');
    const stored = await read('b');
    expect(stored).toMatchObject({ resourceVersion: 2, value: 'z' });
    expect(stored).not.toHaveProperty('note');
  });
});
