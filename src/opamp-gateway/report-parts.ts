import type { Agent } from '../agents/agent.schema';
import {
  componentsToStored,
  configMapToStored,
  connectionSettingsStatusToStored,
  descriptionToStored,
  healthToStored,
  packageStatusesToStored,
  packageTerms,
  remoteConfigStatusToStored,
} from '../agents/agent-report.mapper';
import type { StoredAgentSummary } from '../agents/agents.service';
import type { AgentToServer } from '../gen/opamp/v1/opamp_pb';

/** What one report adds: the fields to store, and a components catalog to keep by its hash. */
export interface ReportParts {
  parts: Partial<Agent>;
  catalog?: { hash: string; components: unknown[] };
}

/**
 * Takes one AgentToServer into what the server holds of the agent: the parts the message
 * carries, in stored form, are returned and noted in `holds` (so the delivery policy decides on
 * them in this very answer). Clients omit unchanged fields, so an absent part changes nothing,
 * and capabilities 0 means "unchanged", never "none".
 */
export function takeReport(msg: AgentToServer, holds: StoredAgentSummary): ReportParts {
  const parts: Partial<Agent> = {};
  let catalog: ReportParts['catalog'];
  if (msg.capabilities !== 0n && Number(msg.capabilities) !== holds.capabilities) {
    parts.capabilities = Number(msg.capabilities);
    holds.capabilities = parts.capabilities;
  }
  if (msg.agentDescription) {
    parts.description = descriptionToStored(msg.agentDescription);
    holds.hasDescription = true;
    holds.description = parts.description;
  }
  if (msg.health) {
    parts.health = healthToStored(msg.health);
    holds.hasHealth = true;
  }
  if (msg.effectiveConfig) {
    parts.effectiveConfig = { configMap: configMapToStored(msg.effectiveConfig.configMap) };
    holds.hasEffectiveConfig = true;
  }
  if (msg.remoteConfigStatus) {
    parts.remoteConfigStatus = remoteConfigStatusToStored(msg.remoteConfigStatus);
    holds.hasRemoteConfigStatus = true;
    holds.remoteConfigStatus = parts.remoteConfigStatus;
  }
  if (msg.packageStatuses) {
    parts.packageStatuses = packageStatusesToStored(msg.packageStatuses);
    parts.packageTerms = packageTerms(parts.packageStatuses);
    holds.hasPackageStatuses = true;
    holds.packageStatuses = parts.packageStatuses;
  }
  if (msg.connectionSettingsStatus) {
    parts.connectionSettingsStatus = connectionSettingsStatusToStored(msg.connectionSettingsStatus);
    holds.hasConnectionSettingsStatus = true;
  }
  if (msg.customCapabilities) parts.customCapabilities = [...msg.customCapabilities.capabilities];
  if (msg.availableComponents) {
    const hash = Buffer.from(msg.availableComponents.hash).toString('hex');
    const components = msg.availableComponents.components;
    // The map comes only when the server asked for it (ReportAvailableComponents); it is kept once per hash.
    if (Object.keys(components).length > 0) catalog = { hash, components: componentsToStored(components) };
    if (hash !== holds.availableComponentsHash) {
      parts.availableComponentsHash = hash;
      holds.availableComponentsHash = hash;
    }
  }
  return { parts, catalog };
}
