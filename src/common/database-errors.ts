/**
 * Which errors mean "the database cannot be reached right now" (as opposed to a bug or a bad
 * request): every caller answers them the same way, REST with 503 + Retry-After, agents with
 * 503 / UNAVAILABLE and a retry hint. Errors are recognised by name and code, not by class, so
 * that the driver copy inside Mongoose and any other copy are treated alike.
 */

/** Thrown by the server itself when it knows the database is unavailable (e.g. while the embedded one restarts). */
export class DatabaseUnavailableError extends Error {
  constructor(message = 'The database is not reachable.') {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

/** Driver and Mongoose error names that only ever mean a connection problem or a deadline passed. */
const UNAVAILABLE_NAMES = new Set([
  'DatabaseUnavailableError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoOperationTimeoutError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoClientClosedError',
  'MongoServerClosedError',
]);

/**
 * Server error codes that are transient by definition: the operation ran out of time (50
 * MaxTimeMSExpired) or the server is shutting down or changing roles. A retry later may work.
 */
const TRANSIENT_CODES = new Set([50, 91, 189, 262, 10107, 11600, 11602, 13435, 13436]);

/** True when `err` (or an error it wraps) says the database is unreachable or too slow to answer in time. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
    if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
    if (typeof name === 'string' && name.startsWith('Mongo') && typeof code === 'number' && TRANSIENT_CODES.has(code)) return true;
    // Mongoose queues commands while disconnected and fails them with a plain MongooseError.
    if (name === 'MongooseError' && typeof message === 'string' && /buffering timed out/.test(message)) return true;
  }
  return false;
}

/** One line that says what went wrong without a stack (an outage is not a bug). */
export function describeDatabaseError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e?.name ?? 'Error'}: ${String(e?.message ?? err).split('\n')[0]}`;
}
