// The health of each target (key `${virtualKeyId}|${model}`): a circuit breaker that skips a
// failing target for a while, and the operator's stats (state, error rate, p50/p95 latency), both
// from one fixed-size ring of recent outcomes per target. Everything runs on the injected Clock:
// no timers, time is read when a call is admitted or reported.
//
// Not cockatiel (4.0.0, read from its source): CircuitBreakerPolicy reads Date.now() for the
// cool-down, and SamplingBreaker for its windows, so neither runs on our Clock; the policy wraps
// the call (execute(fn)) where the attempt loop needs admit-then-report across retries and
// streams; in half-open it makes concurrent callers wait for the probe's verdict instead of
// refusing them, and a probe whose fn never settles holds the half-open slot for good; it is one
// breaker per policy object, with no keyed store or memory cap; and 4.0.0 declares engines
// node >= 22 while we run on Node 20. The parts that would fit (ConsecutiveBreaker, CountBreaker)
// are a counter and a ring of booleans; the ring here has to exist anyway, for the latencies.
//
// When it opens. Either rule, on a failure while CLOSED:
// - failure rate: at least minimumCalls outcomes in the window (the last windowMs and at most the
//   last windowSize outcomes) and at least failureRateThreshold of them failed. This judges a busy
//   target on a real sample and ignores a stray failure;
// - consecutive failures: a quiet target (a call a minute) never gathers minimumCalls in a window,
//   yet five failures in a row, however spread out, say it is down.
// Only outcomes since the circuit last closed count toward the rate, so that the failures that
// opened it do not re-open it at the first failure after recovery.
import type { Clock } from "../clock.js";

export type CircuitState = "CLOSED" | "OPEN" | "HALF_OPEN";

export interface BreakerOptions {
  /** Outcomes older than this leave the window (stats and the failure-rate rule). */
  windowMs: number;
  /** The ring: at most this many recent outcomes are kept per target. */
  windowSize: number;
  /** The failure-rate rule needs at least this many outcomes in the window. */
  minimumCalls: number;
  /** The failure-rate rule opens at this share of failures or more, in (0, 1]. */
  failureRateThreshold: number;
  /** This many failures in a row open the circuit (Infinity: the rule is off). */
  consecutiveFailures: number;
  /** How long an OPEN circuit skips its target before it lets one probe through. */
  coolDownMs: number;
  /**
   * How long a probe may stay out unreported before another caller may probe: a probe whose
   * caller was abandoned must not hold the circuit half-open for ever. Set it above the longest
   * call (the attempt's timeout); the caller can free the slot at once with abandon().
   */
  probeTimeoutMs: number;
  /** Targets tracked at most; the least recently used is forgotten (and its memory reused). */
  maxTargets: number;
}

/**
 * A 60 s / 100-outcome window: a minute is what an operator reads a rate over, and 100 samples
 * keep p95 meaningful (its 5 slowest) at ~1.7 kB per target. 5 calls at >= 50 % or 5 in a row:
 * a real outage trips in a handful of calls, one bad answer does not. 30 s of cool-down: long
 * enough for a provider's blip to pass, short enough that a recovered target is back soon.
 * 60 s of probe lease: above a long completion's duration. 1000 targets: ~2 MB at most.
 */
export const DEFAULT_BREAKER_OPTIONS: Readonly<BreakerOptions> = Object.freeze({
  windowMs: 60_000,
  windowSize: 100,
  minimumCalls: 5,
  failureRateThreshold: 0.5,
  consecutiveFailures: 5,
  coolDownMs: 30_000,
  probeTimeoutMs: 60_000,
  maxTargets: 1_000,
});

/**
 * Whether a call may go to the target now. `probe: true` is the one call let through a half-open
 * circuit: report its outcome with probe = true. Refused while OPEN ("open": retryInMs until the
 * cool-down ends) and while a probe is out ("probing": retryInMs until that probe's lease ends at
 * the latest; it usually reports sooner).
 */
export type Admission =
  | { readonly allowed: true; readonly probe: boolean }
  | { readonly allowed: false; readonly reason: "open" | "probing"; readonly retryInMs: number };

