// Where rate-limit counts live. One process keeps them in memory; several nodes would share them
// in Redis (INCRBYFLOAT on key:windowStart plus a GET of the previous window, in one MULTI), so
// this is the only surface the rate limiter touches.

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
}

interface Slot {
  start: number;
  count: number;
  previousStart: number;
  previousCount: number;
}

/** The in-memory store: two windows per key, keys idle for two windows are swept once per window. */
export class MemoryCounterStore implements CounterStore {
  private readonly slots = new Map<string, Slot>();
  private sweptAt = 0;

  add(key: string, windowStart: number, windowMs: number, delta: number): WindowCounts {
    this.sweep(windowStart, windowMs);
    let slot = this.slots.get(key);
    if (!slot) {
      if (delta <= 0) return { current: 0, previous: 0 };
      slot = { start: windowStart, count: 0, previousStart: windowStart - windowMs, previousCount: 0 };
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
    for (const [key, slot] of this.slots) if (slot.start < windowStart - windowMs) this.slots.delete(key);
  }
}
