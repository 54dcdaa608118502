// The per-target breaker and its stats, on a ManualClock: opening on a failure rate or a run of
// failures, the cool-down, one probe at a time, an abandoned probe, the window and the caps.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { DEFAULT_BREAKER_OPTIONS, TargetHealth } from "../../src/gateway/target-health.js";

const K = "vk_1|gpt-4o";

function setup(options: ConstructorParameters<typeof TargetHealth>[1] = {}) {
  const clock = new ManualClock();
  return { clock, health: new TargetHealth(clock, options) };
}

/** Admits a call and reports it, as the attempt loop does. */
function call(health: TargetHealth, key: string, ok: boolean, latencyMs = 100): void {
  const admission = health.acquire(key);
  if (!admission.allowed) throw new Error(`refused: ${admission.reason}`);
  if (ok) health.success(key, latencyMs, admission.probe);
  else health.failure(key, latencyMs, admission.probe);
}

/** Opens the circuit with five failures in a row. */
function trip(health: TargetHealth, key = K): void {
  for (let i = 0; i < 5; i++) call(health, key, false);
}

describe("TargetHealth: the breaker", () => {
  it("admits calls to a target it has never seen, without tracking it", () => {
    const { health } = setup();
    expect(health.acquire(K)).toEqual({ allowed: true, probe: false });
    expect(health.size).toBe(0);
    expect(health.snapshot(K)).toMatchObject({ state: "CLOSED", requests: 0, errorRate: 0, latencyP50Ms: null });
  });

  it("opens after five failures in a row, however spread out", () => {
    const { clock, health } = setup();
    for (let i = 0; i < 4; i++) {
      call(health, K, false);
      clock.advance(10 * 60_000); // a quiet target: never five calls in one window
    }
    expect(health.snapshot(K).state).toBe("CLOSED");
    call(health, K, false);
    expect(health.snapshot(K).state).toBe("OPEN");
  });

  it("a success breaks the run", () => {
    const { health } = setup({ minimumCalls: 100 }); // rate rule out of the way
    for (let i = 0; i < 4; i++) call(health, K, false);
    call(health, K, true);
    for (let i = 0; i < 4; i++) call(health, K, false);
    expect(health.snapshot(K)).toMatchObject({ state: "CLOSED", consecutiveFailures: 4 });
  });

  it("opens when at least half of at least five calls in the window failed", () => {
    const { health } = setup({ consecutiveFailures: Infinity });
    // 4 calls, 3 failed: too few calls to judge.
    for (const ok of [false, true, false, false]) call(health, K, ok);
    expect(health.snapshot(K).state).toBe("CLOSED");
    call(health, K, true); // 5 calls, 3 failed, but a success never opens
    expect(health.snapshot(K).state).toBe("CLOSED");
    call(health, K, false); // 6 calls, 4 failed
    expect(health.snapshot(K).state).toBe("OPEN");
  });

  it("stays closed below the rate, and forgets failures that left the window", () => {
    const { clock, health } = setup({ consecutiveFailures: Infinity });
    for (let i = 0; i < 6; i++) call(health, K, true);
    for (let i = 0; i < 5; i++) call(health, K, false); // 5 of 11 failed: 45 %
    expect(health.snapshot(K).state).toBe("CLOSED");
    clock.advance(60_000); // all eleven leave the window
    for (let i = 0; i < 4; i++) call(health, K, false); // 4 calls: too few
    expect(health.snapshot(K)).toMatchObject({ state: "CLOSED", requests: 4 });
  });

  it("skips the target while open, retryInMs counting down on the clock", () => {
    const { clock, health } = setup();
    trip(health);
    expect(health.acquire(K)).toEqual({ allowed: false, reason: "open", retryInMs: 30_000 });
    clock.advance(12_345);
    expect(health.acquire(K)).toEqual({ allowed: false, reason: "open", retryInMs: 17_655 });
    clock.advance(17_654);
    expect(health.acquire(K)).toEqual({ allowed: false, reason: "open", retryInMs: 1 });
    const snap = health.snapshot(K);
    expect(snap.state).toBe("OPEN");
    expect(snap.nextProbeAt).toEqual(new Date(clock.now().getTime() + 1));
  });

  it("half-open admits one probe and refuses a concurrent caller; a good probe closes it", () => {
    const { clock, health } = setup();
    trip(health);
    clock.advance(30_000);
    expect(health.snapshot(K)).toMatchObject({ state: "HALF_OPEN", probeInFlight: false, nextProbeAt: clock.now() });
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true });
    expect(health.acquire(K)).toEqual({ allowed: false, reason: "probing", retryInMs: 60_000 });
    expect(health.snapshot(K)).toMatchObject({ state: "HALF_OPEN", probeInFlight: true, nextProbeAt: null });
    clock.advance(800);
    health.success(K, 800, true);
    expect(health.snapshot(K)).toMatchObject({ state: "CLOSED", openedAt: null, nextProbeAt: null });
    expect(health.acquire(K)).toEqual({ allowed: true, probe: false });
  });

  it("after closing, the failures that opened it do not re-open it at the next failure", () => {
    const { clock, health } = setup();
    trip(health);
    clock.advance(30_000);
    call(health, K, true); // the probe: closed again, the five failures still in the stats
    expect(health.snapshot(K)).toMatchObject({ state: "CLOSED", requests: 6, failures: 5 });
    for (let i = 0; i < 4; i++) call(health, K, false);
    expect(health.snapshot(K).state).toBe("CLOSED");
    call(health, K, false); // now five in a row since it closed
    expect(health.snapshot(K).state).toBe("OPEN");
  });

  it("a failed probe re-opens it for another cool-down", () => {
    const { clock, health } = setup();
    trip(health);
    clock.advance(30_000);
    const probe = health.acquire(K);
    expect(probe).toEqual({ allowed: true, probe: true });
    clock.advance(2_000);
    health.failure(K, 2_000, true);
    expect(health.acquire(K)).toEqual({ allowed: false, reason: "open", retryInMs: 30_000 });
    expect(health.snapshot(K).openedAt).toEqual(clock.now());
    clock.advance(30_000);
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true });
  });

  it("an abandoned probe does not wedge it: its lease runs out on the clock", () => {
    const { clock, health } = setup({ probeTimeoutMs: 10_000 });
    trip(health);
    clock.advance(30_000);
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true }); // never reported
    clock.advance(9_999);
    expect(health.acquire(K)).toEqual({ allowed: false, reason: "probing", retryInMs: 1 });
    clock.advance(1);
    expect(health.snapshot(K).probeInFlight).toBe(false);
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true });
    expect(health.acquire(K).allowed).toBe(false);
    health.success(K, 50, true);
    expect(health.snapshot(K).state).toBe("CLOSED");
  });

  it("abandon() frees the probe's slot at once, recording nothing", () => {
    const { clock, health } = setup();
    trip(health);
    clock.advance(30_000);
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true });
    health.abandon(K, true);
    expect(health.snapshot(K)).toMatchObject({ state: "HALF_OPEN", requests: 5, probeInFlight: false });
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true });
    // Abandoning an ordinary call, or on an unknown key, changes nothing.
    health.abandon(K, false);
    health.abandon("vk_9|other", true);
    expect(health.acquire(K).allowed).toBe(false);
    expect(health.size).toBe(1);
  });

  it("late outcomes of calls admitted before it opened do not decide the half-open circuit", () => {
    const { clock, health } = setup();
    const early = health.acquire(K); // admitted while CLOSED, slow to finish
    expect(early).toEqual({ allowed: true, probe: false });
    trip(health);
    clock.advance(30_000);
    expect(health.acquire(K)).toEqual({ allowed: true, probe: true });
    health.success(K, 45_000, early.allowed && early.probe);
    expect(health.snapshot(K)).toMatchObject({ state: "HALF_OPEN", probeInFlight: true, requests: 6 });
    health.failure(K, 100, false);
    expect(health.snapshot(K).state).toBe("HALF_OPEN");
  });

  it("keeps a breaker per key", () => {
    const { health } = setup();
    trip(health, "vk_1|gpt-4o");
    expect(health.acquire("vk_1|gpt-4o").allowed).toBe(false);
    expect(health.acquire("vk_2|gpt-4o")).toEqual({ allowed: true, probe: false });
    expect(health.acquire("vk_1|gpt-4o-mini")).toEqual({ allowed: true, probe: false });
  });

  it("refuses nonsense options", () => {
    const clock = new ManualClock();
    expect(() => new TargetHealth(clock, { failureRateThreshold: 0 })).toThrow(RangeError);
    expect(() => new TargetHealth(clock, { failureRateThreshold: 1.5 })).toThrow(RangeError);
    expect(() => new TargetHealth(clock, { windowSize: 0 })).toThrow(RangeError);
    expect(() => new TargetHealth(clock, { minimumCalls: 200 })).toThrow(RangeError);
    expect(() => new TargetHealth(clock, { coolDownMs: -1 })).toThrow(RangeError);
    expect(() => new TargetHealth(clock, { consecutiveFailures: 2.5 })).toThrow(RangeError);
    expect(new TargetHealth(clock, { consecutiveFailures: Infinity }).options.consecutiveFailures).toBe(Infinity);
    expect(new TargetHealth(clock).options).toEqual(DEFAULT_BREAKER_OPTIONS);
  });
});

