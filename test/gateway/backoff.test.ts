// Retry waits: exponential growth to a cap, full jitter within its bounds, a provider's
// retry-after as a floor up to its cap, and null when the wait would use up the attempt's time.
import { describe, expect, it } from "vitest";
import { backoffCeilingMs, DEFAULT_BACKOFF, retryDelayMs } from "../../src/gateway/backoff.js";
import type { RandomSource } from "../../src/gateway/routing.js";
import { ProviderFailure } from "../../src/providers/errors.js";

const http503 = new ProviderFailure("http", 503);
const timeout = new ProviderFailure("timeout");
const withRetryAfter = (ms: number) => new ProviderFailure("http", 429, ms);
/** Just below 1: the top of the jitter's range. */
const TOP = 1 - Number.EPSILON;
const fixed = (r: number): RandomSource => () => r;

describe("retryDelayMs", () => {
  it("doubles the ceiling with each retry up to maxDelayMs", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffCeilingMs(n, DEFAULT_BACKOFF))).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    // At the top of the jitter, the wait is (just under) the ceiling.
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, http503, DEFAULT_BACKOFF, fixed(TOP), Infinity))).toEqual([99, 199, 399, 799, 1599, 1999]);
    // A retry count far past the doubling stays at the cap (no Infinity, no NaN).
    expect(retryDelayMs(10_000, timeout, DEFAULT_BACKOFF, fixed(TOP), Infinity)).toBe(1999);
  });

  it("jitters uniformly within [0, ceiling) and is deterministic with an injected random", () => {
    expect(retryDelayMs(3, http503, DEFAULT_BACKOFF, fixed(0), Infinity)).toBe(0);
    expect(retryDelayMs(3, http503, DEFAULT_BACKOFF, fixed(0.5), Infinity)).toBe(200);
    expect(retryDelayMs(3, http503, DEFAULT_BACKOFF, fixed(0.25), Infinity)).toBe(100);
    // Many draws from a seeded generator: always in bounds, and they spread over the range.
    let seed = 42;
    const lcg: RandomSource = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const waits = Array.from({ length: 2000 }, () => retryDelayMs(4, http503, DEFAULT_BACKOFF, lcg, Infinity)!);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThan(800);
    expect(Math.min(...waits)).toBeLessThan(80);
    expect(Math.max(...waits)).toBeGreaterThan(720);
    expect(waits.every(Number.isInteger)).toBe(true);
    // A misbehaving source cannot push the wait out of its range.
    expect(retryDelayMs(1, http503, DEFAULT_BACKOFF, fixed(7), Infinity)).toBe(0);
    expect(retryDelayMs(1, http503, DEFAULT_BACKOFF, fixed(Number.NaN), Infinity)).toBe(0);
  });

  it("draws exactly one random number per call, retry-after or not", () => {
    let draws = 0;
    const counting: RandomSource = () => (draws++, 0.5);
    retryDelayMs(1, http503, DEFAULT_BACKOFF, counting, Infinity);
    retryDelayMs(1, withRetryAfter(5_000), DEFAULT_BACKOFF, counting, Infinity);
    retryDelayMs(1, withRetryAfter(60_000), DEFAULT_BACKOFF, counting, Infinity);
    expect(draws).toBe(3);
  });

  it("waits at least the provider's retry-after, and longer when the backoff is longer", () => {
    expect(retryDelayMs(1, withRetryAfter(3_000), DEFAULT_BACKOFF, fixed(0.9), Infinity)).toBe(3_000);
    expect(retryDelayMs(6, withRetryAfter(50), DEFAULT_BACKOFF, fixed(0.5), Infinity)).toBe(1_000);
    // A fractional retry-after is rounded up, never below what was asked.
    expect(retryDelayMs(1, withRetryAfter(1234.2), DEFAULT_BACKOFF, fixed(0), Infinity)).toBe(1235);
    // Zero or negative (an HTTP date already past) is no retry-after at all.
    expect(retryDelayMs(1, withRetryAfter(0), DEFAULT_BACKOFF, fixed(0.5), Infinity)).toBe(50);
    expect(retryDelayMs(1, withRetryAfter(-5_000), DEFAULT_BACKOFF, fixed(0.5), Infinity)).toBe(50);
  });

  it("gives up on the target when the retry-after exceeds its cap", () => {
    expect(retryDelayMs(1, withRetryAfter(10_000), DEFAULT_BACKOFF, fixed(0), Infinity)).toBe(10_000);
    expect(retryDelayMs(1, withRetryAfter(10_001), DEFAULT_BACKOFF, fixed(0), Infinity)).toBeNull();
    expect(retryDelayMs(1, withRetryAfter(Infinity), DEFAULT_BACKOFF, fixed(0), Infinity)).toBeNull();
    const patient = { ...DEFAULT_BACKOFF, maxRetryAfterMs: 60_000 };
    expect(retryDelayMs(1, withRetryAfter(30_000), patient, fixed(0), Infinity)).toBe(30_000);
  });

  it("gives up on the target when the wait would leave no time for the call", () => {
    expect(retryDelayMs(3, http503, DEFAULT_BACKOFF, fixed(0.5), 201)).toBe(200);
    expect(retryDelayMs(3, http503, DEFAULT_BACKOFF, fixed(0.5), 200)).toBeNull();
    expect(retryDelayMs(1, withRetryAfter(2_000), DEFAULT_BACKOFF, fixed(0), 1_999)).toBeNull();
    expect(retryDelayMs(1, withRetryAfter(2_000), DEFAULT_BACKOFF, fixed(0), 2_500)).toBe(2_000);
    // No time left at all: not even an immediate retry.
    expect(retryDelayMs(1, http503, DEFAULT_BACKOFF, fixed(0), 0)).toBeNull();
  });

  it("counts retries from 1", () => {
    expect(() => retryDelayMs(0, http503, DEFAULT_BACKOFF, fixed(0), Infinity)).toThrow(RangeError);
    expect(() => retryDelayMs(1.5, http503, DEFAULT_BACKOFF, fixed(0), Infinity)).toThrow(RangeError);
  });
});
