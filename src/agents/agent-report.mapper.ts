import type { AnyValue, KeyValue } from '../gen/opamp/v1/anyvalue_pb';
import type {
  AgentConfigMap,
  AgentDescription,
  ComponentDetails,
  ComponentHealth,
  ConnectionSettingsStatus,
  PackageStatuses,
  RemoteConfigStatus,
} from '../gen/opamp/v1/opamp_pb';
import { ConnectionSettingsStatuses, PackageStatusEnum, RemoteConfigStatuses } from '../gen/opamp/v1/opamp_pb';
import { storedArray, storedDouble, storedKvlist } from '../common/stored-any-value';
import type { StoredConfigFile, StoredHealth, StoredPackageStatuses } from './agent.schema';

/**
 * Turns protobuf parts reported by agents into the plain documents stored for them. 64-bit
 * integers become numbers when they fit and decimal strings otherwise; bytes become base64;
 * arrays and key/value lists take the stored form of src/common/stored-any-value.ts (which every
 * supported database accepts; the REST views turn it back into plain JSON).
 */
export function anyValueToPlain(v: AnyValue | undefined, depth = 0): unknown {
  if (!v || depth > 32) return null;
  const val = v.value;
  switch (val.case) {
    case 'stringValue':
    case 'boolValue':
      return val.value;
    case 'doubleValue':
      return storedDouble(val.value);
    case 'intValue':
      return bigToPlain(val.value);
    case 'bytesValue':
      return Buffer.from(val.value).toString('base64');
    case 'arrayValue':
      return storedArray(val.value.values.map((x) => anyValueToPlain(x, depth + 1)));
    case 'kvlistValue':
      return storedKvlist(val.value.values.map((kv) => ({ key: kv.key, value: anyValueToPlain(kv.value, depth + 1) })));
    default:
      return null;
  }
}

export function bigToPlain(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
}

export function keyValues(kvs: KeyValue[]): { key: string; value: unknown }[] {
  return kvs.map((kv) => ({ key: kv.key, value: anyValueToPlain(kv.value) }));
}

export function descriptionToStored(d: AgentDescription) {
  return { identifying: keyValues(d.identifyingAttributes), nonIdentifying: keyValues(d.nonIdentifyingAttributes) };
}

/** A time of 0 means "not reported": left out rather than stored as null. */
function nanosToDate(n: bigint): Date | undefined {
  return n === 0n ? undefined : new Date(Number(n / 1_000_000n));
}

export function healthToStored(h: ComponentHealth, depth = 0): StoredHealth {
  const stored: StoredHealth = {
    healthy: h.healthy,
    lastError: h.lastError,
    status: h.status,
    components: [],
  };
  const startTime = nanosToDate(h.startTimeUnixNano);
  const statusTime = nanosToDate(h.statusTimeUnixNano);
  if (startTime) stored.startTime = startTime;
  if (statusTime) stored.statusTime = statusTime;
  if (h.attributes.length) stored.attributes = keyValues(h.attributes);
  stored.components =
    depth >= 16
      ? []
      : Object.entries(h.componentHealthMap)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, c]) => ({ name, ...healthToStored(c, depth + 1) }));
  if (depth === 0) Object.assign(stored, componentCounts(stored.components));
  return stored;
}

/** Components in a health tree (every level below the top) and how many of them are unhealthy. */
function componentCounts(components: StoredHealth[]): { componentCount: number; unhealthyComponentCount: number } {
  let componentCount = 0;
  let unhealthyComponentCount = 0;
  const walk = (cs: StoredHealth[]) =>
    cs.forEach((c) => {
      componentCount++;
      if (!c.healthy) unhealthyComponentCount++;
      walk(c.components);
    });
  walk(components);
  return { componentCount, unhealthyComponentCount };
}

export function configMapToStored(m: AgentConfigMap | undefined): StoredConfigFile[] {
  return (
    Object.entries(m?.configMap ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      // A view of the decoded bytes, not a copy: at 8 KB per Collector config and thousands of reports a
      // second, the copies were a visible share of the garbage collector's work.
      .map(([name, f]) => ({
        name,
        contentType: f.contentType,
        body: Buffer.from(f.body.buffer, f.body.byteOffset, f.body.byteLength),
        size: f.body.byteLength,
      }))
  );
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function remoteConfigStatusToStored(s: RemoteConfigStatus) {
  return {
    lastRemoteConfigHash: hex(s.lastRemoteConfigHash),
    status: (RemoteConfigStatuses[s.status] ?? String(s.status)).replace(/^RemoteConfigStatuses_/, ''),
    errorMessage: s.errorMessage,
  };
}

export function connectionSettingsStatusToStored(s: ConnectionSettingsStatus) {
  return {
    lastConnectionSettingsHash: hex(s.lastConnectionSettingsHash),
    status: (ConnectionSettingsStatuses[s.status] ?? String(s.status)).replace(/^ConnectionSettingsStatuses_/, ''),
    errorMessage: s.errorMessage,
  };
}

export function packageStatusesToStored(p: PackageStatuses): StoredPackageStatuses {
  return {
    packages: Object.entries(p.packages)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, s]) => ({
        name: s.name || name,
        agentHasVersion: s.agentHasVersion,
        agentHasHash: hex(s.agentHasHash),
        serverOfferedVersion: s.serverOfferedVersion,
        serverOfferedHash: hex(s.serverOfferedHash),
        status: packageStatusName(s.status),
        errorMessage: s.errorMessage,
        downloadPercent: s.downloadDetails?.downloadPercent,
        downloadBytesPerSecond: s.downloadDetails?.downloadBytesPerSecond,
      })),
    serverProvidedAllPackagesHash: hex(p.serverProvidedAllPackagesHash),
    errorMessage: p.errorMessage,
  };
}

/** A PackageStatusEnum as stored and shown: INSTALLED, INSTALL_PENDING, INSTALLING, INSTALL_FAILED, DOWNLOADING (like APPLIED for configs). */
export function packageStatusName(status: PackageStatusEnum): string {
  const name = PackageStatusEnum[status];
  if (!name) return String(status);
  return name
    .replace(/^PackageStatusEnum_/, '')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toUpperCase();
}

/** The indexed terms of reported package statuses (see Agent.packageTerms): what the package counts are made of. */
export function packageTerms(p: StoredPackageStatuses): string[] {
  const terms = new Set<string>();
  for (const s of p.packages) {
    if (!s.name) continue;
    terms.add(`pkg:${s.name}`);
    if (s.agentHasVersion) terms.add(`pkg:${s.name}@${s.agentHasVersion}`);
    if (s.status) terms.add(`pkg:${s.name}#${s.status}`);
  }
  return [...terms].sort();
}

export function componentsToStored(components: Record<string, ComponentDetails>, depth = 0): unknown[] {
  return Object.entries(components)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, d]) => ({
      name,
      metadata: keyValues(d.metadata),
      components: depth >= 16 ? [] : componentsToStored(d.subComponentMap, depth + 1),
    }));
}
