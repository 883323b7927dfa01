import mongoose, { Connection, Model } from 'mongoose';
import { Agent, AgentSchema } from '../src/agents/agent.schema';
import { AgentWriteQueue } from '../src/agents/agent-write-queue';
import { KeyedMutex } from '../src/common/keyed-mutex';
import { testDatabaseUri } from './support/test-server';

/** FerretDB's bulk size (the test database's profile). */
const BULK_SIZE = 90;

/** The OpAMP path's write queue against the real test database (FerretDB unless MONGODB_URI is set). */
describe('AgentWriteQueue', () => {
  let conn: Connection;
  let agents: Model<Agent>;
  let queue: AgentWriteQueue;
  let bulkWrites: number;
  const errors: unknown[] = [];

  beforeAll(async () => {
    conn = await mongoose.createConnection(testDatabaseUri()).asPromise();
    agents = conn.model(Agent.name, AgentSchema);
    const locks = new KeyedMutex();
    queue = new AgentWriteQueue(
      () => {
        // Counts the bulk commands that reach the database.
        const c = agents.collection;
        return new Proxy(c, {
          get: (t, p) => (p === 'bulkWrite' ? (...a: unknown[]) => (bulkWrites++, (t.bulkWrite as (...x: unknown[]) => unknown)(...a)) : Reflect.get(t, p)),
        }) as never;
      },
      60_000,
      BULK_SIZE,
      (uids, work) => locks.runAll(uids, work),
      (err) => errors.push(err),
    );
  });
  beforeEach(() => {
    bulkWrites = 0;
    errors.length = 0;
  });
  afterAll(async () => {
    await queue.stop();
    await conn.close();
  });

  const connection = (id: string) => ({
    connected: true,
    transport: 'websocket',
    connectionId: id,
    lastSeenAt: new Date(1000),
    sequenceNum: 1,
    replicaId: 'r1',
  });

  it('creates an agent as Mongoose would: firstSeenAt, updatedAt, empty labels, capabilities 0', async () => {
    await queue.write('a-new', { connection: connection('c1') }, true);
    const doc = await agents.findById('a-new').lean();
    expect(doc).toMatchObject({ labels: {}, capabilities: 0, connection: { connected: true, connectionId: 'c1' } });
    expect(doc!.firstSeenAt).toBeInstanceOf(Date);
    expect(doc!.updatedAt).toBeInstanceOf(Date);
  });

  it('leaves undefined fields out instead of storing null', async () => {
    await queue.write('a-undefined', { connection: connection('c1'), remoteConfig: { state: 'applied', error: undefined } }, true);
    const doc = await agents.findById('a-undefined').lean();
    expect(doc!.remoteConfig).toEqual({ state: 'applied' });
  });

  it('an insert that brings labels gets exactly those labels', async () => {
    await queue.write('a-labelled', { connection: connection('c1'), 'labels.env': 'prod', capabilities: 5 }, true);
    expect(await agents.findById('a-labelled').lean()).toMatchObject({ labels: { env: 'prod' }, capabilities: 5 });
  });

  it('writes many agents in a few bulk commands and resolves every writer once stored', async () => {
    const uids = Array.from({ length: 300 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    await Promise.all(uids.map((uid) => queue.write(uid, { connection: connection(uid), health: { healthy: true } }, true)));
    expect(bulkWrites).toBe(Math.ceil(300 / BULK_SIZE));
    expect(await agents.countDocuments({ _id: { $in: uids }, 'health.healthy': true })).toBe(300);
  });

  it('merges changes of one agent: the heartbeat after a report keeps the report', async () => {
    await queue.write('a-merge', { connection: connection('c1') }, true);
    const report = queue.write('a-merge', { remoteConfigStatus: { lastRemoteConfigHash: 'ab', status: 'APPLYING', errorMessage: '' } });
    queue.defer('a-merge', { 'connection.lastSeenAt': new Date(5000), 'connection.sequenceNum': 9 });
    const applied = queue.write('a-merge', { 'remoteConfigStatus.status': 'APPLIED' });
    await Promise.all([report, applied]);
    expect(await agents.findById('a-merge').lean()).toMatchObject({
      remoteConfigStatus: { lastRemoteConfigHash: 'ab', status: 'APPLIED' },
      connection: { connectionId: 'c1', sequenceNum: 9, lastSeenAt: new Date(5000), replicaId: 'r1' },
    });
  });

  it('keeps deferred heartbeats until a flush, then stores them', async () => {
    await queue.write('a-seen', { connection: connection('c1') }, true);
    queue.defer('a-seen', { 'connection.lastSeenAt': new Date(7000), 'connection.sequenceNum': 4 });
    await new Promise((r) => setTimeout(r, 50));
    expect((await agents.findById('a-seen').lean())!.connection.sequenceNum).toBe(1);
    await queue.flush();
    expect((await agents.findById('a-seen').lean())!.connection).toMatchObject({ sequenceNum: 4, lastSeenAt: new Date(7000) });
  });

  it('a conditional write (a connection closing) applies only while the condition holds, after the writes queued with it', async () => {
    await queue.write('a-cond', { connection: connection('old') }, true);
    // The old connection closes while the agent's report on a new connection is queued: the new one wins.
    const closing = queue.writeIf('a-cond', { 'connection.connectionId': 'old' }, { 'connection.connected': false });
    const report = queue.write('a-cond', { connection: connection('new') });
    await Promise.all([closing, report]);
    expect((await agents.findById('a-cond').lean())!.connection).toMatchObject({ connectionId: 'new', connected: true });
    // The current connection closing applies.
    await queue.writeIf('a-cond', { 'connection.connectionId': 'new' }, { 'connection.connected': false });
    expect((await agents.findById('a-cond').lean())!.connection).toMatchObject({ connectionId: 'new', connected: false });
  });

  it('many connections closing at once cost a few bulk commands', async () => {
    const uids = Array.from({ length: 120 }, (_, i) => `drop-${i}`);
    await Promise.all(uids.map((uid) => queue.write(uid, { connection: connection(`c-${uid}`) }, true)));
    bulkWrites = 0;
    await Promise.all(uids.map((uid) => queue.writeIf(uid, { 'connection.connectionId': `c-${uid}` }, { 'connection.connected': false })));
    expect(bulkWrites).toBe(Math.ceil(120 / BULK_SIZE));
    expect(await agents.countDocuments({ _id: { $in: uids }, 'connection.connected': false })).toBe(120);
  });

  it('a write the database refuses fails its own writer only; the others in its batch are stored', async () => {
    await agents.collection.insertOne({ _id: 'a-broken' as never, labels: 'not-a-map', connection: connection('c0') });
    const bad = queue.write('a-broken', { 'labels.env': 'prod' });
    const good = queue.write('a-fine', { connection: connection('c2') }, true);
    await expect(bad).rejects.toBeDefined();
    await expect(good).resolves.toBeUndefined();
    expect(await agents.findById('a-fine').lean()).toMatchObject({ connection: { connectionId: 'c2' } });
    expect(errors).toHaveLength(1);
  });

  it('holds heartbeats in memory: a flush for reads leaves them, a write of the agent takes them along, due ones go in bulk', async () => {
    const uids = Array.from({ length: 100 }, (_, i) => `held-${i}`);
    await Promise.all(uids.map((uid) => queue.write(uid, { connection: connection(`c-${uid}`) }, true)));
    bulkWrites = 0;
    const now = Date.now();
    for (let seq = 2; seq <= 5; seq++)
      for (const uid of uids) queue.hold(uid, { 'connection.lastSeenAt': new Date(seq * 1000), 'connection.sequenceNum': seq }, 60_000, now);
    expect(queue.held('held-0')).toEqual({ 'connection.lastSeenAt': new Date(5000), 'connection.sequenceNum': 5 });
    await queue.flush();
    await queue.flushDue(now + 59_000);
    expect(bulkWrites).toBe(0);
    expect((await agents.findById('held-0').lean())!.connection.sequenceNum).toBe(1);

    // A report of one agent carries what is held for it, in the same statement.
    await queue.write('held-1', { health: { healthy: true } });
    expect(bulkWrites).toBe(1);
    expect((await agents.findById('held-1').lean())!.connection).toMatchObject({ sequenceNum: 5, lastSeenAt: new Date(5000) });
    expect(queue.held('held-1')).toBeUndefined();

    // Once due, the other 99 go together.
    bulkWrites = 0;
    await queue.flushDue(now + 60_000);
    expect(bulkWrites).toBe(Math.ceil(99 / BULK_SIZE));
    expect(queue.heldSize).toBe(0);
    expect(await agents.countDocuments({ _id: { $in: uids }, 'connection.sequenceNum': 5 })).toBe(100);
  });

  it('a released agent keeps nothing held; stop stores everything held', async () => {
    await queue.write('held-r', { connection: connection('c1') }, true);
    queue.hold('held-r', { 'connection.sequenceNum': 7 }, 60_000);
    queue.release('held-r');
    expect(queue.held('held-r')).toBeUndefined();
    queue.hold('held-r', { 'connection.sequenceNum': 8 }, 3_600_000);
    await queue.stop();
    expect((await agents.findById('held-r').lean())!.connection.sequenceNum).toBe(8);
  });
});
