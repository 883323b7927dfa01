import { createHash } from 'node:crypto';

/** The stored document without the named fields (the usual audited view). */
export const without =
  (...fields: string[]) =>
  (doc: object): Record<string, unknown> =>
    Object.fromEntries(Object.entries(doc).filter(([k]) => !fields.includes(k)));

/** A short digest of a secret: it changes with the secret and shows nothing of it. */
export const secretDigest = (v: unknown): string | null => (typeof v === 'string' ? createHash('sha256').update(v).digest('hex').slice(0, 16) : null);

/** JSON with object keys sorted, so equal documents hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v)) {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

export function auditHash(view: Record<string, unknown> | null): string | null {
  return view === null ? null : createHash('sha256').update(canonicalJson(view)).digest('hex');
}

/** Paths (up to `depth` levels deep) whose values differ between two views. */
export function changedPaths(before: Record<string, unknown> | null, after: Record<string, unknown> | null, depth = 2, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const out: string[] = [];
  for (const k of [...keys].sort()) {
    const a = before?.[k];
    const b = after?.[k];
    if (canonicalJson(a) === canonicalJson(b)) continue;
    const path = prefix ? `${prefix}.${k}` : k;
    if (depth > 1 && isObj(a) && isObj(b)) out.push(...changedPaths(a, b, depth - 1, path));
    else out.push(path);
  }
  return out;
}