export interface TargetHealthSnapshot {
  key: string;
  /** As the next call would find it: an OPEN circuit past its cool-down reads HALF_OPEN. */
  state: CircuitState;
  /** Outcomes in the window (the last windowMs, at most windowSize of them). */
  requests: number;
  failures: number;
  /** failures / requests, 0 when there are none. */
  errorRate: number;
  /** Nearest-rank percentiles of the successful calls' latencies in the window; null with none. */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  consecutiveFailures: number;
  lastFailureAt: Date | null;
  /** When the circuit last opened, while it is OPEN or HALF_OPEN. */
  openedAt: Date | null;
  /** OPEN: when the cool-down ends; HALF_OPEN with no probe out: now; otherwise null. */
  nextProbeAt: Date | null;
  probeInFlight: boolean;
}

const ADMIT: Admission = Object.freeze({ allowed: true, probe: false });
const ADMIT_PROBE: Admission = Object.freeze({ allowed: true, probe: true });

/** One target's breaker, its ring of outcomes and its place in the LRU list. */
class Target {
  prev: Target | null = null;
  next: Target | null = null;
  state: CircuitState = "CLOSED";
  // The ring: outcome i (0 = oldest) is at (head + i) % capacity.
  readonly at: Float64Array;
  readonly latency: Float64Array;
  readonly failed: Uint8Array;
  head = 0;
  count = 0;
  failures = 0;
  // The newest tripCalls outcomes of the ring (those since the circuit last closed) and their failures.
  tripCalls = 0;
  tripFailures = 0;
  consecutive = 0;
  lastFailureAt = -1;
  openedAt = -1;
  openUntil = 0;
  probeOut = false;
  probeLeaseUntil = 0;

  constructor(
    public key: string,
    capacity: number,
  ) {
    this.at = new Float64Array(capacity);
    this.latency = new Float64Array(capacity);
    this.failed = new Uint8Array(capacity);
  }

  /** Makes this object a fresh target for `key`, keeping its arrays. */
  reuse(key: string): void {
    this.key = key;
    this.prev = this.next = null;
    this.state = "CLOSED";
    this.head = this.count = this.failures = this.tripCalls = this.tripFailures = this.consecutive = 0;
    this.lastFailureAt = this.openedAt = -1;
    this.openUntil = this.probeLeaseUntil = 0;
    this.probeOut = false;
  }
}

export class TargetHealth {
  readonly options: Readonly<BreakerOptions>;
  private readonly targets = new Map<string, Target>();
  /** Most recently used first. */
  private mru: Target | null = null;
  private lru: Target | null = null;
  /** Reused by snapshot() to sort latencies. */
  private readonly scratch: Float64Array;

  constructor(
    private readonly clock: Clock,
    options: Partial<BreakerOptions> = {},
  ) {
    this.options = Object.freeze({ ...DEFAULT_BREAKER_OPTIONS, ...options });
    validate(this.options);
    this.scratch = new Float64Array(this.options.windowSize);
  }

  /** Forgets every target: each starts CLOSED again (between tests that share targets). */
  clear(): void {
    this.targets.clear();
    this.mru = null;
    this.lru = null;
  }

  /** Targets tracked now. */
  get size(): number {
    return this.targets.size;
  }

  /**
   * Whether a call may go to `key` now. A target never reported is CLOSED (and not tracked until
   * its first outcome). O(1), no allocation unless refused.
   */
  acquire(key: string): Admission {
    const t = this.targets.get(key);
    if (t === undefined) return ADMIT;
    this.touch(t);
    if (t.state === "CLOSED") return ADMIT;
    const now = this.clock.now().getTime();
    if (t.state === "OPEN") {
      if (now < t.openUntil) return { allowed: false, reason: "open", retryInMs: t.openUntil - now };
      t.state = "HALF_OPEN";
      t.probeOut = false;
    }
    if (t.probeOut && now < t.probeLeaseUntil) return { allowed: false, reason: "probing", retryInMs: t.probeLeaseUntil - now };
    t.probeOut = true;
    t.probeLeaseUntil = now + this.options.probeTimeoutMs;
    return ADMIT_PROBE;
  }

  /** The call admitted by acquire() succeeded. A successful probe closes the circuit. */
  success(key: string, latencyMs: number, probe: boolean): void {
    this.record(key, latencyMs, false, probe);
  }

