import { KeyedMutex } from '../common/keyed-mutex';

/**
 * What differs between the databases the server runs on, decided once at connect time from the
 * server's `buildInfo`. Domain code asks the profile (how large may a bulk be, how to guard a
 * compare-and-set, how old documents expire) and never names an engine.
 */
export interface DatabaseProfile {
  /** `mongodb` for MongoDB and anything else speaking its protocol with its semantics. */
  readonly engine: DatabaseEngine;
  /** The version the server reports (FerretDB: its own version when it says, else the MongoDB one it emulates). */
  readonly version: string;
  /** Statements per bulk write (one `update`/`insert`/`delete` command). */
  readonly maxBulkStatements: number;
  /** True when one update of one document is atomic (a compare-and-set filter cannot match twice). */
  readonly atomicUpdates: boolean;
  /** True when the database deletes expired documents by a TTL index itself. */
  readonly ttlIndexes: boolean;
  /**
   * True when every count or aggregate reads the whole collection whatever the indexes (FerretDB
   * 1.x decodes every document in Go for anything but `_id` equality): counts are then answered
   * from one shared, bounded-age read of the counted fields (count-snapshot.ts) instead of one
   * scan per count. False where indexes answer counts (MongoDB).
   */
  readonly countsReadEverything: boolean;
  /**
   * True when `$group`'s `$sum` of a nested field (`'$ownTelemetry.acceptedPerSecond'`) adds its
   * values. FerretDB 1.24 answers 0 for it (measured): sums are then made in memory.
   */
  readonly sumsNestedFields: boolean;
  /** A guard for writes of one document by key: serialises them where updates are not atomic, else runs them as they come. */
  keyedWrites(): KeyedWrites;
}

export type DatabaseEngine = 'mongodb' | 'ferretdb';

/** Runs work per key (a document's id); see DatabaseProfile.keyedWrites. */
export interface KeyedWrites {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  runAll<T>(keys: Iterable<string>, work: () => Promise<T>): Promise<T>;
}

/** The injection token of the connected database's profile. */
export const DATABASE_PROFILE = Symbol('DATABASE_PROFILE');

/**
 * FerretDB 1.24 never answers an `update` command with as many statements as its backend pool
 * has connections (measured on SQLite, the local default: 99 statements 0.6 s, 100 no answer).
 * Its PostgreSQL backend's default pool is 50: run it with a pool above 90.
 */
const FERRETDB_MAX_BULK = 90;
/** MongoDB takes up to 100,000 statements per command; a thousand keeps each command's memory small. */
const MONGODB_MAX_BULK = 1000;

/** No guard needed: the database applies each compare-and-set atomically. */
const direct: KeyedWrites = {
  run: (_key, work) => work(),
  runAll: (_keys, work) => work(),
};

class Profile implements DatabaseProfile {
  constructor(
    readonly engine: DatabaseEngine,
    readonly version: string,
    readonly maxBulkStatements: number,
    readonly atomicUpdates: boolean,
    readonly ttlIndexes: boolean,
    readonly countsReadEverything: boolean,
    readonly sumsNestedFields: boolean,
  ) {}

  keyedWrites(): KeyedWrites {
    // FerretDB applies an update as read-modify-write of the whole document, one statement per
    // transaction: two concurrent updates of one document can both match a compare-and-set, or
    // lose each other's fields. Serialising per key within the process keeps one replica correct.
    return this.atomicUpdates ? direct : new KeyedMutex();
  }
}

/** The profile of a database from its answer to `buildInfo`. */
export function profileFromBuildInfo(info: Record<string, unknown>): DatabaseProfile {
  const mongoVersion = typeof info.version === 'string' ? info.version : 'unknown';
  if ('ferretdbVersion' in info || 'ferretdbFeatures' in info || 'ferretdb' in info) {
    const own = typeof info.ferretdbVersion === 'string' && info.ferretdbVersion !== 'unknown' ? info.ferretdbVersion : undefined;
    return new Profile('ferretdb', own ?? `compatible with MongoDB ${mongoVersion}`, FERRETDB_MAX_BULK, false, false, true, false);
  }
  return new Profile('mongodb', mongoVersion, MONGODB_MAX_BULK, true, true, false, true);
}

/** What a database can answer to `buildInfo`: a command runner (the driver's `Db`). */
export interface CommandRunner {
  command(cmd: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Asks the connected database who it is. */
export async function detectDatabaseProfile(admin: CommandRunner): Promise<DatabaseProfile> {
  return profileFromBuildInfo(await admin.command({ buildInfo: 1 }));
}

/** One line for the start-up log. */
export function describeProfile(p: DatabaseProfile): string {
  return (
    `database: ${p.engine} ${p.version}; bulks of ${p.maxBulkStatements}; ` +
    `${p.atomicUpdates ? 'atomic updates' : 'updates serialised per document in this process'}; ` +
    `${p.ttlIndexes ? 'TTL indexes' : 'expiry by periodic delete'}; ` +
    `${p.countsReadEverything ? 'counts from a shared read of the counted fields (COUNT_SNAPSHOT_MAX_AGE_MS)' : 'counts on indexes'}`
  );
}
