import { User } from './user.schema';

/** A user as the API shows it: never the password hash. */
export function toUserResource(u: User) {
  return {
    kind: 'User',
    apiVersion: 'v1',
    metadata: { name: u._id, createdAt: u.createdAt, updatedAt: u.updatedAt },
    spec: { role: u.role, disabled: !!u.disabled, githubLogin: u.githubLogin ?? null },
    status: { source: u.source, hasPassword: !!u.passwordHash, githubLinked: !!u.githubId, lastLoginAt: u.lastLoginAt ?? null },
  };
}
