import { CliError } from './cli-errors';
import { formatAge } from './human-time';
import { field, firstField, isObject, Resource, text } from './resource-fields';
import { lastCondition, stageText } from './rollout-status';
import type { TableColumn } from './table';

/** The resource types opampctl knows: their names and short names, REST paths and table columns. */

export interface ColumnDef extends TableColumn {
  value(r: Resource, now: number): string;
  /** Only with `-o wide`. */
  wide?: boolean;
  /** Changes without a real change to the resource (ages); a watch ignores it when deciding what changed. */
  volatile?: boolean;
}

export interface ResourceType {
  /** Canonical plural name, used in URLs: `agents`. */
  plural: string;
  /** Used in `-o name` output and messages: `agent/ID`. */
  singular: string;
  /** The `kind` of its manifests. */
  kind: string;
  aliases: string[];
  /** REST path under /api/v1. */
  path: string;
  columns: ColumnDef[];
  /** How a change is written: a full replace with resourceVersion, a label patch, a merge patch of the spec, or not at all. */
  update: 'replace' | 'labels' | 'patch-spec' | 'immutable' | 'none';
  /** Created from a spec alone; the server chooses the name (enrollment tokens). */
  createsWithoutName?: boolean;
  /** Only listed, never read one by one (the audit log). */
  listOnly?: boolean;
  /** Supports `?selector=` on the server (else `-l` filters on the client over metadata.labels). */
  serverSelector?: boolean;
  /** Listed under a parent (remote config revisions under a remote config). */
  parent?: string;
  /** Soft-deleted resources can be listed with `?includeDeleted=true`. */
  softDelete?: boolean;
  nameOf?(r: Resource): string;
}

const age = (path: string, header = 'AGE', wide = false): ColumnDef => ({
  header,
  volatile: true,
  wide,
  value: (r, now) => (field(r, path) ? formatAge(field(r, path) as string, now) : '<none>'),
});

const name: ColumnDef = { header: 'NAME', value: (r) => text(r.metadata?.name) };
const labels: ColumnDef = { header: 'LABELS', wide: true, truncate: true, value: (r) => text(r.metadata?.labels) };

const yesNo = (v: unknown) => (v === true ? 'true' : v === false ? 'false' : '<none>');

/** Where delivery of the agent's configuration stands (applied, applying, pending, failed, unsupported). */
const deliveryState = (r: Resource) => field(r, 'status.remoteConfig.state');

function groupConfigs(r: Resource): string {
  const cs = field(r, 'spec.configs');
  if (!Array.isArray(cs) || !cs.length) return '<none>';
  return cs.map((c) => (isObject(c) ? `${c.fileName ? `${c.fileName}=` : ''}${c.remoteConfig}${c.revision ? `@${c.revision}` : ''}` : '')).join(',');
}

/** `checkout=1,own-config=2`: who governs the agents a group matches but does not govern. */
function overriddenBy(r: Resource): string {
  const o = field(r, 'status.overriddenBy');
  if (!Array.isArray(o) || !o.length) return '<none>';
  return o.map((x) => (isObject(x) ? `${x.kind === 'group' ? x.group : 'own-config'}=${x.agents}` : '')).join(',');
}

/** `linux/amd64,darwin`: the platforms a package version has files for (`any` for a file without one). */
function packagePlatforms(r: Resource): string {
  const files = field(r, 'spec.files');
  if (!Array.isArray(files) || !files.length) return '<none>';
  return files.map((f) => (isObject(f) && typeof f.platform === 'string' ? f.platform : 'any')).join(',');
}

/** `2/2 verified`, `1/2 signed`, `no`: how many files carry a signature, and whether the server verified them. */
function packageSigned(r: Resource): string {
  const files = field(r, 'status.files');
  if (!Array.isArray(files) || !files.length) return '<none>';
  const signed = files.filter((f) => isObject(f) && f.signed === true).length;
  const verified = files.filter((f) => isObject(f) && f.signatureVerified === true).length;
  if (!signed) return 'no';
  return verified === signed ? `${verified}/${files.length} verified` : `${signed}/${files.length} signed`;
}

