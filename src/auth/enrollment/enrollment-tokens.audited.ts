import type { AuditedKind } from '../../audit/audited-kinds';
import { without } from '../../audit/audited-resources';
import type { EnrollmentToken } from './enrollment-token.schema';
import type { EnrollmentTokensRepository } from './enrollment-tokens.repository';

/** A token's spec and state; never its secret's hash, and not its last use (that is the agents', not an operator's). */
export const auditedEnrollmentTokens = (tokens: EnrollmentTokensRepository): AuditedKind<EnrollmentToken> => ({
  read: (name) => tokens.findById(name),
  view: without('_id', 'secretHash', 'lastUsedAt'),
});
