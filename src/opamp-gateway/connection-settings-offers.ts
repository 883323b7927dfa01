import { create } from '@bufbuild/protobuf';
import type { ConnectionSettings, ProxySettings } from '../agent-groups/agent-group.mapper';
import { stableHash } from '../protocol/config-hash';
import {
  AgentCapabilities as Cap,
  ConnectionSettingsOffers,
  ConnectionSettingsOffersSchema,
  HeaderSchema,
  HeadersSchema,
  OpAMPConnectionSettingsSchema,
  ProxyConnectionSettingsSchema,
  TelemetryConnectionSettingsSchema,
} from '../gen/opamp/v1/opamp_pb';
import { hasCapability } from '../protocol/capabilities';

const headers = (h?: Record<string, string>) =>
  h && Object.keys(h).length
    ? create(HeadersSchema, {
        headers: Object.keys(h)
          .sort()
          .map((key) => create(HeaderSchema, { key, value: h[key] })),
      })
    : undefined;

const proxy = (p?: ProxySettings) => (p ? create(ProxyConnectionSettingsSchema, { url: p.url, connectHeaders: headers(p.connectHeaders) }) : undefined);

/** What the hash covers of a proxy: present only when set, so adding no proxy keeps earlier hashes. */
const describedProxy = (p?: ProxySettings) => (p ? { proxy: { url: p.url, connectHeaders: p.connectHeaders ?? {} } } : {});

/**
 * The connection settings offer for one agent: only the parts its capabilities accept, with a
 * hash over exactly what is offered (so the hash changes exactly when the content does).
 * Rules (server-behaviour.md): `opamp` needs AcceptsOpAMPConnectionSettings, or for the
 * heartbeat interval alone ReportsHeartbeat; the interval is always filled (0 would silently
 * disable opamp-go's heartbeats); own telemetry needs ReportsOwn*. The spec requires a non-empty
 * destination endpoint in `opamp`, so an agent that accepts OpAMP settings gets the heartbeat
 * only together with a configured endpoint.
 */
export function buildOffers(
  s: ConnectionSettings,
  capabilities: bigint,
  defaultHeartbeatSeconds: number,
): { offers: ConnectionSettingsOffers; hashHex: string } | undefined {
  const offers = create(ConnectionSettingsOffersSchema, {});
  const described: Record<string, unknown> = {};
  const heartbeat = BigInt(s.heartbeatIntervalSeconds ?? defaultHeartbeatSeconds);
  const acceptsOpamp = hasCapability(capabilities, Cap.AgentCapabilities_AcceptsOpAMPConnectionSettings);
  if (acceptsOpamp && s.opamp?.endpoint) {
    offers.opamp = create(OpAMPConnectionSettingsSchema, {
      destinationEndpoint: s.opamp.endpoint,
      headers: headers(s.opamp.headers),
      heartbeatIntervalSeconds: heartbeat,
      proxy: proxy(s.opamp.proxy),
    });
    described.opamp = { endpoint: s.opamp.endpoint, headers: s.opamp.headers ?? {}, heartbeat: Number(heartbeat), ...describedProxy(s.opamp.proxy) };
  } else if (!acceptsOpamp && s.heartbeatIntervalSeconds && hasCapability(capabilities, Cap.AgentCapabilities_ReportsHeartbeat)) {
    offers.opamp = create(OpAMPConnectionSettingsSchema, { heartbeatIntervalSeconds: heartbeat });
    described.opamp = { heartbeat: Number(heartbeat) };
  }
  const telemetry = [
    ['ownMetrics', Cap.AgentCapabilities_ReportsOwnMetrics],
    ['ownTraces', Cap.AgentCapabilities_ReportsOwnTraces],
    ['ownLogs', Cap.AgentCapabilities_ReportsOwnLogs],
  ] as const;
  for (const [key, cap] of telemetry) {
    const t = s[key];
    if (!t?.endpoint || !hasCapability(capabilities, cap)) continue;
    offers[key] = create(TelemetryConnectionSettingsSchema, { destinationEndpoint: t.endpoint, headers: headers(t.headers), proxy: proxy(t.proxy) });
    described[key] = { endpoint: t.endpoint, headers: t.headers ?? {}, ...describedProxy(t.proxy) };
  }
  if (Object.keys(described).length === 0) return undefined;
  const hash = stableHash(described);
  offers.hash = hash;
  return { offers, hashHex: hash.toString('hex') };
}
