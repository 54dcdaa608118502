// The sliding window and its in-memory store: the weighted previous window, corrections to a
// window that has gone, and the sweep that keeps memory bounded.
import { describe, expect, it } from "vitest";
import { MemoryCounterStore } from "../../src/gateway/counter-store.js";
import { RateLimiter, WINDOW_MS } from "../../src/gateway/rate-limiter.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("RateLimiter", () => {
  it("weighs the previous window by the share of it still inside the last minute", () => {
    const limiter = new RateLimiter(new MemoryCounterStore());
    for (let i = 0; i < 10; i++) expect(limiter.consume("k", 10, 1, T0 + 59_000).ok).toBe(true);
    expect(limiter.consume("k", 10, 1, T0 + 59_000)).toEqual({ ok: false, retryAfterSeconds: 7 });
    // 6 s into the next window: 10 * 0.9 = 9 counted, one fits.
    expect(limiter.consume("k", 10, 1, T0 + 66_000).ok).toBe(true);
    expect(limiter.consume("k", 10, 1, T0 + 66_000).ok).toBe(false);
    // Once two whole windows have passed, nothing of them remains.
    for (let i = 0; i < 10; i++) expect(limiter.consume("k", 10, 1, T0 + 3 * WINDOW_MS).ok).toBe(true);
  });

  it("corrects a consumption in its own window, and ignores one whose window has gone", () => {
    const limiter = new RateLimiter(new MemoryCounterStore());
    const first = limiter.consume("t", 100, 80, T0);
    if (!first.ok) throw new Error("refused");
    limiter.adjust(first.consumption, -70);
    expect(limiter.consume("t", 100, 90, T0).ok).toBe(true);
    limiter.adjust(first.consumption, 1000);
    expect(limiter.consume("t", 1000, 1, T0 + 3 * WINDOW_MS).ok).toBe(true);
    // The window of `first` is long gone: correcting it changes nothing now.
    limiter.adjust(first.consumption, 5000);
    expect(limiter.consume("t", 1000, 999, T0 + 3 * WINDOW_MS).ok).toBe(true);
  });
});

describe("MemoryCounterStore", () => {
  it("forgets keys idle for two windows", () => {
    const store = new MemoryCounterStore();
    for (let i = 0; i < 1000; i++) store.add(`key${i}`, T0, WINDOW_MS, 1);
    store.add("busy", T0 + WINDOW_MS, WINDOW_MS, 1);
    expect(store.size).toBe(1001);
    store.add("busy", T0 + 2 * WINDOW_MS, WINDOW_MS, 1);
    expect(store.size).toBe(1);
    expect(store.add("key1", T0 + 2 * WINDOW_MS, WINDOW_MS, -1)).toEqual({ current: 0, previous: 0 });
    expect(store.size).toBe(1);
  });
});

describe("MemoryCounterStore shared by limits of different windows", () => {
  it("keeps a long window's previous count while short windows sweep", () => {
    const store = new MemoryCounterStore();
    const LONG = 5 * WINDOW_MS;
    store.add("brake", T0, LONG, 3);
    // Short-window traffic sweeps every minute; the brake's window is still the previous one until T0 + 2 * LONG.
    for (let m = 1; m < 10; m++) store.add("minute", T0 + m * WINDOW_MS, WINDOW_MS, 1);
    expect(store.add("brake", T0 + LONG, LONG, 1)).toEqual({ current: 1, previous: 3 });
    for (let m = 10; m <= 20; m++) store.add("minute", T0 + m * WINDOW_MS, WINDOW_MS, 1);
    expect(store.add("brake", T0 + 4 * LONG, LONG, 1)).toEqual({ current: 1, previous: 0 });
  });

  it("holds a key until the later of two holds, and forgets a hold that ended", () => {
    const store = new MemoryCounterStore();
    expect(store.heldUntil("lock", T0)).toBe(0);
    expect(store.hold("lock", T0 + 1000)).toBe(T0 + 1000);
    expect(store.hold("lock", T0 + 500)).toBe(T0 + 1000);
    expect(store.heldUntil("lock", T0 + 999)).toBe(T0 + 1000);
    expect(store.heldUntil("lock", T0 + 1000)).toBe(0);
  });
});
