// Brute-force brake: after too many failed authentications from one address within a window,
// further failures from it answer RATE_LIMITED until the lockout passes. Successful
// authentications are never refused, so a locked-out address with valid credentials works.
import ipaddr from "ipaddr.js";
import type { Clock } from "../clock.js";

export interface FailureLimits {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

interface Entry {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

const MAX_TRACKED = 100_000;

/**
 * The unit that is counted: an IPv4 address, or an IPv6 /64, since one IPv6 host usually
 * controls a whole /64 and would otherwise get a fresh allowance from every address in it.
 */
export function addressBucket(address: string): string {
  if (!address.includes(":") || !ipaddr.IPv6.isValid(address)) return address;
  return ipaddr.IPv6.parse(address).toNormalizedString().split(":").slice(0, 4).join(":") + "::/64";
}

export class AuthFailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limits: FailureLimits,
    private readonly clock: Clock,
  ) {}

  /** Seconds until the address may fail again without a 429, or undefined when it is not locked out. */
  lockedFor(address: string): number | undefined {
    const now = this.clock.now().getTime();
    const lockedUntil = this.entries.get(addressBucket(address))?.lockedUntil ?? 0;
    return lockedUntil > now ? Math.ceil((lockedUntil - now) / 1000) : undefined;
  }

  /** Records a failure; returns the seconds until retry when the address is (now) locked out. */
  fail(ip: string): number | undefined {
    const address = addressBucket(ip);
    const now = this.clock.now().getTime();
    let e = this.entries.get(address);
    if (!e || now - e.windowStart > this.limits.windowMs) {
      if (this.entries.size >= MAX_TRACKED) this.evict(now);
      e = { failures: 0, windowStart: now, lockedUntil: e?.lockedUntil ?? 0 };
      this.entries.set(address, e);
    }
    if (e.lockedUntil > now) return Math.ceil((e.lockedUntil - now) / 1000);
    e.failures++;
    if (e.failures > this.limits.maxFailures) {
      e.lockedUntil = now + this.limits.lockoutMs;
      return Math.ceil(this.limits.lockoutMs / 1000);
    }
    return undefined;
  }

  private evict(now: number): void {
    for (const [address, e] of this.entries) {
      if (e.lockedUntil <= now && now - e.windowStart > this.limits.windowMs) this.entries.delete(address);
    }
    if (this.entries.size >= MAX_TRACKED) this.entries.clear();
  }
}
