import mongoose, { Connection, Model } from 'mongoose';
import { testDatabaseUri } from '../../../test/support/test-server';
import { ContentBody, ContentBodySchema } from './content-body.schema';
import { MongooseContentBodiesRepository } from './content-bodies.repository';
import { contentId, parseContentId, sha256Hex } from './content-id';
import { ContentStore } from './content-store';

const HOUR = 3_600_000;

/**
 * The content-addressed store on the real test database: a body is stored once however many
 * puts name it, read back by id (one or many), and swept by the GC only when no reference
 * source names it and it is older than the grace period.
 */
describe('ContentStore (bodies stored once by content, mark-and-sweep GC)', () => {
  let conn: Connection;
  let bodies: Model<ContentBody>;
  let inserts = 0;

  beforeAll(async () => {
    conn = await mongoose.createConnection(testDatabaseUri('content'), { monitorCommands: true }).asPromise();
    bodies = conn.model<ContentBody>(ContentBody.name, ContentBodySchema);
    await bodies.init();
    conn.getClient().on('commandStarted', (e) => {
      if (e.commandName === 'insert') inserts++;
    });
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
  });
  beforeEach(async () => {
    await bodies.deleteMany({});
  });

  const store = (graceMs = HOUR) => new ContentStore(new MongooseContentBodiesRepository(bodies), { maxBatch: 90, graceMs });
  const config = (text: string) => ({ hash: sha256Hex(text), body: [{ name: 'c.yaml', contentType: 'text/yaml', body: Buffer.from(text) }] });

  it('stores a body once for any number of puts, concurrent or later, from one store or two (two replicas)', async () => {
    const a = store();
    const b = store();
    const c = config('receivers: {otlp: {}}\n'.repeat(400));
    inserts = 0;
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).put('effective-config', c.hash, c.body, 8000)));
    expect(new Set(ids)).toEqual(new Set([`effective-config:${c.hash}`]));
    // One insert per store (the other finds it stored); the 199 other puts cost nothing.
    expect(inserts).toBeLessThanOrEqual(2);
    inserts = 0;
    await a.put('effective-config', c.hash, c.body, 8000);
    expect(inserts).toBe(0);
    expect(await bodies.countDocuments({})).toBe(1);
    const [stored] = await bodies.find({}).lean();
    expect(stored).toMatchObject({ _id: ids[0], kind: 'effective-config', size: 8000 });
  });

  it('groups the puts of different bodies that arrive together into one insert', async () => {
    const s = store();
    inserts = 0;
    const many = Array.from({ length: 50 }, (_, i) => config(`body ${i}`));
    await Promise.all(many.map((c) => s.put('health', c.hash, { tree: c.hash }, 10)));
    expect(inserts).toBe(1);
    expect(await bodies.countDocuments({})).toBe(50);
  });

  it('reads bodies back by id, one or many at once, and leaves out ids it does not hold', async () => {
    const s = store();
    const x = config('x: 1');
    const y = config('y: 2');
    const idX = await s.put('effective-config', x.hash, x.body, 4);
    const idY = await s.put('remote-config', y.hash, 'y: 2', 4);
    const one = (await s.get(idX)) as { body: { buffer: Uint8Array } }[];
    expect(Buffer.from(one[0].body.buffer).toString()).toBe('x: 1');
    const missing = contentId('health', sha256Hex('nothing'));
    const many = await s.getMany([idX, idY, missing, idY]);
    expect([...many.keys()].sort()).toEqual([idX, idY].sort());
    expect(many.get(idY)).toBe('y: 2');
    expect(await s.get(missing)).toBeUndefined();
  });

  it('sweeps a body no reference source names once it is older than the grace period; keeps referenced and recent ones', async () => {
    const s = store(HOUR);
    const refs = new Set<string>();
    s.referencedBy('test', async () => refs);
    const t0 = Date.now();
    const used = config('used');
    const orphan = config('orphan');
    const idUsed = await s.put('effective-config', used.hash, used.body, 4, t0);
    await s.put('effective-config', orphan.hash, orphan.body, 6, t0);
    refs.add(idUsed);

    // Within the grace period nothing is swept, referenced or not (a body is written before the document that refers to it).
    expect(await s.collect(t0 + HOUR - 1000)).toEqual({ candidates: 0, referenced: 0, swept: 0 });
    expect(await bodies.countDocuments({})).toBe(2);

    // Past it, the orphan goes and the referenced body stays.
    expect(await s.collect(t0 + HOUR + 1000)).toEqual({ candidates: 2, referenced: 1, swept: 1 });
    expect((await bodies.find({}, { _id: 1 }).lean()).map((d) => d._id)).toEqual([idUsed]);

    // When nothing refers to it any more, it goes too.
    refs.clear();
    expect(await s.collect(t0 + HOUR + 2000)).toMatchObject({ swept: 1 });
    expect(await bodies.countDocuments({})).toBe(0);
    // And a later put stores it again (the store forgot it had it).
    await s.put('effective-config', used.hash, used.body, 4);
    expect(await bodies.countDocuments({ _id: idUsed })).toBe(1);
  });

  it('refreshes an old body that is put again, so a new reference to it is not swept under it', async () => {
    const writer = store(HOUR);
    const gc = store(HOUR);
    gc.referencedBy('none', async () => []);
    const c = config('old but wanted again');
    const t0 = Date.now() - 2 * HOUR;
    const id = await writer.put('effective-config', c.hash, c.body, 4, t0);
    // Another replica (or this one after a restart) puts it now: it is there, and touched.
    await store(HOUR).put('effective-config', c.hash, c.body, 4);
    expect(await gc.collect(Date.now())).toEqual({ candidates: 0, referenced: 0, swept: 0 });
    expect(await bodies.countDocuments({ _id: id })).toBe(1);
  });

  it('names bodies <kind>:<sha256 hex> and refuses anything else as a hash', () => {
    const h = sha256Hex('a');
    expect(contentId('remote-config', h)).toBe(`remote-config:${h}`);
    expect(parseContentId(`health:${h}`)).toEqual({ kind: 'health', hash: h });
    expect(parseContentId(`other:${h}`)).toBeUndefined();
    expect(() => contentId('health', 'xyz')).toThrow(/sha256/);
  });
});
