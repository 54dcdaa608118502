// Where every counter lives: the policies' rate limits, the abuse limits and the failed-
// authentication brake. One process keeps them in memory; several nodes would share them in
// Redis (INCRBYFLOAT on key:windowStart plus a GET of the previous window, in one MULTI; a hold
// is SET key until PXAT until), so this is the only surface the limiters touch.

export interface WindowCounts {
  /** The count of the window that was added to, after the addition. */
  current: number;
  /** The count of the window just before it. */
  previous: number;
}

export interface CounterStore {
  /**
   * Adds `delta` (negative to give back) to `key`'s count in the window that starts at
   * `windowStart` and returns that window's count and its predecessor's. A window older than
   * the previous one is gone: adding to it changes nothing. Counts never drop below zero.
   */
  add(key: string, windowStart: number, windowMs: number, delta: number): WindowCounts;
  /** Holds `key` until `untilMs` (a lockout), unless it is already held longer; returns when the hold ends. */
  hold(key: string, untilMs: number): number;
  /** When `key`'s hold ends, or 0 when it is not held at `nowMs`. */
  heldUntil(key: string, nowMs: number): number;
}

interface Slot {
  windowMs: number;
  start: number;
  count: number;
  previousStart: number;
  previousCount: number;
}

/** Holds kept at most; past it, the one set longest ago is dropped. */
const MAX_HOLDS = 100_000;

/** The in-memory store: two windows per key, keys idle for two windows are swept once per window. */
export class MemoryCounterStore implements CounterStore {
  private readonly slots = new Map<string, Slot>();
  private readonly holds = new Map<string, number>();
  private sweptAt = 0;

  hold(key: string, untilMs: number): number {
    const until = Math.max(this.holds.get(key) ?? 0, untilMs);
    // Re-inserted, so that the map's order is the order holds were last set: oldest first.
    this.holds.delete(key);
    if (this.holds.size >= MAX_HOLDS) this.dropOldestHold();
    this.holds.set(key, until);
    return until;
  }

  heldUntil(key: string, nowMs: number): number {
    const until = this.holds.get(key) ?? 0;
    return until > nowMs ? until : 0;
  }

  private dropOldestHold(): void {
    // Every hold lasts one lockout, so the one set longest ago is the first to have ended.
    const oldest = this.holds.keys().next();
    if (!oldest.done) this.holds.delete(oldest.value);
  }

  add(key: string, windowStart: number, windowMs: number, delta: number): WindowCounts {
    this.sweep(windowStart, windowMs);
    let slot = this.slots.get(key);
    if (!slot) {
      if (delta <= 0) return { current: 0, previous: 0 };
      slot = { windowMs, start: windowStart, count: 0, previousStart: windowStart - windowMs, previousCount: 0 };
      this.slots.set(key, slot);
    }
    if (windowStart > slot.start) {
      const adjacent = windowStart - slot.start === windowMs;
      slot.previousStart = windowStart - windowMs;
      slot.previousCount = adjacent ? slot.count : 0;
      slot.start = windowStart;
      slot.count = 0;
    }
    if (windowStart === slot.start) {
      slot.count = Math.max(0, slot.count + delta);
      return { current: slot.count, previous: slot.previousCount };
    }
    if (windowStart === slot.previousStart) {
      slot.previousCount = Math.max(0, slot.previousCount + delta);
      return { current: slot.previousCount, previous: 0 };
    }
    return { current: 0, previous: 0 };
  }

  /** Keys held, for tests of the sweep. */
  get size(): number {
    return this.slots.size;
  }

  private sweep(windowStart: number, windowMs: number): void {
    if (windowStart - this.sweptAt < windowMs) return;
    this.sweptAt = windowStart;
    // Each key by its own window length: the brake's windows are longer than the rate limits'.
    for (const [key, slot] of this.slots) if (slot.start + 2 * slot.windowMs <= windowStart) this.slots.delete(key);
  }
}
