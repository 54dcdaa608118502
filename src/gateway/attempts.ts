// The attempt loop of a model call: which targets are tried in which order, each attempt
// checked by policy, the circuit breaker and a budget reservation before it is made, retried
// with backoff (honouring the provider's retry-after), and every provider failure mapped to the
// contract's error codes. What an attempt sends (a chat, a stream, embeddings) is the
// operation's business; this module holds the mechanics shared by all of them.
import { performance } from "node:perf_hooks";
import type { Clock } from "../clock.js";
import { AppError, badInput } from "../errors.js";
import { ProviderFailure, UnsupportedByProvider } from "../providers/errors.js";
import type { ProviderName, Usage } from "../providers/types.js";
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffOptions } from "./backoff.js";
import type { Admission, AppliedPolicy, Estimate, PolicyEnforcer } from "./enforcement.types.js";
import { costUsd } from "./pricing.js";
import { isRetryable, plan, type RandomSource, type Strategy } from "./routing.js";
import type { TargetHealth } from "./target-health.js";

export type AttemptStatus = "SUCCESS" | "FAILED" | "TIMEOUT" | "SKIPPED";

export interface TargetKey {
  id: string;
  workspaceId: string | null;
  provider: ProviderName;
}

export interface CallTarget {
  key: TargetKey;
  model: string;
  weight: number | null;
}

/** A resolved call: what it goes through, where it belongs, and how it retries. */
export interface CallPlan {
  targetKind: "Route" | "VirtualKey";
  targetId: string;
  routeId: string | null;
  workspaceId: string | null;
  strategy: Strategy;
  targets: CallTarget[];
  retries: number;
  onStatusCodes: readonly number[];
  timeoutMs: number;
}

export interface AttemptView {
  virtualKeyId: string;
  provider: ProviderName;
  model: string;
  status: AttemptStatus;
  httpStatus: number | null;
  latencyMs: number;
  errorCode: string | null;
}

/** One attempt as the usage rows and the answer need it. */
export interface Attempt {
  view: AttemptView;
  usage: Usage | null;
  costUsd: number;
  /**
   * Settles a served attempt's reservation with its real spend. The caller runs it inside the
   * call's grouped write, so that the budget, the usage rows and the audit event commit in one
   * transaction (one fewer per call).
   */
  settle?: () => void;
}

/** What an operation's attempt produced: its result, and its usage when already known (not for a stream). */
export interface Performed<R> {
  result: R;
  usage?: Usage;
  servedModel?: string;
}

/** One kind of provider call (chat, stream, embeddings), as the loop drives it. */
export interface Operation<R> {
  /**
   * What an attempt at this model may consume. `limited` says a budget or token limit applies:
   * an operation whose provider would otherwise choose its own output cap must then cap it at
   * what it reserves.
   */
  estimate(model: string, limited: boolean): Estimate;
  /** Makes the provider call for the target; throws ProviderFailure or UnsupportedByProvider. */
  perform(target: CallTarget, timeoutMs: number, signal: AbortSignal | undefined): Promise<Performed<R>>;
}

/** A served stream's attempt, settled when the stream ends: its budget, its breaker, its view. */
export interface OpenSettlement {
  /** Records what the stream consumed; `failure` when it did not end cleanly (cut, client gone). */
  finish(usage: Usage, servedModel: string, failure: ProviderFailure | null): void;
}

export interface AttemptsOutcome<R> {
  attempts: Attempt[];
  result?: R;
  /** The attempt that served, when there is one. */
  served?: Attempt;
  /** Set for a served operation that did not report usage (a stream): settle it when it ends. */
  settlement?: OpenSettlement;
  error?: AppError;
}

export interface AttemptDeps {
  enforcer: PolicyEnforcer;
  health: TargetHealth;
  clock: Clock;
  random: RandomSource;
  backoff?: BackoffOptions;
}

export interface CallPolicies {
  /** Policies of the API key, the route and the workspace. */
  applied: AppliedPolicy[];
  /** Policies a virtual key brings to the attempt that uses it (or why they cannot be had). */
  forKey(target: CallTarget): AppliedPolicy[];
  ip: string | null;
}

