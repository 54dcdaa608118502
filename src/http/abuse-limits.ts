// Request rates that keep one caller from flooding the server: failing requests per address
// (on by default: answers of 400 and above, whoever sent them, so that a scanner or a broken
// client is slowed down before it costs anything more), and all requests per principal (off by
// default: automation and benchmarks send thousands of calls a second, and policies already limit
// model calls). Both count in the same counter store as the policies' rate limits, per minute,
// on the injected clock; an address is an IPv4 address or an IPv6 /64.
import type { Clock } from "../clock.js";
import { addressBucket } from "../auth/failure-limiter.js";
import { MemoryCounterStore, type CounterStore } from "../gateway/counter-store.js";
import { RateLimiter } from "../gateway/rate-limiter.js";

export interface AbuseLimitOptions {
  /** Failing requests per address per minute before every request from it is refused. */
  addressFailuresPerMinute: number;
  /** Requests per principal per minute; null for no limit. */
  principalRequestsPerMinute: number | null;
}

export class AbuseLimits {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly options: AbuseLimitOptions,
    private readonly clock: Clock,
    store: CounterStore = new MemoryCounterStore(),
  ) {
    this.limiter = new RateLimiter(store);
  }

  /** Seconds to wait when the address has used up its failures for now, else undefined. Counts nothing. */
  addressRefused(ip: string): number | undefined {
    const r = this.limiter.consume(`address\u0000${addressBucket(ip)}`, this.options.addressFailuresPerMinute, 0, this.now());
    return r.ok ? undefined : (r.retryAfterSeconds ?? 60);
  }

  /** A request from the address was answered with an error. */
  failed(ip: string): void {
    // Refused when the allowance is spent: then nothing more is counted, and the refusals stop as the minute passes.
    this.limiter.consume(`address\u0000${addressBucket(ip)}`, this.options.addressFailuresPerMinute, 1, this.now());
  }

  /** Counts a request of the principal; seconds to wait when it is over its limit. */
  principalRefused(principalId: string): number | undefined {
    const limit = this.options.principalRequestsPerMinute;
    if (limit === null) return undefined;
    const r = this.limiter.consume(`principal\u0000${principalId}`, limit, 1, this.now());
    return r.ok ? undefined : (r.retryAfterSeconds ?? 60);
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}
