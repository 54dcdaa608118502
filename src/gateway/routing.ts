// Which targets a call tries, in which order, and when a failure is worth another try.
import { ProviderFailure } from "../providers/errors.js";

export type Strategy = "SINGLE" | "FALLBACK" | "LOADBALANCE";

/** A number in [0, 1): Math.random in production, a fixed sequence in tests. */
export type RandomSource = () => number;

/** The statuses retried when a route sets none, and those a route without a retry policy still falls back on. */
export const DEFAULT_RETRY_STATUS_CODES: readonly number[] = [429, 500, 502, 503, 504];

/**
 * SINGLE tries its one target; FALLBACK tries every target in order; LOADBALANCE picks the first
 * target with probability proportional to its weight (an omitted weight counts as 1), and the
 * others follow in the same weighted way, so that a call whose pick is resting (open circuit) or
 * failing goes on to a healthy one instead of failing with it.
 */
export function plan<T extends { weight: number | null }>(strategy: Strategy, targets: readonly T[], random: RandomSource): T[] {
  if (strategy === "FALLBACK") return [...targets];
  if (strategy !== "LOADBALANCE") return targets.slice(0, 1);
  const rest = [...targets];
  const order: T[] = [];
  while (rest.length > 1) {
    const picked = pickWeighted(rest, random);
    order.push(picked);
    rest.splice(rest.indexOf(picked), 1);
  }
  return [...order, ...rest];
}

export function pickWeighted<T extends { weight: number | null }>(targets: readonly T[], random: RandomSource): T {
  const weights = targets.map((t) => (t.weight !== null && t.weight > 0 ? t.weight : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let point = random() * total;
  for (let i = 0; i < targets.length; i++) {
    point -= weights[i];
    if (point < 0) return targets[i];
  }
  return targets[targets.length - 1];
}

/** Timeouts, connection failures and the listed HTTP statuses are worth a retry or the next target. */
export function isRetryable(failure: ProviderFailure, onStatusCodes: readonly number[]): boolean {
  if (failure.kind === "timeout" || failure.kind === "connection") return true;
  return failure.kind === "http" && failure.httpStatus !== null && onStatusCodes.includes(failure.httpStatus);
}