function selectorText(sel: unknown): string {
  if (typeof sel === 'string') return sel || '<all>';
  if (!isObject(sel)) return '<none>';
  const parts: string[] = [];
  if (isObject(sel.matchLabels)) for (const [k, v] of Object.entries(sel.matchLabels)) parts.push(`${k}=${v}`);
  if (Array.isArray(sel.matchExpressions)) {
    for (const e of sel.matchExpressions as { key: string; operator: string; values?: string[] }[]) {
      const op = e.operator;
      if (op === 'Exists') parts.push(e.key);
      else if (op === 'DoesNotExist') parts.push(`!${e.key}`);
      else parts.push(`${e.key} ${op.toLowerCase()} (${(e.values ?? []).join(',')})`);
    }
  }
  return parts.length ? parts.join(',') : '<all>';
}

export const RESOURCE_TYPES: ResourceType[] = [
  {
    plural: 'agents',
    singular: 'agent',
    kind: 'Agent',
    aliases: ['agent', 'ag'],
    path: '/agents',
    update: 'labels',
    serverSelector: true,
    columns: [
      { header: 'NAME', value: (r) => text(r.metadata?.name) },
      { header: 'SERVICE', truncate: true, value: (r) => text(field(r, "status.description.identifyingAttributes['service.name']")) },
      { header: 'VERSION', truncate: true, value: (r) => text(field(r, "status.description.identifyingAttributes['service.version']")) },
      { header: 'HOST', truncate: true, wide: true, value: (r) => text(field(r, "status.description.nonIdentifyingAttributes['host.name']")) },
      { header: 'TRANSPORT', value: (r) => text(field(r, 'status.connection.transport')) },
      { header: 'CONNECTED', value: (r) => yesNo(field(r, 'status.connected')) },
      { header: 'HEALTHY', value: (r) => yesNo(field(r, 'status.health.healthy')) },
      { header: 'CONFIG', value: (r) => text(deliveryState(r)) },
      { header: 'REPORTED', wide: true, value: (r) => text(field(r, 'status.remoteConfigStatus.status')) },
      { header: 'CONFIG HASH', wide: true, truncate: true, minWidth: 12, value: (r) => text(field(r, 'status.remoteConfigStatus.lastRemoteConfigHash')) },
      { header: 'ADDRESS', wide: true, truncate: true, value: (r) => text(field(r, 'status.connection.remoteAddress')) },
      { header: 'REPLICA', wide: true, truncate: true, value: (r) => text(field(r, 'status.connection.replica')) },
      { header: 'ACCEPTED/S', wide: true, align: 'right', value: (r) => text(field(r, 'status.ownTelemetry.acceptedPerSecond')) },
      { header: 'SENT/S', wide: true, align: 'right', value: (r) => text(field(r, 'status.ownTelemetry.sentPerSecond')) },
      { header: 'TELEMETRY', wide: true, truncate: true, value: (r) => ownTelemetryText(field(r, 'status.ownTelemetry.conditions')) },
      age('status.connection.lastSeenAt', 'LAST SEEN'),
      age('metadata.createdAt'),
      labels,
    ],
  },
  {
    plural: 'agentgroups',
    singular: 'agentgroup',
    kind: 'AgentGroup',
    aliases: ['agentgroup', 'group', 'groups', 'grp'],
    path: '/agentgroups',
    update: 'replace',
    softDelete: true,
    columns: [
      name,
      { header: 'SELECTOR', truncate: true, minWidth: 10, value: (r) => selectorText(field(r, 'spec.selector')) },
      { header: 'PRIORITY', align: 'right', value: (r) => text(field(r, 'spec.priority')) },
      // The agents the group governs (its config is theirs); OVERRIDDEN: matched, but governed elsewhere.
      { header: 'AGENTS', align: 'right', value: (r) => text(field(r, 'status.agents')) },
      { header: 'OVERRIDDEN', align: 'right', value: (r) => text(field(r, 'status.matchedNotGoverned')) },
      { header: 'OVERRIDDEN BY', wide: true, truncate: true, value: overriddenBy },
      { header: 'CONNECTED', align: 'right', value: (r) => text(field(r, 'status.connected')) },
      { header: 'HEALTHY', align: 'right', value: (r) => text(field(r, 'status.healthy')) },
      { header: 'APPLIED', align: 'right', value: (r) => text(field(r, 'status.config.applied')) },
      { header: 'APPLYING', align: 'right', wide: true, value: (r) => text(field(r, 'status.config.applying')) },
      { header: 'PENDING', align: 'right', wide: true, value: (r) => text(field(r, 'status.config.pending')) },
      { header: 'FAILED', align: 'right', value: (r) => text(field(r, 'status.config.failed')) },
      { header: 'CONFIGS', truncate: true, wide: true, value: groupConfigs },
      { header: 'RV', wide: true, value: (r) => text(r.metadata?.resourceVersion) },
      age('metadata.createdAt'),
      labels,
    ],
  },
  {
    plural: 'remoteconfigs',
    singular: 'remoteconfig',
    kind: 'RemoteConfig',
    aliases: ['remoteconfig', 'rc', 'rcs'],
    path: '/remoteconfigs',
    update: 'replace',
    softDelete: true,
    columns: [
      name,
      { header: 'CONTENT TYPE', truncate: true, value: (r) => text(field(r, 'spec.contentType')) },
      { header: 'REVISION', align: 'right', value: (r) => text(field(r, 'status.latestRevision')) },
      {
        header: 'HASH',
        wide: true,
        value: (r) => text(typeof field(r, 'status.hash') === 'string' ? (field(r, 'status.hash') as string).slice(0, 12) : undefined),
      },
      { header: 'AUTHOR', truncate: true, wide: true, value: (r) => text(field(r, 'status.lastChange.author')) },
      { header: 'LAST CHANGE', truncate: true, value: (r) => text(field(r, 'status.lastChange.message')) },
      { header: 'DESCRIPTION', truncate: true, wide: true, value: (r) => text(field(r, 'spec.description')) },
      age('metadata.updatedAt', 'UPDATED'),
      age('metadata.createdAt'),
    ],
  },
  {
    plural: 'revisions',
    singular: 'revision',
    kind: 'RemoteConfigRevision',
    aliases: ['revision', 'rev', 'history'],
    path: '/remoteconfigs',
    parent: 'remoteconfigs',
    update: 'none',
    nameOf: (r) => `${r.metadata?.name}@${field(r, 'metadata.revision')}`,
    columns: [
      { header: 'REVISION', align: 'right', value: (r) => text(field(r, 'metadata.revision')) },
      { header: 'HASH', value: (r) => text(typeof field(r, 'metadata.hash') === 'string' ? (field(r, 'metadata.hash') as string).slice(0, 12) : undefined) },
      { header: 'CONTENT TYPE', truncate: true, wide: true, value: (r) => text(field(r, 'spec.contentType')) },
      { header: 'AUTHOR', truncate: true, value: (r) => text(field(r, 'metadata.author')) },
      { header: 'MESSAGE', truncate: true, minWidth: 10, value: (r) => text(field(r, 'metadata.message')) },
      age('metadata.createdAt'),
    ],
  },
  {
    plural: 'rollouts',
    singular: 'rollout',
    kind: 'Rollout',
    aliases: ['rollout', 'ro'],
    path: '/rollouts',
    update: 'replace',
    columns: [
      name,
      { header: 'GROUP', truncate: true, value: (r) => text(field(r, 'spec.target.group')) },
      { header: 'PHASE', value: (r) => text(field(r, 'status.phase')) },
      { header: 'STAGE', value: (r) => stageText(r) },
      { header: 'REACHED', align: 'right', value: (r) => `${text(field(r, 'status.reached'))}/${text(field(r, 'status.targetAgents'), '?')}` },
      { header: 'REASON', truncate: true, value: (r) => text(lastCondition(r)?.reason) },
      { header: 'CONFIGS', truncate: true, wide: true, value: groupConfigs },
      { header: 'MESSAGE', truncate: true, wide: true, value: (r) => text(lastCondition(r)?.message) },
      age('metadata.createdAt'),
    ],
  },
  {
    plural: 'enrollment-tokens',
    singular: 'token',
    kind: 'EnrollmentToken',
    aliases: ['token', 'tokens', 'enrollmenttoken', 'enrollmenttokens', 'enrollment-token', 'et'],
    path: '/enrollment-tokens',
    // The server names tokens and never changes them; delete revokes.
    update: 'none',
    createsWithoutName: true,
    columns: [
      name,
      { header: 'STATE', value: (r) => text(field(r, 'status.state')) },
      { header: 'DESCRIPTION', truncate: true, value: (r) => text(field(r, 'spec.description')) },
      { header: 'LABELS', truncate: true, value: (r) => text(field(r, 'spec.labels')) },
      { header: 'EXPIRES', value: (r) => expiresText(field(r, 'spec.expiresAt')) },
      age('status.lastUsedAt', 'LAST USED'),
      { header: 'CREATED BY', wide: true, truncate: true, value: (r) => text(field(r, 'metadata.createdBy')) },
      age('metadata.createdAt'),
    ],
  },
  {
    plural: 'packages',
    singular: 'package',
    kind: 'AgentPackage',
    aliases: ['package', 'pkg', 'pkgs', 'agentpackage', 'agentpackages'],
    path: '/packages',
    // A version never changes once created: apply creates it or finds it as the manifest says.
    update: 'immutable',
    softDelete: true,
    columns: [
      name,
      { header: 'TYPE', value: (r) => text(field(r, 'spec.type')) },
      { header: 'FILES', align: 'right', value: (r) => text(field(r, 'status.fileCount')) },
      { header: 'PLATFORMS', truncate: true, value: (r) => packagePlatforms(r) },
      { header: 'SIGNED', wide: true, value: (r) => packageSigned(r) },
      { header: 'DESCRIPTION', truncate: true, wide: true, value: (r) => text(field(r, 'spec.description')) },
      age('metadata.createdAt'),
    ],
  },
  {
    plural: 'users',
    singular: 'user',
    kind: 'User',
    aliases: ['user', 'usr'],
    path: '/users',
    update: 'patch-spec',
    columns: [
      name,
      { header: 'ROLE', value: (r) => text(field(r, 'spec.role')) },
      { header: 'SOURCE', value: (r) => text(field(r, 'status.source')) },
      { header: 'GITHUB', truncate: true, wide: true, value: (r) => text(field(r, 'spec.githubLogin')) },
      { header: 'PASSWORD', wide: true, value: (r) => yesNo(field(r, 'status.hasPassword')) },
      { header: 'DISABLED', value: (r) => yesNo(field(r, 'spec.disabled')) },
      age('status.lastLoginAt', 'LAST LOGIN'),
      age('metadata.createdAt'),
    ],
  },
  {
    plural: 'audit',
    singular: 'audit',
    kind: 'AuditEvent',
    aliases: ['audits', 'auditlog', 'auditevent', 'auditevents'],
    path: '/audit',
    update: 'none',
    listOnly: true,
    columns: [
      age('metadata.createdAt', 'TIME'),
      { header: 'ACTOR', truncate: true, value: (r) => text(firstField(r, 'actor.username', 'actor')) },
      { header: 'ACTION', value: (r) => text(field(r, 'action')) },
      { header: 'RESOURCE', truncate: true, value: (r) => auditResource(r) },
      { header: 'OUTCOME', value: (r) => text(field(r, 'outcome')) },
      { header: 'STATUS', wide: true, value: (r) => text(field(r, 'request.status')) },
      { header: 'SUMMARY', truncate: true, value: (r) => text(firstField(r, 'summary', 'changes')) },
      { header: 'CHANGES', truncate: true, wide: true, value: (r) => text(field(r, 'changes')) },
      { header: 'ID', wide: true, value: (r) => text(r.metadata?.name) },
    ],
  },
  {
    // GET /fleet/packages: what runs where, per package (counts of indexed package terms).
    plural: 'fleetpackages',
    singular: 'fleetpackage',
    kind: 'FleetPackage',
    aliases: ['fleetpackage', 'fleetpkg', 'fp'],
    path: '/fleet/packages',
    update: 'none',
    listOnly: true,
    nameOf: (r) => text(field(r, 'name')),
    columns: [
      { header: 'NAME', value: (r) => text(field(r, 'name')) },
      { header: 'AGENTS', align: 'right', value: (r) => text(field(r, 'agents')) },
      { header: 'VERSIONS', truncate: true, value: (r) => packageVersionCounts(field(r, 'versions')) },
      { header: 'LATEST', value: (r) => text(field(r, 'latest')) },
      { header: 'BEHIND', align: 'right', value: (r) => text(field(r, 'behindLatest')) },
      { header: 'FAILED', align: 'right', value: (r) => String(Number(field(r, 'statuses.INSTALL_FAILED') ?? 0)) },
      {
        header: 'INSTALLING',
        align: 'right',
        wide: true,
        value: (r) => String(Number(field(r, 'statuses.INSTALLING') ?? 0) + Number(field(r, 'statuses.DOWNLOADING') ?? 0)),
      },
    ],
  },
  {
    plural: 'replicas',
    singular: 'replica',
    kind: 'Replica',
    aliases: ['replica', 'rep'],
    path: '/replicas',
    update: 'none',
    listOnly: true,
    columns: [
      name,
      { header: 'AGENTS', value: (r) => text(field(r, 'status.agents')) },
      { header: 'BUS', value: (r) => busText(field(r, 'status.bus')) },
      { header: 'REBALANCE', value: (r) => rebalanceText(field(r, 'status.rebalance')) },
      {
        header: 'LEASES',
        truncate: true,
        value: (r) =>
          Array.isArray(field(r, 'status.leases')) && (field(r, 'status.leases') as string[]).length
            ? (field(r, 'status.leases') as string[]).join(',')
            : '<none>',
      },
      { header: 'GONE', value: (r) => yesNo(field(r, 'status.gone')) },
      age('status.heartbeatAt', 'LAST HEARTBEAT'),
      { header: 'VERSION', wide: true, value: (r) => text(field(r, 'status.version')) },
      { header: 'HOST', wide: true, truncate: true, value: (r) => text(field(r, 'status.host')) },
      age('status.startedAt'),
    ],
  },
];

