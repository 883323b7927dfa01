import type { AppConfig } from '../config/app-config';

/**
 * The driver options that give every database call a deadline, so that an unreachable or
 * frozen database ends in a 503 / UNAVAILABLE instead of a hang:
 * - finding a usable server and opening a connection wait at most DATABASE_TIMEOUT_MS;
 * - the driver checks each server every DATABASE_TIMEOUT_MS (at most 10 s); a check that gets no
 *   answer within DATABASE_TIMEOUT_MS interrupts the operations in flight on that server;
 * - Mongoose's queue of commands issued while disconnected waits DATABASE_TIMEOUT_MS;
 * - every operation has DATABASE_OPERATION_TIMEOUT_MS in all (the driver's client-side
 *   timeoutMS, which it also sends as maxTimeMS; FerretDB 1.24 and MongoDB both accept that).
 */
export function databaseDeadlines(config: Pick<AppConfig, 'database'>) {
  const { timeoutMs, operationTimeoutMs } = config.database;
  return {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    heartbeatFrequencyMS: Math.max(500, Math.min(timeoutMs, 10_000)),
    bufferTimeoutMS: timeoutMs,
    timeoutMS: operationTimeoutMs,
  };
}