/** The breaker's key: one circuit per virtual key and model. */
export const circuitKey = (target: { key: { id: string }; model: string }) => `${target.key.id}|${target.model}`;

/** The dearer of the price of the model named and the model that served, so that no name makes a call free to budgets. */
export function priceOf(named: string, served: string, usage: Usage): number {
  return Math.max(costUsd(named, usage.promptTokens, usage.completionTokens), costUsd(served, usage.promptTokens, usage.completionTokens));
}

export class AttemptRunner {
  constructor(private readonly deps: AttemptDeps) {}

  async run<R>(call: CallPlan, policies: CallPolicies, operation: Operation<R>, signal?: AbortSignal): Promise<AttemptsOutcome<R>> {
    const attempts: Attempt[] = [];
    let error: AppError | undefined;
    targets: for (const target of plan(call.strategy, call.targets, this.deps.random)) {
      for (let n = 0; n <= call.retries; n++) {
        const tried = await this.attempt(call, target, policies, operation, signal);
        attempts.push(tried.attempt);
        if (tried.performed) return { attempts, result: tried.performed.result, served: tried.attempt, settlement: tried.settlement };
        error = tried.error;
        // A refusal by policy or breaker moves on to the next target; retrying the same one cannot help.
        if (tried.attempt.view.status === "SKIPPED") continue targets;
        if (!tried.failure || !isRetryable(tried.failure, call.onStatusCodes) || signal?.aborted) break targets;
        if (n === call.retries) continue targets;
        const wait = retryDelayMs(n + 1, tried.failure, this.deps.backoff ?? DEFAULT_BACKOFF, this.deps.random, call.timeoutMs);
        // A retry-after beyond what the call can wait for: the next target serves the client better.
        if (wait === null) continue targets;
        // No wait for a target whose circuit the failure just opened: its next attempt is skipped at once.
        if (this.deps.health.snapshot(circuitKey(target)).state !== "CLOSED") continue;
        try {
          await this.deps.clock.sleep(wait, signal);
        } catch {
          break targets;
        }
      }
    }
    return { attempts, error: error ?? new AppError("PROVIDER_ERROR", "No target could be tried") };
  }