/** The own-telemetry conditions that are True (`Idle,ExportFailing`), `ok` when none, `<none>` without own telemetry. */
function ownTelemetryText(v: unknown): string {
  if (!Array.isArray(v)) return '<none>';
  return v.length ? v.join(',') : 'ok';
}

/** `1.1.0=3,1.0.0=1`: agents per version of a package, newest first as the server lists them. */
function packageVersionCounts(v: unknown): string {
  if (!Array.isArray(v) || !v.length) return '<none>';
  return v.map((x) => (isObject(x) ? `${text(x.version)}=${text(x.agents)}` : '')).join(',');
}

/** `idle`, or `draining 3/10 (shutdown)`: whether the replica is asking agents to reconnect elsewhere. */
function rebalanceText(r: unknown): string {
  if (!isObject(r)) return '<none>';
  if (r.state !== 'draining') return text(r.state);
  return `draining ${text(r.shed ?? 0)}/${text(r.target ?? '?')} (${text(r.reason)})`;
}

/** `nats` / `nats (down)` / `in-process`. */
function busText(bus: unknown): string {
  if (!isObject(bus)) return '<none>';
  return bus.connected === false ? `${text(bus.kind)} (down)` : text(bus.kind);
}

function expiresText(v: unknown): string {
  if (typeof v !== 'string' || !v) return '<never>';
  const t = Date.parse(v);
  if (!Number.isFinite(t)) return v;
  return t <= Date.now() ? 'expired' : `in ${formatAge(Date.now(), t)}`;
}

