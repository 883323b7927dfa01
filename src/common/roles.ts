/** The roles of the management API, weakest first: each includes everything the ones before it may do. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `held` includes the rights of `needed` (admin ⊇ operator ⊇ viewer). */
export function roleAtLeast(held: unknown, needed: Role): boolean {
  return isRole(held) && ROLES.indexOf(held) >= ROLES.indexOf(needed);
}
