/** IP parsing and CIDR matching, delegated to ipaddr.js (no hand-written CIDR arithmetic). */
import ipaddr from "ipaddr.js";

export type Ip = ipaddr.IPv4 | ipaddr.IPv6;
export type Subnet = [Ip, number];

/**
 * Parses a client IP. Only four-part decimal IPv4 and standard IPv6 are accepted (no `127.1`,
 * octal or hex forms); IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is treated as the IPv4 address.
 */
export function parseIp(input: string): Ip | null {
  const hit = ipMemo.get(input);
  if (hit !== undefined) return hit;
  const ip = parseIpUncached(input);
  if (ipMemo.size >= 4096) ipMemo.clear();
  ipMemo.set(input, ip);
  return ip;
}

// Pure memo (parsed addresses are never mutated by callers).
const ipMemo = new Map<string, Ip | null>();

function parseIpUncached(input: string): Ip | null {
  const s = input.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return ipaddr.IPv4.parse(s);
  if (s.includes(":") && ipaddr.IPv6.isValid(s)) {
    const v6 = ipaddr.IPv6.parse(s);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return null;
}

/** Parses a subnetwork in CIDR notation; the host bits must be zero (as Access Context Manager requires). */
export function parseSubnet(input: string): { ok: true; value: Subnet } | { ok: false; error: string } {
  const s = input.trim();
  const slash = s.indexOf("/");
  if (slash < 0) return { ok: false, error: `"${input}" is not in CIDR notation` };
  const addr = s.slice(0, slash);
  const isV4 = ipaddr.IPv4.isValidFourPartDecimal(addr);
  const isV6 = !isV4 && addr.includes(":") && ipaddr.IPv6.isValid(addr);
  if (!isV4 && !isV6) return { ok: false, error: `"${input}" has an invalid address` };
  if (!/^\d{1,3}$/.test(s.slice(slash + 1))) return { ok: false, error: `"${input}" has an invalid prefix length` };
  let parsed: Subnet;
  try {
    parsed = ipaddr.parseCIDR(s);
  } catch {
    return { ok: false, error: `"${input}" has an invalid prefix length` };
  }
  const network = isV4 ? ipaddr.IPv4.networkAddressFromCIDR(s) : ipaddr.IPv6.networkAddressFromCIDR(s);
  if (network.toString() !== parsed[0].toString()) return { ok: false, error: `"${input}" has host bits set (use ${network.toString()}/${parsed[1]})` };
  return { ok: true, value: parsed };
}

export function ipInSubnet(ip: Ip, subnet: Subnet): boolean {
  return ip.kind() === subnet[0].kind() && ip.match(subnet);
}
