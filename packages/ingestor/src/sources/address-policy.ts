import ipaddr from 'ipaddr.js';

/**
 * Which network addresses the ingestor may connect to. By default only public unicast addresses:
 * private, loopback, link-local (cloud metadata at 169.254.169.254), unique-local, CGNAT, multicast,
 * reserved and unspecified ranges are refused, for IPv4, IPv6 and IPv4-mapped IPv6 alike. Exceptions are
 * explicit: allow everything (INGEST_ALLOW_PRIVATE_ADDRESSES) or listed CIDRs (INGEST_ALLOWED_CIDRS).
 */
export interface AddressPolicy {
  allowPrivate: boolean;
  allowedCidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

export function parseCidrs(list: string): AddressPolicy['allowedCidrs'] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((cidr) => ipaddr.parseCIDR(cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`));
}

export function isValidCidrList(list: string): boolean {
  try {
    parseCidrs(list);
    return true;
  } catch {
    return false;
  }
}

/** null when the address may be used, otherwise why not (e.g. "loopback"). */
export function refusalFor(address: string, policy: AddressPolicy): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address); // also unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1)
  } catch {
    return 'not an IP address';
  }
  for (const [net, bits] of policy.allowedCidrs) {
    if (ip.kind() === net.kind() && ip.match(net, bits)) return null;
  }
  const range = ip.range();
  if (range === 'unicast') return null;
  return policy.allowPrivate ? null : range;
}
