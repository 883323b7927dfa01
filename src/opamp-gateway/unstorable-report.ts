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

/** Why `err` means the report can never be stored, or undefined when it may be a passing trouble. Pure. */
export function unstorableReason(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof RangeError) return `the stored agent would be over the database's document size limit (${err.message})`;
  if (err.name === 'BSONError' || err.name === 'BSONVersionError') return err.message;
  const code = codeOf(err);
  if (code !== undefined && PERMANENT_CODES.has(code) && /^Mongo/.test(err.name)) return err.message;
  return undefined;
}
