import mongoose, { Connection } from 'mongoose';
import { MongooseClusterRecordsRepository } from '../src/cluster/cluster-records.repository';
import { LeaseTerm, LeaseTermSchema, ReplicaRecord, ReplicaRecordSchema } from '../src/cluster/cluster.schemas';
import { LeaseService } from '../src/cluster/lease.service';
import { AppConfig } from '../src/config/app-config';
import { testDatabaseUri } from './support/test-server';

/**
 * Leases on the real test database (FerretDB, whose updates are not atomic): however many
 * replicas compete at once, one term has one holder, a newer term fences the older, and a
 * holder that stops renewing stops counting itself the holder before anyone else can start.
 */
describe('leases for fleet-wide jobs', () => {
  let conn: Connection;
  const replicas: LeaseService[] = [];
  const replica = (id: string, timeoutSeconds = 2) => {
    const records = new MongooseClusterRecordsRepository(conn.model(LeaseTerm.name, LeaseTermSchema), conn.model(ReplicaRecord.name, ReplicaRecordSchema));
    const s = new LeaseService(records, { replicaId: id, cluster: { timeoutSeconds, heartbeatSeconds: 1, subjectPrefix: 'x' } } as unknown as AppConfig);
    s.want('sweep');
    replicas.push(s);
    return s;
  };
  const holders = () => replicas.filter((r) => r.current('sweep') !== undefined);

  beforeAll(async () => {
    conn = await mongoose.createConnection(testDatabaseUri()).asPromise();
    await conn.model(LeaseTerm.name, LeaseTermSchema).init();
  });
  afterAll(() => conn?.close());

  it('eight replicas racing for a free lease: exactly one wins it, with term 1', async () => {
    const all = Array.from({ length: 8 }, (_, i) => replica(`r${i}`));
    await Promise.all(all.map((r) => r.renewAll()));
    expect(holders()).toHaveLength(1);
    expect(holders()[0].current('sweep')!.term).toBe(1);
    // Renewing keeps it with the same holder and term; the others keep not holding it.
    await Promise.all(all.map((r) => r.renewAll()));
    expect(holders()).toHaveLength(1);
    expect(holders()[0].current('sweep')!.term).toBe(1);
  });

  it('runIfHolder runs the job on the holder only', async () => {
    const ran: number[] = [];
    await Promise.all(replicas.map((r, i) => r.runIfHolder('sweep', async (lease) => ran.push(i + lease.term * 0))));
    expect(ran).toHaveLength(1);
  });

  it('a holder that stops renewing loses the lease (its job signal aborts), and the next term goes to one other replica', async () => {
    const old = holders()[0];
    const lease = old.current('sweep')!;
    const others = replicas.filter((r) => r !== old);
    // The old holder goes silent; the others keep trying until the lease has expired.
    for (let i = 0; i < 40 && !others.some((r) => r.current('sweep')); i++) {
      await new Promise((res) => setTimeout(res, 250));
      await Promise.all(others.map((r) => r.renewAll()));
    }
    const next = others.filter((r) => r.current('sweep'));
    expect(next).toHaveLength(1);
    expect(next[0].current('sweep')!.term).toBe(2);
    // The old holder stopped counting itself the holder by then: its local deadline ends before the stored expiry.
    expect(old.current('sweep')).toBeUndefined();
    expect(lease.signal.aborted).toBe(true);
    // When it wakes up it sees term 2 and does not take it back.
    await old.renewAll();
    expect(old.current('sweep')).toBeUndefined();
    expect(holders()).toEqual(next);
  }, 30_000);

  it('releasing at shutdown lets another replica take the lease at its next try', async () => {
    const holder = holders()[0];
    await holder.releaseAll();
    expect(holder.current('sweep')).toBeUndefined();
    const rest = replicas.filter((r) => r !== holder);
    await Promise.all(rest.map((r) => r.renewAll()));
    const next = rest.filter((r) => r.current('sweep'));
    expect(next).toHaveLength(1);
    expect(next[0].current('sweep')!.term).toBe(3);
  });
});
