/**
 * The stored form of an OpAMP AnyValue, one every supported database accepts. Scalars are stored
 * as themselves. An array is `{"@array": [...]}` and a key/value list `{"@kvlist": [{key, value}]}`:
 * FerretDB rejects an array directly inside an array (an attribute `[["a"]]`), and MongoDB wire
 * servers reject field names with `.` or a leading `$` (and the driver any with a NUL byte), all of
 * which are valid AnyValue keys. In the stored form no array holds an array and no reported key
 * becomes a field name. Doubles that are not finite (which FerretDB refuses, and JSON cannot show)
 * are `{"@double": "Infinity"}` and read back as that text. `plainOfStored` turns it back into the plain JSON value users see.
 */
export const STORED_ARRAY = '@array';
export const STORED_KVLIST = '@kvlist';
export const STORED_DOUBLE = '@double';

/** The stored form of a double: itself when finite; NaN and the infinities (which FerretDB refuses) as `{"@double": "NaN"}`. */
export function storedDouble(d: number): number | { [STORED_DOUBLE]: string } {
  return Number.isFinite(d) ? d : { [STORED_DOUBLE]: String(d) };
}

/** The stored form of an array of (already stored) values. */
export function storedArray(values: unknown[]): { [STORED_ARRAY]: unknown[] } {
  return { [STORED_ARRAY]: values };
}

/** The stored form of a key/value list of (already stored) values. */
export function storedKvlist(pairs: { key: string; value: unknown }[]): { [STORED_KVLIST]: { key: string; value: unknown }[] } {
  return { [STORED_KVLIST]: pairs };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

/**
 * The plain value of a stored one: arrays as arrays, key/value lists as objects (a repeated key:
 * the last wins). Values stored before this form existed (plain arrays and objects) read as they
 * are. Pure.
 */
export function plainOfStored(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainOfStored);
  if (!isObject(v)) return v;
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === STORED_DOUBLE && typeof v[STORED_DOUBLE] === 'string') return v[STORED_DOUBLE];
  if (keys.length === 1 && keys[0] === STORED_ARRAY && Array.isArray(v[STORED_ARRAY])) return (v[STORED_ARRAY] as unknown[]).map(plainOfStored);
  if (keys.length === 1 && keys[0] === STORED_KVLIST && Array.isArray(v[STORED_KVLIST])) {
    const out: Record<string, unknown> = {};
    for (const pair of v[STORED_KVLIST] as { key?: unknown; value?: unknown }[]) {
      if (isObject(pair) && typeof pair.key === 'string')
        Object.defineProperty(out, pair.key, { value: plainOfStored(pair.value), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = plainOfStored(v[k]);
  return out;
}

/** `[{key, value}]` attributes as one plain object of plain values (the REST view). */
export function plainAttributes(kvs: { key: string; value: unknown }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) Object.defineProperty(out, kv.key, { value: plainOfStored(kv.value), enumerable: true, writable: true, configurable: true });
  return out;
}
