import type { AuditedKind } from '../audit/audited-kinds';
import { without } from '../audit/audited-resources';
import type { RemoteConfig } from './remote-config.schema';
import type { RemoteConfigsRepository } from './remote-configs.repository';

/** A config's head: its current revision, labels and deletion; bookkeeping is left out. */
export const auditedRemoteConfigs = (configs: RemoteConfigsRepository): AuditedKind<RemoteConfig> => ({
  read: (name) => configs.findHead(name),
  view: without('_id', 'updatedAt', 'resourceVersion'),
});
