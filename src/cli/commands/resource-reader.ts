import { ApiError, CliError, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { matchesSelector, parseSelector } from '../label-selector';
import { Resource, ResourceList } from '../resource-fields';
import { findResourceType, ResourceType } from '../resource-types';
import { parseDuration } from '../human-time';

/** Reading resources for get, describe, watch, delete and edit: by name, or a list with filters. */

export interface ListFilters {
  selector?: string;
  all?: boolean;
  limit?: number;
  continue?: string;
  includeDeleted?: boolean;
  connected?: boolean;
  disconnected?: boolean;
  healthy?: boolean;
  unhealthy?: boolean;
  transport?: string;
  group?: string;
  search?: string;
  condition?: string;
  sortBy?: string;
  actor?: string;
  action?: string;
  resource?: string;
  since?: string;
  until?: string;
  /** Agents: complete items (`view=full`) rather than the list summaries (no config bodies, no component tree). */
  full?: boolean;
}

/** `--since 1h` (a duration back from now) or an ISO 8601 time, as the ISO time the API takes. */
export function timeFilter(value: string, flag: string, now = Date.now()): string {
  const ms = parseDuration(value);
  if (ms !== undefined) return new Date(now - ms).toISOString();
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new UsageError(`${flag} must be a duration (1h) or an ISO 8601 time, got "${value}"`);
  return new Date(t).toISOString();
}

/** `--resource agentgroup/checkout` as the audit API's kind (its path segment) and name. */
export function auditResourceFilter(value: string): { kind: string; name?: string } {
  const [type, ...rest] = value.split('/');
  const t = findResourceType(type);
  const kind = t && !t.parent ? t.path.slice(1) : type.toLowerCase();
  return { kind, ...(rest.length ? { name: rest.join('/') } : {}) };
}

const enc = encodeURIComponent;

/** The URL path of one resource; revisions are `remoteconfigs/NAME/revisions/N`. */
export function itemPath(t: ResourceType, name: string, revision?: string | number): string {
  if (t.parent) return `/remoteconfigs/${enc(name)}/revisions/${revision ?? 'latest'}`;
  return `${t.path}/${enc(name)}`;
}

/** The query of a list; filters that only agents have are refused for other types. */
export function listQuery(t: ResourceType, f: ListFilters): Record<string, string | number | boolean | undefined> {
  const only = (plural: string, flags: [keyof ListFilters, string][]) => {
    if (t.plural === plural) return;
    const used = flags.filter(([k]) => f[k] !== undefined && f[k] !== false).map(([, flag]) => flag);
    if (used.length) throw new UsageError(`${used.join(', ')} only filter ${plural}`);
  };
  only('agents', [
    ['connected', '--connected'],
    ['disconnected', '--disconnected'],
    ['healthy', '--healthy'],
    ['unhealthy', '--unhealthy'],
    ['transport', '--transport'],
    ['group', '--group'],
    ['search', '--search'],
    ['condition', '--condition'],
    ['sortBy', '--sort-by'],
  ]);
  only('audit', [
    ['actor', '--actor'],
    ['action', '--action'],
    ['resource', '--resource'],
    ['since', '--since'],
    ['until', '--until'],
  ]);
  if (f.connected && f.disconnected) throw new UsageError('--connected and --disconnected exclude each other');
  if (f.healthy && f.unhealthy) throw new UsageError('--healthy and --unhealthy exclude each other');
  if (f.includeDeleted && !t.softDelete) throw new UsageError(`--include-deleted does not apply to ${t.plural}`);
  return {
    limit: f.limit,
    continue: f.continue,
    ...(t.serverSelector ? { selector: f.selector } : {}),
    ...(f.full && t.plural === 'agents' ? { view: 'full' } : {}),
    ...(f.includeDeleted ? { includeDeleted: true } : {}),
    connected: f.connected ? true : f.disconnected ? false : undefined,
    healthy: f.healthy ? true : f.unhealthy ? false : undefined,
    transport: f.transport,
    group: f.group,
    search: f.search,
    condition: f.condition,
    sort: f.sortBy,
    actor: f.actor,
    action: f.action,
    ...(f.resource ? auditResourceFilter(f.resource) : {}),
    since: f.since ? timeFilter(f.since, '--since') : undefined,
    until: f.until ? timeFilter(f.until, '--until') : undefined,
  };
}

/** A list with the filters; `-l` is matched on the client for types whose API has no selector. */
export async function listResources(rt: CliRuntime, t: ResourceType, f: ListFilters, parentName?: string): Promise<ResourceList> {
  const query = listQuery(t, f);
  const path = t.parent ? `/remoteconfigs/${enc(parentName ?? '')}/revisions` : t.path;
  const list = await rt.client.list(path, query, Boolean(f.all));
  if (f.selector && !t.serverSelector) {
    const reqs = parseSelector(f.selector);
    list.items = list.items.filter((r) => matchesSelector(reqs, r.metadata?.labels));
  } else if (f.selector) parseSelector(f.selector); // a malformed selector is a usage error before the server says so
  return list;
}

/**
 * Resources by name; a missing one is reported on stderr (kubectl style) and makes the run fail,
 * while the others are still shown (a watch passes `quietIfMissing`: absence is its DELETED).
 */
export async function getByNames(rt: CliRuntime, t: ResourceType, names: string[], includeDeleted = false, quietIfMissing = false): Promise<Resource[]> {
  if (t.listOnly) throw new UsageError(`${t.plural} entries are listed, not read by name: use filters (see opampctl get --help)`);
  const out: Resource[] = [];
  for (const name of names) {
    try {
      out.push(await rt.client.get<Resource>(itemPath(t, name), includeDeleted ? { includeDeleted: true } : undefined));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        if (!quietIfMissing) rt.fail(err.message);
      } else throw err;
    }
  }
  return out;
}

/** Checks a type can be read by name (revisions need the config's name and a revision). */
export function requireNames(t: ResourceType, names: string[], verb: string): void {
  if (!names.length) throw new UsageError(`${verb} ${t.plural} needs a name`);
  if (t.plural === 'audit' && verb !== 'get') throw new CliError(`audit events cannot be ${verb === 'delete' ? 'deleted' : 'edited'}`);
}
