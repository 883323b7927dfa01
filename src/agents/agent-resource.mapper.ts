import { agentCapabilityNames } from '../protocol/capabilities';
import { plainAttributes, plainOfStored } from '../common/stored-any-value';
import type { Agent, StoredConfigFile, StoredHealth } from './agent.schema';
import { connectedAt } from './agent-liveness';

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
  if (b === undefined || b === null) return Buffer.alloc(0);
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

/** A config file in a list summary: what it is and how big, not its content. */
function configFileSummary(f: Omit<StoredConfigFile, 'body'>) {
  return { contentType: f.contentType, size: f.size };
}

const attributes = plainAttributes;

/** A component catalogue as shown: metadata values in plain form (see stored-any-value.ts), recursively. */
export function componentCatalogView(components: unknown[]): unknown[] {
  return components.map((c) => {
    const comp = c as { name?: string; metadata?: { key: string; value: unknown }[]; components?: unknown[] };
    return {
      name: comp.name,
      metadata: (comp.metadata ?? []).map((kv) => ({ key: kv.key, value: plainOfStored(kv.value) })),
      components: componentCatalogView(comp.components ?? []),
    };
  });
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

/**
 * Health in a list summary: the top level without the component tree, with the counts stored
 * beside it (absent for a report stored before they were).
 */
function healthSummary(h: StoredHealth): Record<string, unknown> {
  return {
    ...healthView({ ...h, components: [] }),
    componentCount: h.componentCount,
    unhealthyComponentCount: h.unhealthyComponentCount,
  };
}

/**
 * An agent's packages as shown (issue 21): per package what it runs (version, hash), what it does
 * with the offer (DOWNLOADING with progress, INSTALLING, INSTALLED, INSTALL_FAILED with the
 * error), and where the server's offer stands, with what it refused to offer and why.
 */
export function packagesView(agent: Pick<Agent, 'packageStatuses' | 'packageOffer'>) {
  const reported = agent.packageStatuses;
  const offer = agent.packageOffer;
  if (!reported && !offer) return undefined;
  return {
    installed: (reported?.packages ?? []).map((p) => ({
      name: p.name,
      version: p.agentHasVersion || undefined,
      hash: p.agentHasHash || undefined,
      status: p.status,
      offeredVersion: p.serverOfferedVersion || undefined,
      errorMessage: p.errorMessage || undefined,
      downloadPercent: p.status === 'DOWNLOADING' ? p.downloadPercent : undefined,
      downloadBytesPerSecond: p.status === 'DOWNLOADING' ? p.downloadBytesPerSecond : undefined,
    })),
    reportedAllPackagesHash: reported?.serverProvidedAllPackagesHash || undefined,
    errorMessage: reported?.errorMessage || undefined,
    offer: offer ?? undefined,
  };
}

/**
 * The REST shape of an agent: `{kind, apiVersion, metadata, spec, status}`. `summary` (list items)
 * shows effective config files as content type and size and health without its component tree;
 * it expects a document read with AGENT_LIST_PROJECTIONS.summary (no bodies, no tree).
 */
export function toAgentResource(agent: Agent, httpCutoff: Date, view: 'summary' | 'full' = 'full') {
  const summary = view === 'summary';
  const c = agent.connection;
  const caps = agent.capabilities ?? 0;
  const connected = connectedAt(agent.connection, httpCutoff);
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
      /** The agent's own packages (override its group's by name), as set through PUT /agents/{id}/packages. */
      assignedPackages: agent.assignedPackages ?? undefined,
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
      health: agent.health ? (summary ? healthSummary(agent.health) : healthView(agent.health)) : undefined,
      effectiveConfig: agent.effectiveConfig
        ? { configMap: Object.fromEntries(agent.effectiveConfig.configMap.map((f) => [f.name, summary ? configFileSummary(f) : configFileView(f)])) }
        : undefined,
      remoteConfigStatus: agent.remoteConfigStatus,
      /** Delivery: what the agent should run (hash, origin), what was sent, and the resulting state. */
      remoteConfig: agent.remoteConfig ?? undefined,
      connectionSettingsOffer: agent.connectionSettingsOffer ?? undefined,
      packageStatuses: agent.packageStatuses,
      packages: packagesView(agent),
      availableComponents: agent.availableComponentsHash ? { hash: agent.availableComponentsHash } : undefined,
      customCapabilities: agent.customCapabilities,
      connectionSettingsStatus: connectionSettingsStatusView(agent),
      ownTelemetry: agent.ownTelemetry ?? undefined,
    },
  };
}

/**
 * The agent's ConnectionSettingsStatus with `current`: whether it speaks of the settings last
 * offered (absent when nothing was offered), so a reader can tell "APPLIED" of an old offer from
 * "APPLIED" of the one in force.
 */
function connectionSettingsStatusView(agent: Pick<Agent, 'connectionSettingsStatus' | 'connectionSettingsOffer'>) {
  const s = agent.connectionSettingsStatus;
  if (!s) return undefined;
  const offered = agent.connectionSettingsOffer?.lastSentHash;
  return offered ? { ...s, current: s.lastConnectionSettingsHash === offered } : s;
}
