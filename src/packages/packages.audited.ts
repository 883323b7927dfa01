import type { AuditedKind } from '../audit/audited-kinds';
import { without } from '../audit/audited-resources';
import type { AgentPackage } from './agent-package.schema';
import type { AgentPackagesRepository } from './agent-packages.repository';

/** A package version: its type, files (names, hashes, URLs, signatures) and deletion; bookkeeping is left out. */
export const auditedPackages = (packages: AgentPackagesRepository): AuditedKind<AgentPackage> => ({
  read: (id) => packages.findById(id),
  view: without('_id', 'updatedAt', 'resourceVersion'),
});
