// The caller's address: the TCP peer, unless that peer is a proxy that configuration trusts,
// in which case the nearest untrusted address of X-Forwarded-For.
import type { IncomingMessage } from "node:http";
import { isIPv4 } from "node:net";
import ipaddr from "ipaddr.js";

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function normalize(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.isValid(address)) return undefined;
  const parsed = ipaddr.parse(address);
  return parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
}

export class ClientAddressResolver {
  private readonly ranges: Range[];

  constructor(trustedProxies: string[]) {
    this.ranges = trustedProxies.map((p) => (p.includes("/") ? ipaddr.parseCIDR(p) : [ipaddr.parse(p), ipaddr.parse(p).kind() === "ipv4" ? 32 : 128]) as Range);
  }

  private trusted(address: string): boolean {
    const ip = normalize(address);
    return !!ip && this.ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits));
  }

  resolve(req: IncomingMessage): string {
    const peer = peerAddress(req.socket.remoteAddress);
    if (this.ranges.length === 0 || !this.trusted(peer)) return peer;
    const header = req.headers["x-forwarded-for"];
    const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((h) => h.trim()).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]);
      if (!hop) return peer;
      if (!this.trusted(hop.toString())) return hop.toString();
    }
    return peer;
  }
}

/** The TCP peer as text, IPv4-mapped IPv6 shown as IPv4; the socket's own notation needs no full parse. */
function peerAddress(remote: string | undefined): string {
  if (!remote) return "unknown";
  if (remote.startsWith("::ffff:") && isIPv4(remote.slice(7))) return remote.slice(7);
  if (isIPv4(remote)) return remote;
  return normalize(remote)?.toString() ?? "unknown";
}

export function isAddressOrCidr(value: string): boolean {
  try {
    if (value.includes("/")) ipaddr.parseCIDR(value);
    else if (!ipaddr.isValid(value)) return false;
    return true;
  } catch {
    return false;
  }
}
