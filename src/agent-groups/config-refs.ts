import type { RemoteConfigsService } from '../remote-configs/remote-configs.service';
import type { StoredConfigRef } from './agent-group.schema';

/** A field-level problem, as InvalidError's `errors` carry them. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * The `spec.configs` of a manifest (a group's, a rollout's) as stored, and what is wrong with
 * them: duplicate file names, remote configs that do not exist, revisions beyond the latest.
 * One rule for every resource that points at remote configs.
 */
export async function checkConfigRefs(
  input: readonly { fileName: string; remoteConfig: string; revision?: number }[],
  remoteConfigs: Pick<RemoteConfigsService, 'latestRevisions'>,
): Promise<{ configs: StoredConfigRef[]; problems: FieldProblem[] }> {
  const configs: StoredConfigRef[] = input.map((c) => ({
    fileName: c.fileName,
    remoteConfig: c.remoteConfig,
    ...(c.revision !== undefined ? { revision: c.revision } : {}),
  }));
  const problems: FieldProblem[] = [];
  const seen = new Map<string, number>();
  configs.forEach((c, i) => {
    const first = seen.get(c.fileName);
    if (first !== undefined)
      problems.push({ field: `spec.configs[${i}].fileName`, message: `duplicate fileName "${c.fileName}" (also spec.configs[${first}])` });
    else seen.set(c.fileName, i);
  });
  const latest = await remoteConfigs.latestRevisions(configs.map((c) => c.remoteConfig));
  configs.forEach((c, i) => {
    const n = latest.get(c.remoteConfig);
    if (n === undefined) problems.push({ field: `spec.configs[${i}].remoteConfig`, message: `remoteconfig "${c.remoteConfig}" does not exist` });
    else if (c.revision !== undefined && c.revision > n)
      problems.push({ field: `spec.configs[${i}].revision`, message: `remoteconfig "${c.remoteConfig}" has no revision ${c.revision} (latest is ${n})` });
  });
  return { configs, problems };
}
