import { AgentCapabilities, ServerCapabilities } from '../../gen/opamp/v1/opamp_pb';

/** Short capability names (the spec's prose names) of the bits set in `value`. */
export function agentCapabilityNames(value: bigint): string[] {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(AgentCapabilities)) {
    if (typeof bit !== 'number' || bit === 0) continue;
    if ((value & BigInt(bit)) !== 0n) names.push(name.replace(/^AgentCapabilities_/, ''));
  }
  return names;
}

export function hasCapability(value: bigint, cap: AgentCapabilities): boolean {
  return (value & BigInt(cap)) !== 0n;
}

/**
 * The bits this server really supports; the one place that says so. Packages (OffersPackages)
 * and the CSR flow (AcceptsConnectionSettingsRequest) are not offered: not implemented.
 */
export const SERVER_CAPABILITIES: bigint =
  BigInt(ServerCapabilities.ServerCapabilities_AcceptsStatus) |
  BigInt(ServerCapabilities.ServerCapabilities_OffersRemoteConfig) |
  BigInt(ServerCapabilities.ServerCapabilities_AcceptsEffectiveConfig) |
  BigInt(ServerCapabilities.ServerCapabilities_AcceptsPackagesStatus) |
  BigInt(ServerCapabilities.ServerCapabilities_OffersConnectionSettings);
