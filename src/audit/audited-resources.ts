import { createHash } from 'node:crypto';

/**
 * How the audit log sees each kind of resource of the API (the first path segment after
 * /api/v1): the collection holding it, and which stored fields count. Volatile fields
 * (timestamps, connection state) are left out so that before/after hashes change only with
 * what an operator changed; secrets are reduced to a digest, so a changed password shows as a
 * changed `password` and nothing more.
 */
export interface AuditedKind {
  collection: string;
  /** The stored document → the fields that are audited. */
  view(doc: Record<string, unknown>): Record<string, unknown>;
  /** The path parameter → the stored _id. */
  id?(name: string): string;
}

const without =
  (...fields: string[]) =>
  (doc: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(doc).filter(([k]) => !fields.includes(k)));

const digest = (v: unknown) => (typeof v === 'string' ? createHash('sha256').update(v).digest('hex').slice(0, 16) : undefined);

export const AUDITED_KINDS: Record<string, AuditedKind> = {
  agents: {
    collection: 'agents',
    view: (d) => ({ labels: d.labels, assignedConfig: d.assignedConfig ?? null }),
    id: (name) => (name.length === 26 ? name.toUpperCase() : name.toLowerCase()),
  },
  agentgroups: { collection: 'agent_groups', view: without('_id', 'updatedAt', 'resourceVersion', 'requirements') },
  remoteconfigs: { collection: 'remote_configs', view: without('_id', 'updatedAt', 'resourceVersion') },
  users: {
    collection: 'users',
    view: (d) => ({ ...without('_id', 'updatedAt', 'lastLoginAt', 'passwordHash')(d), password: digest(d.passwordHash) ?? null }),
  },
  // Spec, labels and phase: what an operator changes (the driver's progress is not an operator's change).
  rollouts: { collection: 'rollouts', view: (d) => ({ labels: d.labels, spec: d.spec, phase: d.phase }) },
  'enrollment-tokens': { collection: 'enrollment_tokens', view: without('_id', 'secretHash', 'lastUsedAt') },
};

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
