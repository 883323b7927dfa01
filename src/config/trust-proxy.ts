import { isIP } from 'node:net';

/** What Fastify's `trustProxy` is given: off, any peer, the first N hops, or these peers. */
export type TrustProxy = boolean | number | string[];

/** Range names Fastify (proxy-addr) knows. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** True for an IPv4/IPv6 address, or one with a /prefix of a valid length. */
function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY as Fastify takes it. Empty (the default) or `false`: no forwarding header is
 * believed, the client address is the peer's. `*` or `true`: any peer. One integer N: the
 * N-th address from the right of X-Forwarded-For (N proxies in front). Otherwise addresses,
 * CIDRs and the names loopback/linklocal/uniquelocal. Returns an error message for anything else.
 */
export function parseTrustProxy(entries: string[]): TrustProxy | { error: string } {
  const list = entries.map((e) => e.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0 || (list.length === 1 && list[0] === 'false')) return false;
  if (list.length === 1 && (list[0] === '*' || list[0] === 'true')) return true;
  if (list.length === 1 && /^\d+$/.test(list[0])) {
    const hops = Number(list[0]);
    if (hops < 1 || hops > 64) return { error: `a hop count must be between 1 and 64, got ${hops}` };
    return hops;
  }
  const bad = list.filter((e) => !NAMED_RANGES.has(e) && !isAddressOrCidr(e));
  if (bad.length) return { error: `not an address, CIDR or loopback/linklocal/uniquelocal: ${bad.map((b) => JSON.stringify(b)).join(', ')}` };
  return list;
}
