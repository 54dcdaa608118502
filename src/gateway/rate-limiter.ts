// Per-minute limits as a sliding window: the count of the current one-minute window plus the
// previous window's count weighted by how much of it still lies within the last minute. No
// burst of twice the limit across a window boundary (as fixed windows allow), and two numbers
// per key instead of one timestamp per request.
import type { CounterStore } from "./counter-store.js";

export const WINDOW_MS = 60_000;

/** What was counted, so that it can be given back or corrected later. */
export interface Consumption {
  key: string;
  windowStart: number;
  amount: number;
}

export type ConsumeResult = { ok: true; consumption: Consumption } | { ok: false; retryAfterSeconds: number | null };

export class RateLimiter {
  constructor(private readonly store: CounterStore) {}

  /**
   * Counts `amount` against `limit` per minute, or refuses and counts nothing. Refused when the
   * window would exceed the limit, and when nothing is left even for an amount of zero (a call
   * estimated at no tokens still uses some). retryAfterSeconds is null when the amount alone
   * exceeds the limit: waiting does not help.
   */
  consume(key: string, limit: number, amount: number, nowMs: number): ConsumeResult {
    if (amount > limit) return { ok: false, retryAfterSeconds: null };
    const windowStart = Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
    const elapsed = (nowMs - windowStart) / WINDOW_MS;
    // Add first, then judge: with a shared store this never lets two nodes pass together.
    const { current, previous } = this.store.add(key, windowStart, WINDOW_MS, amount);
    const before = previous * (1 - elapsed) + current - amount;
    if (before < limit && before + amount <= limit) return { ok: true, consumption: { key, windowStart, amount } };
    if (amount !== 0) this.store.add(key, windowStart, WINDOW_MS, -amount);
    return { ok: false, retryAfterSeconds: retryAfter(previous, current - amount, amount, limit, elapsed) };
  }

  /** Adds `delta` to what a consumption counted (negative to give back), in the window it was counted in. */
  adjust(consumption: Consumption, delta: number): void {
    if (delta !== 0) this.store.add(consumption.key, consumption.windowStart, WINDOW_MS, delta);
  }
}

/**
 * Seconds until `amount` fits, if nothing else is counted meanwhile: first the previous
 * window's share fades within this window, then this window's own count fades in the next.
 * "Fits" keeps a sliver of room, as consume() refuses when nothing is left.
 */
function retryAfter(previous: number, current: number, amount: number, limit: number, elapsed: number): number {
  const room = Math.max(amount, 1e-9);
  const spare = limit - current - room;
  const waitWindows = previous > 0 && spare > 0
    ? Math.max(0, 1 - spare / previous - elapsed)
    : 1 - elapsed + (current > 0 ? Math.max(0, 1 - (limit - room) / current) : 0);
  // Float noise must not add a second: 7.000000001 s is 7.
  return Math.max(1, Math.ceil((waitWindows * WINDOW_MS) / 1000 - 1e-6));
}
