import { agentCapabilityNames } from '../opamp-gateway/protocol/capabilities';
import type { Agent, StoredConfigFile, StoredHealth } from './agent.schema';

/** Content types whose bodies are shown as text; anything else is shown as base64. */
export function isTextContentType(contentType: string): boolean {
  const t = contentType.split(';')[0].trim().toLowerCase();
  return (
    t === '' || // the Collector supervisor may omit it for its YAML
    t.startsWith('text/') ||
    /^application\/(.+\+)?(json|yaml|x-yaml|xml|toml)$/.test(t) ||
    t === 'application/x-ndjson'
  );
}

/** Bodies come back from the driver as BSON Binary (lean reads) or Buffer (fresh writes). */
function bytesOf(b: unknown): Buffer {
  if (Buffer.isBuffer(b)) return b;
  const inner = (b as { buffer?: Uint8Array }).buffer;
  return inner ? Buffer.from(inner) : Buffer.alloc(0);
}

function configFileView(f: StoredConfigFile) {
  const body = bytesOf(f.body);
 const text = body.toString('utf8');
  // Text only when the content type says so and the bytes really are UTF-8.
  return isTextContentType(f.contentType) && Buffer.from(text, 'utf8').equals(body)
    ? { contentType: f.contentType, body: body.toString('utf8') }
    : { contentType: f.contentType, bodyBase64: body.toString('base64') };
}

function attributes(kvs: { key: string; value: unknown }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, kv.value]));
}

function healthView(h: StoredHealth): Record<string, unknown> {
  return {
    healthy: h.healthy,
    startTime: h.startTime,
    status: h.status || undefined,
    lastError: h.lastError || undefined,
    statusTime: h.statusTime,
    attributes: h.attributes ? attributes(h.attributes) : undefined,
    components: h.components.length ? Object.fromEntries(h.components.map((c) => [c.name, healthView(c)])) : undefined,
  };
}

/** True while the agent is connected; an HTTP agent until it misses 3 poll intervals. */
export function isConnected(agent: Agent, httpCutoff: Date): boolean {
  const c = agent.connection;
  if (!c?.connected) return false;
  return c.transport !== 'http' || new Date(c.lastSeenAt) >= httpCutoff;
}

/** The REST shape of an agent: `{kind, apiVersion, metadata, spec, status}`. */
export function toAgentResource(agent: Agent, httpCutoff: Date) {
  const c = agent.connection;
  const caps = agent.capabilities ?? 0;
  const connected = isConnected(agent, httpCutoff);
  return {
    kind: 'Agent',
    apiVersion: 'v1',
    metadata: {
      name: agent._id,
      instanceUid: agent._id,
      labels: agent.labels ?? {},
      createdAt: agent.firstSeenAt,
      updatedAt: agent.updatedAt,
    },
    spec: {
      /** The agent's own configuration (overrides its group), as set through update-agent-config. */
      assignedConfig: agent.assignedConfig ?? undefined,
    },
    status: {
      connected,
      connection: {
        transport: c?.transport,
        remoteAddress: c?.remoteAddress,
        connectedAt: c?.connectedAt,
        // An HTTP agent that stopped polling is disconnected since its last poll, even before the sweeper records it.
        disconnectedAt: connected ? undefined : c?.connected ? c.lastSeenAt : c?.disconnectedAt,
        lastSeenAt: c?.lastSeenAt,
        sequenceNum: c?.sequenceNum,
        replica: c?.replicaId,
      },
      description: agent.description
        ? {
            identifyingAttributes: attributes(agent.description.identifying),
            nonIdentifyingAttributes: attributes(agent.description.nonIdentifying),
          }
        : undefined,
      capabilities: { value: caps, names: agentCapabilityNames(BigInt(caps)) },
      health: agent.health ? healthView(agent.health) : undefined,
      effectiveConfig: agent.effectiveConfig
        ? { configMap: Object.fromEntries(agent.effectiveConfig.configMap.map((f) => [f.name, configFileView(f)])) }
        : undefined,
      remoteConfigStatus: agent.remoteConfigStatus,
      /** Delivery: what the agent should run (hash, origin), what was sent, and the resulting state. */
      remoteConfig: agent.remoteConfig ?? undefined,
      connectionSettingsOffer: agent.connectionSettingsOffer ?? undefined,
      packageStatuses: agent.packageStatuses,
      availableComponents: agent.availableComponentsHash ? { hash: agent.availableComponentsHash } : undefined,
      customCapabilities: agent.customCapabilities,
      connectionSettingsStatus: agent.connectionSettingsStatus,
    },
  };
}
