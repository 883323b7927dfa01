/**
 * Database errors that say "this document can never be stored" (as opposed to "not now"): a
 * document over the 16 MiB BSON limit (the driver throws RangeError or BSONError before sending),
 * a value or key the server refuses (BadValue, code 2: FerretDB's nested arrays, keys with `.` or
 * `$`), the server's own size errors. Retrying these cannot succeed, so the agent is told
 * BAD_REQUEST instead of being sent to retry for ever.
 */
const PERMANENT_CODES = new Set([
  2, // BadValue
  10334, // BSONObjectTooLarge
  17419, // document too large after update
  17420, // document too large (update)
]);

function codeOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; writeErrors?: { code?: unknown; err?: { code?: unknown } }[] };
  if (typeof e?.code === 'number') return e.code;
  const first = e?.writeErrors?.[0];
  const c = first?.code ?? first?.err?.code;
  return typeof c === 'number' ? c : undefined;
}

/**
 * Why `err` means the report can never be stored, or undefined when it may be a passing trouble.
 * Judged by name, not `instanceof`: Node's own RangeError (thrown from Buffer) is of another realm
 * under a test runner's sandbox. Pure.
 */
export function unstorableReason(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (typeof name !== 'string' || typeof message !== 'string') return undefined;
  if (name === 'RangeError') return `the stored agent would be over the database's document size limit (${message})`;
  if (name === 'BSONError' || name === 'BSONVersionError') return message;
  if (name === 'MongoInvalidArgumentError' && /larger than the maximum size/i.test(message)) return message;
  const code = codeOf(err);
  if (code !== undefined && PERMANENT_CODES.has(code) && name.startsWith('Mongo')) return message;
  return undefined;
}
