import { KeyedMutex } from '../common/keyed-mutex';
import { describeProfile, detectDatabaseProfile, profileFromBuildInfo } from './database-profile';

/** FerretDB 1.24.2's answer to buildInfo, as measured (trimmed). */
const FERRETDB_BUILD_INFO = {
  version: '7.0.42',
  versionArray: [7, 0, 42, 0],
  ferretdbVersion: 'unknown',
  ferretdbFeatures: { aggregationStages: ['$match', '$group'] },
  ok: 1,
};
const MONGODB_BUILD_INFO = { version: '7.0.14', versionArray: [7, 0, 14, 0], gitVersion: 'ce59cfc6a3c5e5c067dca0d30697edd68d4f5188', ok: 1 };

describe('database profile', () => {
  it('recognises FerretDB by the fields only it reports, and works around its limits', () => {
    const p = profileFromBuildInfo(FERRETDB_BUILD_INFO);
    expect(p).toMatchObject({
      engine: 'ferretdb',
      maxBulkStatements: 90,
      atomicUpdates: false,
      ttlIndexes: false,
      countsReadEverything: true,
      sumsNestedFields: false,
    });
    expect(p.version).toBe('compatible with MongoDB 7.0.42');
    expect(profileFromBuildInfo({ ...FERRETDB_BUILD_INFO, ferretdbVersion: 'v1.24.2' }).version).toBe('v1.24.2');
    expect(p.keyedWrites()).toBeInstanceOf(KeyedMutex);
  });

  it('gives MongoDB large bulks, atomic updates and TTL indexes', () => {
    const p = profileFromBuildInfo(MONGODB_BUILD_INFO);
    expect(p).toMatchObject({
      engine: 'mongodb',
      version: '7.0.14',
      maxBulkStatements: 1000,
      atomicUpdates: true,
      ttlIndexes: true,
      countsReadEverything: false,
      sumsNestedFields: true,
    });
    expect(p.keyedWrites()).not.toBeInstanceOf(KeyedMutex);
    expect(describeProfile(p)).toBe('database: mongodb 7.0.14; bulks of 1000; atomic updates; TTL indexes; counts on indexes');
  });

  it('serialises writes of one key on FerretDB, and runs them as they come on MongoDB', async () => {
    const overlap = async (engine: Record<string, unknown>) => {
      const writes = profileFromBuildInfo(engine).keyedWrites();
      let running = 0;
      let most = 0;
      const work = async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setImmediate(r));
        running--;
      };
      await Promise.all([writes.run('a', work), writes.runAll(['a', 'b'], work), writes.run('a', work)]);
      return most;
    };
    expect(await overlap(FERRETDB_BUILD_INFO)).toBe(1);
    expect(await overlap(MONGODB_BUILD_INFO)).toBe(3);
  });

  it('asks the database once, with buildInfo', async () => {
    const asked: unknown[] = [];
    const p = await detectDatabaseProfile({ command: async (cmd) => (asked.push(cmd), FERRETDB_BUILD_INFO) });
    expect(asked).toEqual([{ buildInfo: 1 }]);
    expect(p.engine).toBe('ferretdb');
  });
});
