// How long to wait before retrying the same target: exponential backoff with full jitter, and a
// provider's retry-after honoured up to a cap. Pure: the attempt loop waits through Clock.sleep.
//
// Written here rather than taken from cockatiel (read in 4.0.0): its jitter generators call
// Math.random() directly, so they cannot take our RandomSource and are not deterministic in
// tests; its ExponentialBackoff is a chain of immutable states meant for its own RetryPolicy
// (which sleeps on setTimeout), and it knows nothing of retry-after or of the time left for the
// attempt. What remains is one line of arithmetic. 4.0.0 also declares engines node >= 22; we run
// on Node 20.
import type { ProviderFailure } from "../providers/errors.js";
import type { RandomSource } from "./routing.js";

export interface BackoffOptions {
  /** The ceiling of the first retry's wait; it doubles with each retry. */
  baseDelayMs: number;
  /** The most the doubling may reach. */
  maxDelayMs: number;
  /** The longest provider retry-after honoured; a longer one means "not this target now". */
  maxRetryAfterMs: number;
}

/**
 * 100 ms doubling to 2 s: a gateway call is interactive and its retries share the caller's
 * deadline, so waits stay short and the tail bounded (ceilings 100, 200, 400, 800, 1600, 2000...).
 * 10 s of retry-after: a provider asking for longer is better answered by the next target than
 * by holding the client's connection open.
 */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  maxRetryAfterMs: 10_000,
});

/** The jitter's upper bound for a retry (1 for the first): min(max, base * 2^(retry - 1)). */
export function backoffCeilingMs(retry: number, options: BackoffOptions): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry counts from 1, got ${retry}`);
  // 2^30 times any sane base is far past any max; the bound keeps 2 ** n finite.
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(retry - 1, 30));
}

/**
 * The wait in whole ms before retry number `retry` (1 for the first) of a target that just
 * failed with `failure`, or null for "do not retry this target" (the caller moves on to the next).
 *
 * - Full jitter: uniform in [0, backoffCeilingMs(retry)), which spreads retries of many callers
 *   best (AWS's "Exponential Backoff And Jitter"); stateless, unlike decorrelated jitter, which
 *   needs the previous wait.
 * - A provider's retry-after is a floor: the wait is max(jitter, retryAfterMs). One longer than
 *   maxRetryAfterMs gives null. A retry-after of zero or less (an HTTP date in the past) is none.
 * - The wait must leave time for the call: a wait of remainingMs or more gives null.
 *
 * Draws exactly one number from `random` on every call, so a test's sequence stays aligned.
 */
export function retryDelayMs(
  retry: number,
  failure: ProviderFailure,
  options: BackoffOptions,
  random: RandomSource,
  remainingMs: number,
): number | null {
  const ceiling = backoffCeilingMs(retry, options);
  const r = random();
  // A source outside [0, 1) must not push the wait past its ceiling or below zero.
  let delay = Math.floor((r >= 0 && r < 1 ? r : 0) * ceiling);
  const retryAfter = failure.retryAfterMs;
  if (retryAfter !== null && retryAfter > 0) {
    if (retryAfter > options.maxRetryAfterMs) return null;
    delay = Math.max(delay, Math.ceil(retryAfter));
  }
  return delay < remainingMs ? delay : null;
}
