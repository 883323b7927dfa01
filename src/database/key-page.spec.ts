import mongoose, { Connection, Model, Schema } from 'mongoose';
import { InvalidError } from '../common/domain-errors';
import { decodeNumberCursor, decodeStringCursor, resourceList } from '../common/resource-list';
import { testDatabaseUri } from '../../test/support/test-server';
import { pageByKey } from './key-page';

interface Named {
  _id: string;
  deletedAt: Date | null;
}
interface Revision {
  _id: string;
  config: string;
  revision: number;
}

/**
 * The one page helper every list of the API uses, on the real test database (FerretDB): the
 * remaining count is exact on every page, a client walking `continue` tokens sees every item
 * once in order, and a token that is not one of ours is a 400 that names `continue`.
 */
describe('pageByKey (cursor pages with a remaining count)', () => {
  let conn: Connection;
  let named: Model<Named>;
  let revisions: Model<Revision>;
  let commands = 0;

  beforeAll(async () => {
    conn = await mongoose.createConnection(testDatabaseUri('key_page'), { monitorCommands: true }).asPromise();
    conn.getClient().on('commandStarted', (e) => {
      if (e.commandName === 'find' || e.commandName === 'aggregate' || e.commandName === 'count') commands++;
    });
    named = conn.model<Named>('Named', new Schema<Named>({ _id: String, deletedAt: { type: Date, default: null } }, { versionKey: false }));
    revisions = conn.model<Revision>('Revision', new Schema<Revision>({ _id: String, config: String, revision: Number }, { versionKey: false }));
    // Seven live names and two deleted ones in between, inserted out of order.
    const live = ['g', 'a', 'e', 'c', 'b', 'f', 'd'];
    await named.insertMany([...live.map((n) => ({ _id: n, deletedAt: null })), { _id: 'bb', deletedAt: new Date() }, { _id: 'ee', deletedAt: new Date() }]);
    await revisions.insertMany([
      ...[1, 2, 3, 4, 5].map((r) => ({ _id: `web@${r}`, config: 'web', revision: r })),
      ...[1, 2].map((r) => ({ _id: `db@${r}`, config: 'db', revision: r })),
    ]);
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });

  it('walks a filtered list page by page through continue tokens, with the exact remaining count each time', async () => {
    const seen: string[] = [];
    const remainingCounts: number[] = [];
    let token: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await pageByKey(named, { filter: { deletedAt: null }, limit: 3, after: decodeStringCursor(token) });
      const list = resourceList('NamedList', page.items, page.remaining, page.items[page.items.length - 1]?._id);
      seen.push(...list.items.map((i) => i._id));
      remainingCounts.push(list.metadata.remainingItemCount);
      token = list.metadata.continue;
      if (!token) break;
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(remainingCounts).toEqual([4, 1, 0]);
  });

  it('ends without a token when the last page is exactly full', async () => {
    const first = await pageByKey(named, { limit: 3 });
    expect(first.items.map((i) => i._id)).toEqual(['a', 'b', 'bb']);
    expect(first.remaining).toBe(6);
    const last = await pageByKey(named, { limit: 3, after: 'ee' });
    expect(last.items.map((i) => i._id)).toEqual(['f', 'g']);
    const full = await pageByKey(named, { limit: 2, after: 'ee' });
    expect(full).toMatchObject({ remaining: 0 });
    expect(resourceList('NamedList', full.items, full.remaining, 'g').metadata.continue).toBeUndefined();
  });

  it('pages newest first on a numeric key (a config history), tokens round-tripping the number', async () => {
    const first = await pageByKey(revisions, { filter: { config: 'web' }, key: 'revision', direction: -1, limit: 2 });
    expect(first.items.map((r) => r.revision)).toEqual([5, 4]);
    expect(first.remaining).toBe(3);
    const token = resourceList('RevisionList', first.items, first.remaining, 4).metadata.continue;
    const second = await pageByKey(revisions, { filter: { config: 'web' }, key: 'revision', direction: -1, limit: 2, after: decodeNumberCursor(token) });
    expect(second.items.map((r) => r.revision)).toEqual([3, 2]);
    expect(second.remaining).toBe(1);
  });

  it('costs one read for a short page and two for a full one (the count runs only when something may follow)', async () => {
    commands = 0;
    await pageByKey(named, { filter: { deletedAt: null }, limit: 50 });
    expect(commands).toBe(1);
    commands = 0;
    await pageByKey(named, { filter: { deletedAt: null }, limit: 2 });
    expect(commands).toBe(2);
  });

  it('refuses a token that is not one of ours with an error naming `continue`', () => {
    const refusals = [
      () => decodeStringCursor('bm90LWEtY3Vyc29y'), // "not-a-cursor"
      () => decodeStringCursor(resourceList('X', [{}], 1, 7).metadata.continue), // a number token where names are keys
      () => decodeNumberCursor(resourceList('X', [{}], 1, 'web').metadata.continue),
    ];
    for (const refuse of refusals) {
      let caught: unknown;
      try {
        refuse();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidError);
      expect((caught as InvalidError).details).toMatchObject({ errors: [{ field: 'continue' }] });
    }
  });
});