  private async attempt<R>(
    call: CallPlan,
    target: CallTarget,
    policies: CallPolicies,
    operation: Operation<R>,
    signal: AbortSignal | undefined,
  ): Promise<{ attempt: Attempt; performed?: Performed<R>; settlement?: OpenSettlement; error?: AppError; failure?: ProviderFailure }> {
    const { enforcer, health } = this.deps;
    const view = (status: AttemptStatus, latencyMs: number, httpStatus: number | null, errorCode: string | null): AttemptView => ({
      virtualKeyId: target.key.id,
      provider: target.key.provider,
      model: target.model,
      status,
      httpStatus,
      latencyMs,
      errorCode,
    });
    const skipped = (err: AppError, code: string = err.code) => ({ attempt: { view: view("SKIPPED", 0, null, code), usage: null, costUsd: 0 }, error: err });

    let expected: Estimate;
    let admission: Admission;
    let probe: boolean;
    const key = circuitKey(target);
    try {
      const all = [...policies.applied, ...policies.forKey(target)];
      enforcer.checkModel(all, target.model);
      enforcer.checkAddress(all, policies.ip);
      const gate = health.acquire(key);
      if (!gate.allowed) {
        return skipped(new AppError("PROVIDER_ERROR", `The target is resting after failures; it is tried again in ${Math.ceil(gate.retryInMs / 1000)} s`), "CIRCUIT_OPEN");
      }
      probe = gate.probe;
      expected = operation.estimate(target.model, all.some(({ policy }) => policy.budgetLimitUsd !== null || policy.tokensPerMinute !== null));
      try {
        admission = await enforcer.admitGrouped(all, expected);
      } catch (err) {
        health.abandon(key, probe);
        throw err;
      }
    } catch (err) {
      if (err instanceof AppError) return skipped(err);
      throw err;
    }

    const started = performance.now();
    try {
      const performed = await operation.perform(target, call.timeoutMs, signal);
      const latencyMs = Math.round(performance.now() - started);
      if (performed.usage) {
        const cost = priceOf(target.model, performed.servedModel ?? target.model, performed.usage);
        const tokens = performed.usage.totalTokens;
        health.success(key, latencyMs, probe);
        return {
          attempt: { view: view("SUCCESS", latencyMs, 200, null), usage: performed.usage, costUsd: cost, settle: () => enforcer.settle(admission, { tokens, costUsd: cost }) },
          performed,
        };
      }
      const attempt: Attempt = { view: view("SUCCESS", latencyMs, 200, null), usage: null, costUsd: 0 };
      const settlement: OpenSettlement = {
        finish: (usage, servedModel, failure) => {
          attempt.usage = usage;
          attempt.costUsd = priceOf(target.model, servedModel, usage);
          attempt.view.latencyMs = Math.round(performance.now() - started);
          attempt.settle = () => enforcer.settle(admission, { tokens: usage.totalTokens, costUsd: attempt.costUsd });
          if (failure === null) health.success(key, attempt.view.latencyMs, probe);
          else if (failure.kind === "aborted") health.abandon(key, probe);
          else health.failure(key, attempt.view.latencyMs, probe);
          if (failure !== null && failure.kind !== "aborted") {
            attempt.view.status = failure.kind === "timeout" ? "TIMEOUT" : "FAILED";
            attempt.view.errorCode = failure.kind === "timeout" ? "PROVIDER_TIMEOUT" : "PROVIDER_ERROR";
          }
        },
      };
      return { attempt, performed, settlement };
    } catch (err) {
      const latencyMs = Math.round(performance.now() - started);
      if (err instanceof UnsupportedByProvider) {
        enforcer.release(admission);
        health.abandon(key, probe);
        return skipped(badInput(err.message, err.field));
      }
      // A provider that timed out or answered 2xx unreadably had the request and may bill it: what was
      // reserved counts as spent. Only a call it refused (or never got) gives the reservation back.
      if (err instanceof ProviderFailure && (err.kind === "timeout" || err.kind === "invalid_response")) {
        enforcer.settle(admission, { tokens: expected.tokens, costUsd: expected.costUsd });
      } else {
        enforcer.release(admission);
      }
      if (!(err instanceof ProviderFailure)) {
        health.abandon(key, probe);
        throw err;
      }
      if (blamesTarget(err)) health.failure(key, latencyMs, probe);
      else health.abandon(key, probe);
      const error = failureError(err, call.timeoutMs);
      const status: AttemptStatus = err.kind === "timeout" ? "TIMEOUT" : "FAILED";
      // The client leaving is nobody's error: the attempt says so instead of blaming the provider.
      const code = err.kind === "aborted" ? "CLIENT_LEFT" : error.code;
      return { attempt: { view: view(status, latencyMs, err.httpStatus, code), usage: null, costUsd: 0 }, error, failure: err };
    }
  }
}

/** A failure that says something about the target's health (not the caller's request, nor the caller leaving). */
function blamesTarget(failure: ProviderFailure): boolean {
  if (failure.kind === "aborted" || failure.kind === "unsupported") return false;
  if (failure.kind !== "http" || failure.httpStatus === null) return true;
  return ![400, 404, 409, 413, 422].includes(failure.httpStatus);
}

/** The client's error for a provider failure: its status at most, never its body. */
export function failureError(failure: ProviderFailure, timeoutMs: number): AppError {
  if (failure.kind === "timeout") return new AppError("PROVIDER_TIMEOUT", `The provider did not answer within ${timeoutMs} ms`);
  if (failure.kind === "stream_cut") return new AppError("PROVIDER_ERROR", "The provider cut the stream off before the answer was complete");
  const extensions: Record<string, unknown> = failure.httpStatus !== null ? { httpStatus: failure.httpStatus } : {};
  // The provider's own rate limit: its retry-after tells the caller when to come back.
  if (failure.httpStatus === 429 && failure.retryAfterMs !== null) extensions.retryAfterSeconds = Math.max(1, Math.ceil(failure.retryAfterMs / 1000));
  return new AppError("PROVIDER_ERROR", failure.message, extensions);
}
