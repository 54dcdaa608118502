// Brute-force brake: after too many failed authentications from one address within a window,
// further failures from it answer RATE_LIMITED until the lockout passes. Successful
// authentications are never refused, so a locked-out address with valid credentials works.
import ipaddr from "ipaddr.js";
import type { Clock } from "../clock.js";
import { MemoryCounterStore, type CounterStore } from "../gateway/counter-store.js";

export interface FailureLimits {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

/**
 * The unit that is counted: an IPv4 address, or an IPv6 /64, since one IPv6 host usually
 * controls a whole /64 and would otherwise get a fresh allowance from every address in it.
 */
export function addressBucket(address: string): string {
  if (!address.includes(":") || !ipaddr.IPv6.isValid(address)) return address;
  return ipaddr.IPv6.parse(address).toNormalizedString().split(":").slice(0, 4).join(":") + "::/64";
}

export class AuthFailureLimiter {
  constructor(
    private readonly limits: FailureLimits,
    private readonly clock: Clock,
    private readonly store: CounterStore = new MemoryCounterStore(),
  ) {}

  /** Seconds until the address may fail again without a 429, or undefined when it is not locked out. */
  lockedFor(address: string): number | undefined {
    const now = this.clock.now().getTime();
    return secondsLeft(this.store.heldUntil(`lockout\u0000${addressBucket(address)}`, now), now);
  }

  /** Records a failure; returns the seconds until retry when the address is (now) locked out. */
  fail(ip: string): number | undefined {
    const address = addressBucket(ip);
    const now = this.clock.now().getTime();
    const lockKey = `lockout\u0000${address}`;
    const locked = secondsLeft(this.store.heldUntil(lockKey, now), now);
    // A locked-out address's failures are not counted: the lockout ends when it says it does.
    if (locked !== undefined) return locked;
    const { windowMs, maxFailures, lockoutMs } = this.limits;
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const { current, previous } = this.store.add(`failures\u0000${address}`, windowStart, windowMs, 1);
    // Sliding window, as the rate limits: failures spread across a window boundary still count together.
    if (previous * (1 - (now - windowStart) / windowMs) + current <= maxFailures) return undefined;
    return secondsLeft(this.store.hold(lockKey, now + lockoutMs), now);
  }
}

function secondsLeft(untilMs: number, nowMs: number): number | undefined {
  return untilMs > nowMs ? Math.ceil((untilMs - nowMs) / 1000) : undefined;
}