  /**
   * The call failed in a way that speaks of the target (timeout, connection, 5xx, 429): not for
   * the caller's own errors (a 400) or a client that went away; use abandon() for those. A
   * failed probe re-opens the circuit for another cool-down.
   */
  failure(key: string, latencyMs: number, probe: boolean): void {
    this.record(key, latencyMs, true, probe);
  }

  /**
   * The call ended without saying anything of the target (the client went away, the request
   * was refused as invalid): nothing is recorded, and a probe's slot is freed at once.
   * Probes carry no token: after a probe's lease has run out, a late report or abandon() from it
   * is taken as the current probe's (at worst, two probes are briefly out together).
   */
  abandon(key: string, probe: boolean): void {
    if (!probe) return;
    const t = this.targets.get(key);
    if (t !== undefined && t.state === "HALF_OPEN") t.probeOut = false;
  }

  /**
   * The target's state and stats over the window now. Unknown keys read as a CLOSED target with
   * no calls. Does not count as use for the LRU. O(windowSize log windowSize): for operators,
   * not the hot path.
   */
  snapshot(key: string): TargetHealthSnapshot {
    const now = this.clock.now().getTime();
    const t = this.targets.get(key);
    if (t === undefined) {
      return {
        key, state: "CLOSED", requests: 0, failures: 0, errorRate: 0, latencyP50Ms: null, latencyP95Ms: null,
        consecutiveFailures: 0, lastFailureAt: null, openedAt: null, nextProbeAt: null, probeInFlight: false,
      };
    }
    this.expire(t, now);
    let ok = 0;
    const capacity = t.at.length;
    for (let i = 0, j = t.head; i < t.count; i++, j = j + 1 === capacity ? 0 : j + 1) {
      if (t.failed[j] === 0) this.scratch[ok++] = t.latency[j];
    }
    const sorted = this.scratch.subarray(0, ok).sort();
    const coolingDown = t.state === "OPEN" && now < t.openUntil;
    const probeInFlight = t.state === "HALF_OPEN" && t.probeOut && now < t.probeLeaseUntil;
    const state: CircuitState = t.state === "CLOSED" ? "CLOSED" : coolingDown ? "OPEN" : "HALF_OPEN";
    return {
      key,
      state,
      requests: t.count,
      failures: t.failures,
      errorRate: t.count === 0 ? 0 : t.failures / t.count,
      latencyP50Ms: percentile(sorted, 0.5),
      latencyP95Ms: percentile(sorted, 0.95),
      consecutiveFailures: t.consecutive,
      lastFailureAt: t.lastFailureAt < 0 ? null : new Date(t.lastFailureAt),
      openedAt: state === "CLOSED" || t.openedAt < 0 ? null : new Date(t.openedAt),
      nextProbeAt: coolingDown ? new Date(t.openUntil) : state === "HALF_OPEN" && !probeInFlight ? new Date(now) : null,
      probeInFlight,
    };
  }

  /** How many tracked circuits are in each state (for metrics). */
  circuitCounts(): Record<CircuitState, number> {
    const counts: Record<CircuitState, number> = { CLOSED: 0, OPEN: 0, HALF_OPEN: 0 };
    for (const key of this.keys()) counts[this.snapshot(key).state]++;
    return counts;
  }

  /** The tracked keys, most recently used first. */
  keys(): string[] {
    const keys: string[] = [];
    for (let t = this.mru; t !== null; t = t.next) keys.push(t.key);
    return keys;
  }

  private record(key: string, latencyMs: number, failed: boolean, probe: boolean): void {
    const now = this.clock.now().getTime();
    let t = this.targets.get(key);
    if (t === undefined) t = this.track(key);
    else this.touch(t);
    this.push(t, now, latencyMs >= 0 ? latencyMs : 0, failed);
    if (failed) {
      t.consecutive++;
      t.lastFailureAt = now;
    } else {
      t.consecutive = 0;
    }
    if (t.state === "CLOSED") {
      if (failed && this.trips(t)) this.open(t, now);
    } else if (t.state === "HALF_OPEN" && probe) {
      // Only a probe decides a half-open circuit: a call admitted before it opened and ending
      // late says little of now. Whichever probe reports first decides (an earlier probe whose
      // lease ran out included: its outcome is still news of the target).
      if (failed) this.open(t, now);
      else this.close(t);
    }
    // OPEN: a late outcome of a call admitted while CLOSED, or of a probe already overtaken by
    // another; kept in the stats only.
  }

