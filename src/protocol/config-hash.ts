import { createHash } from 'node:crypto';

/**
 * The hash identifying a config map: SHA-256 over every entry in sorted key order, each field
 * length-prefixed so that no two different maps can be made to share an input. Deterministic
 * across replicas and restarts, which hash-gated delivery relies on.
 */
export function configMapHash(entries: { fileName: string; contentType: string; body: Buffer }[]): Buffer {
  const h = createHash('sha256');
  const sorted = [...entries].sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
  const field = (b: Buffer) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(b.length));
    h.update(len);
    h.update(b);
  };
  h.update('opamp-commander/config-map/v1');
  for (const e of sorted) {
    field(Buffer.from(e.fileName, 'utf8'));
    field(Buffer.from(e.contentType, 'utf8'));
    field(e.body);
  }
  return h.digest();
}

/** A hash over any JSON-able value with sorted keys (connection settings offers). */
export function stableHash(value: unknown): Buffer {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest();
}
