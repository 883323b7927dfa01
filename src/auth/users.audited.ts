import type { AuditedKind } from '../audit/audited-kinds';
import { secretDigest, without } from '../audit/audited-resources';
import type { User } from './user.schema';
import type { UsersRepository } from './users.repository';

/** A user's role, profile and state; the password only as a digest, so a changed password shows as a changed `password` and nothing more. */
export const auditedUsers = (users: UsersRepository): AuditedKind<User> => ({
  read: (name) => users.findById(name),
  view: (u) => ({ ...without('_id', 'updatedAt', 'lastLoginAt', 'passwordHash')(u), password: secretDigest(u.passwordHash) }),
});