  private trips(t: Target): boolean {
    const o = this.options;
    return t.consecutive >= o.consecutiveFailures || (t.tripCalls >= o.minimumCalls && t.tripFailures >= o.failureRateThreshold * t.tripCalls);
  }

  private open(t: Target, now: number): void {
    t.state = "OPEN";
    t.openedAt = now;
    t.openUntil = now + this.options.coolDownMs;
    t.probeOut = false;
  }

  private close(t: Target): void {
    t.state = "CLOSED";
    t.probeOut = false;
    t.tripCalls = t.tripFailures = t.consecutive = 0;
  }

  private push(t: Target, now: number, latencyMs: number, failed: boolean): void {
    this.expire(t, now);
    const capacity = t.at.length;
    if (t.count === capacity) this.dropOldest(t);
    let i = t.head + t.count;
    if (i >= capacity) i -= capacity;
    t.at[i] = now;
    t.latency[i] = latencyMs;
    t.failed[i] = failed ? 1 : 0;
    t.count++;
    t.tripCalls++;
    if (failed) {
      t.failures++;
      t.tripFailures++;
    }
  }

  /** Drops the outcomes that have left the window: amortized O(1), each leaves once. */
  private expire(t: Target, now: number): void {
    const cutoff = now - this.options.windowMs;
    while (t.count > 0 && t.at[t.head] <= cutoff) this.dropOldest(t);
  }

  private dropOldest(t: Target): void {
    const failed = t.failed[t.head] === 1;
    // The trip outcomes are the newest tripCalls: the oldest is one of them only when all are.
    if (t.tripCalls === t.count) {
      t.tripCalls--;
      if (failed) t.tripFailures--;
    }
    if (failed) t.failures--;
    t.head = t.head + 1 === t.at.length ? 0 : t.head + 1;
    t.count--;
  }

  /** Starts tracking `key`, forgetting the least recently used target when at the cap. */
  private track(key: string): Target {
    let t: Target;
    if (this.targets.size >= this.options.maxTargets && this.lru !== null) {
      t = this.lru;
      this.unlink(t);
      this.targets.delete(t.key);
      t.reuse(key);
    } else {
      t = new Target(key, this.options.windowSize);
    }
    this.targets.set(key, t);
    this.linkFirst(t);
    return t;
  }

  private touch(t: Target): void {
    if (this.mru === t) return;
    this.unlink(t);
    this.linkFirst(t);
  }

  private unlink(t: Target): void {
    if (t.prev !== null) t.prev.next = t.next;
    else this.mru = t.next;
    if (t.next !== null) t.next.prev = t.prev;
    else this.lru = t.prev;
    t.prev = t.next = null;
  }

  private linkFirst(t: Target): void {
    t.next = this.mru;
    if (this.mru !== null) this.mru.prev = t;
    this.mru = t;
    if (this.lru === null) this.lru = t;
  }
}

/** Nearest rank: the smallest value with at least p of the values at or below it. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

function validate(o: Readonly<BreakerOptions>): void {
  const positiveInt = (name: keyof BreakerOptions) => {
    if (!Number.isSafeInteger(o[name]) || o[name] < 1) throw new RangeError(`${name} must be a positive integer, got ${o[name]}`);
  };
  const positive = (name: keyof BreakerOptions) => {
    if (!(o[name] > 0)) throw new RangeError(`${name} must be positive, got ${o[name]}`);
  };
  positiveInt("windowSize");
  positiveInt("maxTargets");
  positiveInt("minimumCalls");
  positive("windowMs");
  positive("coolDownMs");
  positive("probeTimeoutMs");
  if (o.minimumCalls > o.windowSize) throw new RangeError(`minimumCalls (${o.minimumCalls}) cannot exceed windowSize (${o.windowSize})`);
  if (!(o.failureRateThreshold > 0 && o.failureRateThreshold <= 1)) {
    throw new RangeError(`failureRateThreshold must be in (0, 1], got ${o.failureRateThreshold}`);
  }
  if (!(o.consecutiveFailures >= 1) || (Number.isFinite(o.consecutiveFailures) && !Number.isInteger(o.consecutiveFailures))) {
    throw new RangeError(`consecutiveFailures must be a positive integer or Infinity, got ${o.consecutiveFailures}`);
  }
}
