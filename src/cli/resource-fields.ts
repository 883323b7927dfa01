/** Reading the loosely typed JSON the API returns, without trusting its shape. */

/** A resource as the API shows it: `{kind, apiVersion, metadata, spec, status}`. */
export interface Resource {
  kind?: string;
  apiVersion?: string;
  metadata?: Record<string, unknown> & { name?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A page of a list. */
export interface ResourceList {
  kind?: string;
  apiVersion?: string;
  metadata?: { continue?: string; remainingItemCount?: number };
  items: Resource[];
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a dotted path; keys containing dots can be given in brackets: `a.b['service.name']`. */
export function field(obj: unknown, path: string): unknown {
  const parts: string[] = [];
  for (const m of path.matchAll(/\[['"]([^'"]+)['"]\]|([^.[\]]+)/g)) parts.push(m[1] ?? m[2]);
  let cur: unknown = obj;
  for (const p of parts) {
    if (!isObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** The first of several paths that holds a value (the API of newer modules may name things differently). */
export function firstField(obj: unknown, ...paths: string[]): unknown {
  for (const p of paths) {
    const v = field(obj, p);
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

/** A value as table text; absent values read `<none>` like kubectl. */
export function text(v: unknown, none = '<none>'): string {
  if (v === undefined || v === null || v === '') return none;
  if (Array.isArray(v)) return v.length ? v.map((x) => text(x, '')).join(',') : none;
  if (isObject(v)) {
    const entries = Object.entries(v);
    return entries.length ? entries.map(([k, x]) => `${k}=${text(x, '')}`).join(',') : none;
  }
  return String(v);
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
