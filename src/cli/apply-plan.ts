import { CliError } from './cli-errors';
import { deepEqual, isObject, Resource } from './resource-fields';
import type { ResourceType } from './resource-types';

/**
 * What `apply` does with one manifest, decided from the manifest and the resource as the server
 * has it: create it when absent, replace it (with the current resourceVersion) when it differs,
 * leave it alone when it is the same. "The same" is judged after the server's defaults are filled
 * into the manifest, so that applying a file twice is a no-op.
 */

export type ApplyAction = 'create' | 'replace' | 'patch' | 'unchanged';

export interface ApplyPlan {
  action: ApplyAction;
  /** The request body for create/replace/patch. */
  body?: Resource;
}

/** Metadata the server owns: never sent from a manifest (resourceVersion is set by the planner). */
const READ_ONLY_METADATA = ['createdAt', 'updatedAt', 'deletedAt', 'resourceVersion', 'uid', 'instanceUid', 'generation'];

/** The manifest as a request body: no status, no server-owned metadata. */
export function manifestBody(m: Resource): Resource {
  const metadata = { ...(m.metadata ?? {}) };
  for (const k of READ_ONLY_METADATA) delete metadata[k];
  const body: Resource = { ...m, metadata };
  delete body.status;
  return body;
}

const labelsOf = (r: Resource | undefined): Record<string, string> => (isObject(r?.metadata?.labels) ? (r!.metadata!.labels as Record<string, string>) : {});

/** The parts of an AgentGroup that a replace changes, with the server's defaults filled in. */
function comparableGroup(r: Resource): unknown {
  const spec = r.spec ?? {};
  const configs = Array.isArray(spec.configs) ? (spec.configs as Record<string, unknown>[]) : [];
  return {
    labels: labelsOf(r),
    selector: spec.selector ?? null,
    priority: spec.priority ?? 0,
    configs: configs.map((c) => ({
      fileName: c.fileName ?? '',
      remoteConfig: c.remoteConfig,
      ...(c.revision !== undefined && c.revision !== null ? { revision: c.revision } : {}),
    })),
    connectionSettings: spec.connectionSettings ?? null,
  };
}

/** The parts of a RemoteConfig that a replace changes, with the server's defaults filled in. */
function comparableRemoteConfig(r: Resource): unknown {
  const spec = r.spec ?? {};
  return { contentType: spec.contentType ?? 'application/yaml', body: spec.body ?? '', description: spec.description ?? null };
}

/** True when every field the manifest gives equals the current one (types whose defaults opampctl does not know). */
export function isSubset(desired: unknown, current: unknown): boolean {
  if (isObject(desired)) {
    if (!isObject(current)) return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, current[k]));
  }
  return deepEqual(desired, current);
}

export function needsChange(t: ResourceType, desired: Resource, current: Resource): boolean {
  switch (t.kind) {
    case 'AgentGroup':
      return !deepEqual(comparableGroup(desired), comparableGroup(current));
    case 'RemoteConfig':
      return !deepEqual(comparableRemoteConfig(desired), comparableRemoteConfig(current));
    default:
      return !isSubset({ labels: desired.metadata?.labels, spec: desired.spec }, { labels: labelsOf(current), spec: current.spec ?? {} });
  }
}

/** Spec fields that are written but never read back (a user's password): they count at creation only. */
const WRITE_ONLY_SPEC = ['password'];

function withoutWriteOnly(spec: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...(spec ?? {}) };
  for (const k of WRITE_ONLY_SPEC) delete out[k];
  return out;
}

/** A package version as a manifest says it: its type, description, and each file it names as the server has it (files uploaded since are not in the manifest). */
function matchesImmutable(desired: Resource, current: Resource): boolean {
  const want = desired.spec ?? {};
  const have = current.spec ?? {};
  if ((want.type ?? 'top-level') !== have.type) return false;
  if (want.description !== undefined && want.description !== have.description) return false;
  const haveFiles = Array.isArray(have.files) ? (have.files as Record<string, unknown>[]) : [];
  const wantFiles = Array.isArray(want.files) ? (want.files as Record<string, unknown>[]) : [];
  return wantFiles.every((f) => {
    const match = haveFiles.find((h) => h.name === f.name);
    return match !== undefined && isSubset({ ...f, sha256: typeof f.sha256 === 'string' ? f.sha256.toLowerCase() : f.sha256 }, match);
  });
}

/** Decides create / replace / patch / unchanged for one manifest. */
export function planApply(t: ResourceType, desired: Resource, current: Resource | undefined): ApplyPlan {
  if (t.update === 'none') throw new CliError(`${t.plural} cannot be applied${t.createsWithoutName ? ` (use opampctl create ${t.singular})` : ''}`);
  if (t.update === 'labels') {
    // Agents exist because they connected; only their server-side labels can be set.
    if (!current) throw new CliError(`${t.singular} ${desired.metadata?.name} not found (agents are created by connecting, not by apply)`);
    const want = labelsOf(desired);
    const have = labelsOf(current);
    if (deepEqual(want, have)) return { action: 'unchanged' };
    const patch: Record<string, string | null> = { ...want };
    for (const k of Object.keys(have)) if (!(k in want)) patch[k] = null;
    return { action: 'patch', body: { metadata: { labels: patch as Record<string, string> } } };
  }
  if (!current) return { action: 'create', body: manifestBody(desired) };
  if (t.update === 'immutable') {
    if (matchesImmutable(desired, current)) return { action: 'unchanged' };
    throw new CliError(`${t.singular} ${desired.metadata?.name} exists and differs from the manifest; a version never changes, publish a new one`);
  }
  if (t.update === 'patch-spec') {
    // A merge patch of the fields the manifest gives; a password is set at creation only, so
    // that applying the same file again does not reset it (and end the user's sessions).
    const spec = withoutWriteOnly(desired.spec);
    if (isSubset(spec, current.spec ?? {})) return { action: 'unchanged' };
    return { action: 'patch', body: { spec } };
  }
  if (!needsChange(t, desired, current)) return { action: 'unchanged' };
  const body = manifestBody(desired);
  body.metadata = { ...body.metadata, resourceVersion: current.metadata?.resourceVersion };
  if (body.metadata.resourceVersion === undefined) delete body.metadata.resourceVersion;
  return { action: 'replace', body };
}

/** The word printed after `kind/name` for each action. */
export function pastTense(action: ApplyAction): string {
  return action === 'create' ? 'created' : action === 'unchanged' ? 'unchanged' : 'configured';
}