describe("TargetHealth: stats", () => {
  it("reports the error rate and nearest-rank p50/p95 of successful calls in the window", () => {
    const { clock, health } = setup({ consecutiveFailures: Infinity, failureRateThreshold: 1 });
    for (let ms = 1; ms <= 20; ms++) call(health, K, true, ms * 10); // 10..200 ms
    call(health, K, false, 30_000); // a timeout: counted as a failure, not as a latency
    call(health, K, false, 1);
    clock.advance(5_000);
    const snap = health.snapshot(K);
    expect(snap).toMatchObject({ state: "CLOSED", requests: 22, failures: 2, consecutiveFailures: 2 });
    expect(snap.errorRate).toBeCloseTo(2 / 22);
    expect(snap.latencyP50Ms).toBe(100); // 10th of 20
    expect(snap.latencyP95Ms).toBe(190); // 19th of 20
    expect(snap.lastFailureAt).toEqual(new Date(clock.now().getTime() - 5_000));
  });

  it("lets outcomes leave the window after windowMs on the clock", () => {
    const { clock, health } = setup();
    call(health, K, false, 500);
    clock.advance(30_000);
    call(health, K, true, 10);
    call(health, K, true, 20);
    expect(health.snapshot(K)).toMatchObject({ requests: 3, failures: 1 });
    clock.advance(29_999);
    expect(health.snapshot(K).requests).toBe(3);
    clock.advance(1); // the failure is 60 s old
    expect(health.snapshot(K)).toMatchObject({ requests: 2, failures: 0, errorRate: 0, latencyP50Ms: 10, latencyP95Ms: 20 });
    clock.advance(30_000);
    const empty = health.snapshot(K);
    expect(empty).toMatchObject({ requests: 0, errorRate: 0, latencyP50Ms: null, latencyP95Ms: null });
    // The last failure is remembered beyond the window.
    expect(empty.lastFailureAt).not.toBeNull();
  });

  it("keeps at most windowSize outcomes per target", () => {
    const { health } = setup({ windowSize: 10, minimumCalls: 5, consecutiveFailures: Infinity });
    for (let i = 0; i < 4; i++) call(health, K, false);
    for (let i = 0; i < 1000; i++) call(health, K, true, i);
    const snap = health.snapshot(K);
    expect(snap).toMatchObject({ requests: 10, failures: 0, errorRate: 0, state: "CLOSED" });
    expect(snap.latencyP50Ms).toBe(994); // the last ten: 990..999
    expect(snap.latencyP95Ms).toBe(999);
    // Failures pushed out by the ring no longer count toward the rate either: 4 of the last 10
    // are not half; a fifth makes it half.
    for (let i = 0; i < 4; i++) call(health, K, false);
    expect(health.snapshot(K).state).toBe("CLOSED");
    call(health, K, false);
    expect(health.snapshot(K).state).toBe("OPEN");
  });

  it("tracks at most maxTargets, forgetting the least recently used", () => {
    const { health } = setup({ maxTargets: 3 });
    call(health, "a", true);
    call(health, "b", true);
    trip(health, "c");
    expect(health.keys()).toEqual(["c", "b", "a"]);
    health.acquire("a"); // a is used again
    expect(health.keys()).toEqual(["a", "c", "b"]);
    health.snapshot("b"); // reading stats is not use
    call(health, "d", false);
    expect(health.keys()).toEqual(["d", "a", "c"]);
    expect(health.size).toBe(3);
    expect(health.snapshot("b").requests).toBe(0);
    // The new target reuses the forgotten one's memory but none of its state.
    expect(health.snapshot("d")).toMatchObject({ state: "CLOSED", requests: 1, failures: 1, consecutiveFailures: 1 });
    expect(health.acquire("c").allowed).toBe(false);
    for (let i = 0; i < 1000; i++) call(health, `vk_${i}|m`, true);
    expect(health.size).toBe(3);
    expect(health.keys()).toEqual(["vk_999|m", "vk_998|m", "vk_997|m"]);
  });

  it("stays correct over many calls at a steady mixed rate", () => {
    const { clock, health } = setup({ consecutiveFailures: Infinity });
    // 1 failure in 4, 1000 calls a second for 3 s: the window (100 outcomes) always holds 25 %.
    for (let i = 0; i < 3000; i++) {
      call(health, K, i % 4 !== 0, 50 + (i % 100));
      clock.advance(1);
    }
    const snap = health.snapshot(K);
    expect(snap).toMatchObject({ state: "CLOSED", requests: 100, failures: 25, errorRate: 0.25 });
    expect(snap.latencyP50Ms).toBeGreaterThanOrEqual(50);
    expect(snap.latencyP95Ms).toBeLessThanOrEqual(149);
  });
});
