// Which addresses an outbound call may reach: public unicast only, unless configuration allows
// private networks (development and tests). Every notation is normalised first: the WHATWG URL
// parser turns decimal, hex, octal and short IPv4 forms into dotted quads, and IPv4-mapped or
// NAT64 IPv6 addresses are judged by the IPv4 address inside them.
import ipaddr from "ipaddr.js";

export class EndpointRefusedError extends Error {}

const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "metadata.azure.internal", "instance-data", "instance-data.ec2.internal"]);

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");

/** Undefined when the address is public unicast; otherwise why it is refused. */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return "not an IP address";
  let ip = ipaddr.parse(address);
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      ip = v6.toIPv4Address();
    } else if (v6.range() === "rfc6145" || v6.match(NAT64_WELL_KNOWN)) {
      // SIIT and well-known NAT64 (/96): the last 32 bits are the IPv4 address reached.
      ip = ipaddr.fromByteArray(v6.toByteArray().slice(-4));
    } else if (v6.range() === "rfc6052") {
      // Local-use NAT64 (64:ff9b:1::/48) places the IPv4 address by prefix length, and
      // translates into the operator's own network: never public.
      return "local-use NAT64 address";
    } else if (!v6.match(GLOBAL_UNICAST_V6)) {
      // Outside 2000::/3: loopback, unspecified, IPv4-compatible (::a.b.c.d), link-local,
      // unique-local (fd00:ec2::254 is a metadata service), multicast, unassigned.
      return v6.range() === "unicast" ? "non-global IPv6 address" : `${v6.range()} address`;
    }
  }
  const range = ip.range();
  return range === "unicast" ? undefined : `${range} address`;
}

export function stripBrackets(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

export interface UrlRules {
  allowPrivateNetwork: boolean;
}

/**
 * Checks what can be checked without the network: https (http only with private networks
 * allowed), no credentials, query or fragment, and no literal address or well-known metadata
 * name that is refused. Returns the parsed URL.
 */
export function checkUrlShape(raw: string, rules: UrlRules): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EndpointRefusedError("The URL cannot be parsed");
  }
  if (url.protocol !== "https:" && !(rules.allowPrivateNetwork && url.protocol === "http:")) {
    throw new EndpointRefusedError("The URL must use https");
  }
  if (url.username || url.password) throw new EndpointRefusedError("The URL must not contain credentials");
  if (url.search || url.hash || raw.includes("#") || /\?/.test(raw)) throw new EndpointRefusedError("The URL must not have a query or fragment");
  if (rules.allowPrivateNetwork) return url;
  const host = stripBrackets(url.hostname).toLowerCase().replace(/\.$/, "");
  if (METADATA_HOSTS.has(host) || host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) {
    throw new EndpointRefusedError("The URL names a local or metadata host");
  }
  if (ipaddr.isValid(host)) {
    const refusal = addressRefusal(host);
    if (refusal) throw new EndpointRefusedError(`The URL points at a ${refusal}`);
  }
  return url;
}
