import { AgentCapabilities, ServerCapabilities } from '../gen/opamp/v1/opamp_pb';

const AGENT_CAPABILITY_BITS: [string, bigint][] = Object.entries(AgentCapabilities)
  .filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] !== 0)
  .map(([name, bit]) => [name.replace(/^AgentCapabilities_/, ''), BigInt(bit)]);

/** Names by capability value: a fleet has a handful of distinct values, and every list item shows them. */
const namesByValue = new Map<bigint, readonly string[]>();

/** Short capability names (the spec's prose names) of the bits set in `value`. */
export function agentCapabilityNames(value: bigint): readonly string[] {
  let names = namesByValue.get(value);
  if (!names) {
    names = Object.freeze(AGENT_CAPABILITY_BITS.filter(([, bit]) => (value & bit) !== 0n).map(([name]) => name));
    // Bounded: values outside the 16 defined bits are not kept.
    if (value < 1n << 16n) namesByValue.set(value, names);
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
  BigInt(ServerCapabilities.ServerCapabilities_OffersPackages) |
  BigInt(ServerCapabilities.ServerCapabilities_AcceptsPackagesStatus) |
  BigInt(ServerCapabilities.ServerCapabilities_OffersConnectionSettings);