function auditResource(r: Resource): string {
  const res = field(r, 'resource');
  if (isObject(res)) return text(res.name ? `${res.kind}/${res.name}` : res.kind);
  return text(res);
}

/** Finds a type by any of its names, case-insensitively. */
export function findResourceType(nameOrAlias: string): ResourceType | undefined {
  const n = nameOrAlias.toLowerCase();
  return RESOURCE_TYPES.find((t) => t.plural === n || t.singular === n || t.kind.toLowerCase() === n || t.aliases.includes(n));
}

/** As findResourceType, but an unknown name is an error naming the known ones. */
export function resolveResourceType(nameOrAlias: string): ResourceType {
  const t = findResourceType(nameOrAlias);
  if (!t) {
    throw new CliError(
      `the server doesn't have a resource type "${nameOrAlias}" (known: ${RESOURCE_TYPES.map((x) => x.plural).join(', ')}; see opampctl api-resources)`,
    );
  }
  return t;
}

/** The type whose manifests carry this `kind`. */
export function typeOfKind(kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.kind === kind) ?? findResourceType(kind);
}

/** The name of a resource, for `-o name` and messages. */
export function nameOf(t: ResourceType, r: Resource): string {
  return t.nameOf ? t.nameOf(r) : text(r.metadata?.name, '');
}

/** `agentgroup/checkout`. */
export function qualifiedName(t: ResourceType, r: Resource | string): string {
  return `${t.singular}/${typeof r === 'string' ? r : nameOf(t, r)}`;
}
