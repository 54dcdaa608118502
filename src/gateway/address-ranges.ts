// A policy's allowed caller addresses. Ranges are stored canonical (policy.validation.ts): IPv4
// ranges as IPv4, IPv4-mapped IPv6 ranges of /96 or longer already turned into IPv4. A caller's
// IPv4-mapped IPv6 address is judged as the IPv4 address inside it, and an IPv4 caller only
// against IPv4 ranges (::/0 means every IPv6 address, not every address).
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** The caller's address as it is judged, or undefined when it is not an IP address. */
export function parseCallerAddress(ip: string | null): Address | undefined {
  if (ip === null || !ipaddr.isValid(ip)) return undefined;
  const parsed = ipaddr.parse(ip);
  return parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed;
}

export class AddressRanges {
  private readonly v4: [ipaddr.IPv4, number][] = [];
  private readonly v6: [ipaddr.IPv6, number][] = [];

  constructor(ranges: string[]) {
    for (const range of ranges) {
      // Stored ranges passed validation; one that no longer parses (a hand-edited row) allows nobody.
      let parsed: [Address, number];
      try {
        parsed = ipaddr.parseCIDR(range);
      } catch {
        continue;
      }
      const [network, bits] = parsed;
      if (network instanceof ipaddr.IPv4) this.v4.push([network, bits]);
      else if (network.isIPv4MappedAddress() && bits >= 96) this.v4.push([network.toIPv4Address(), bits - 96]);
      else this.v6.push([network, bits]);
    }
  }

  contains(address: Address): boolean {
    if (address instanceof ipaddr.IPv4) return this.v4.some(([network, bits]) => address.match(network, bits));
    return this.v6.some(([network, bits]) => address.match(network, bits));
  }
}
