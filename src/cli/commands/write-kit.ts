import * as fs from 'node:fs';
import { CliError, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import type { Manifest } from '../manifests';
import { formatResources, OutputFormat } from '../printers';
import { isObject, Resource } from '../resource-fields';
import { qualifiedName, ResourceType, typeOfKind } from '../resource-types';

/** What the commands that write resources (create, apply, delete, label, update) share. */

/** Order of kinds when applying several: what others refer to comes first (deletes go the other way). */
const KIND_ORDER = ['RemoteConfig', 'User', 'EnrollmentToken', 'AgentGroup', 'Agent'];
const rank = (m: Manifest) => {
  const i = KIND_ORDER.indexOf(String(m.resource.kind));
  return i < 0 ? KIND_ORDER.length : i;
};
export const applyOrder = (ms: Manifest[]) =>
  ms
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map((x) => x.m);

/** The resource type of a manifest's kind (apiVersion v1 only). */
export function typeOf(m: Manifest): ResourceType {
  const t = typeOfKind(String(m.resource.kind));
  if (!t || t.parent) throw new CliError(`${m.source}: unknown kind "${m.resource.kind}"`);
  if (m.resource.apiVersion !== undefined && m.resource.apiVersion !== 'v1')
    throw new CliError(`${m.source}: apiVersion must be v1, got "${m.resource.apiVersion}"`);
  return t;
}

/** The `?message=` of a write that makes a remote config revision. */
export const messageQuery = (t: ResourceType, message?: string) => (t.plural === 'remoteconfigs' && message ? { message } : undefined);

/** One line per written resource (`agentgroup/x created`), or the resource in the chosen format. */
export function report(rt: CliRuntime, t: ResourceType, r: Resource, word: string, output?: OutputFormat): void {
  if (output === 'json' || output === 'yaml') rt.out(formatResources(t, [r], { format: output }, true));
  else if (output === 'name') rt.out(qualifiedName(t, r));
  else rt.out(`${qualifiedName(t, r)} ${word}`);
}

/** `key=value` pairs of --label and `label` into a map (`key-` removes a key, as null). */
export function parseLabelArgs(args: string[], allowRemove: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of args) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=(.*)$/.exec(a);
    if (m) out[m[1]] = m[2];
    else if (allowRemove && /^[A-Za-z0-9][A-Za-z0-9._/-]*-$/.test(a)) out[a.slice(0, -1)] = null;
    else throw new UsageError(`"${a}" is not a label (key=value${allowRemove ? ' or key-' : ''})`);
  }
  return out;
}

/** The one-time secret of a created enrollment token, wherever the server put it. */
export function tokenSecret(r: unknown): string | undefined {
  if (!isObject(r)) return undefined;
  for (const holder of [r, r.status, r.spec]) {
    if (!isObject(holder)) continue;
    for (const k of ['token', 'secret', 'value']) if (typeof holder[k] === 'string') return holder[k] as string;
  }
  return undefined;
}

export function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
