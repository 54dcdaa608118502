// What operators scrape at /metrics, in Prometheus' text format (prom-client, a registry of our
// own per server). Every label value comes from a bounded set: the schema's root fields, the
// contract's doors and outcomes, provider names, and at most MAX_MODELS model names (a caller
// choosing model strings must not be able to grow the series without end). No label carries a
// credential or an organization; a model name is shown once a provider has served it (a name
// that no provider accepts is "other").
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CircuitState } from "../gateway/target-health.js";

const MAX_MODELS = 100;

export type Door = "graphql" | "v1" | "health" | "metrics" | "other";

/** Limits that refuse requests, each counted when it does. */
export type Limit = "policy_rate" | "budget" | "auth_lockout" | "address_rate" | "principal_rate";

export interface MetricsSources {
  /** How many circuits are in each state now. */
  circuits(): Record<CircuitState, number>;
  /** Events in all audit chains. */
  auditEvents(): number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  private readonly requests;
  private readonly duration;
  private readonly attempts;
  private readonly rejections;
  private readonly models = new Set<string>();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "portcullis_" });
    this.requests = new Counter({ name: "portcullis_requests_total", help: "HTTP requests by door, operation and outcome", labelNames: ["door", "operation", "outcome"] as const, registers });
    this.duration = new Histogram({
      name: "portcullis_request_duration_seconds",
      help: "Time from a request's arrival to its answer, by door",
      labelNames: ["door"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.attempts = new Counter({ name: "portcullis_model_attempts_total", help: "Attempts at a provider by provider, model and status (SUCCESS, FAILED, TIMEOUT, SKIPPED)", labelNames: ["provider", "model", "status"] as const, registers });
    this.rejections = new Counter({ name: "portcullis_limit_rejections_total", help: "Requests and attempts refused by a limit", labelNames: ["limit"] as const, registers });
    new Gauge({
      name: "portcullis_circuits",
      help: "Provider targets' circuit breakers by state",
      labelNames: ["state"] as const,
      registers,
      collect() {
        for (const [state, n] of Object.entries(sources.circuits())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: "portcullis_audit_events",
      help: "Length of the audit chains of all organizations: the sum of their last sequences (events removed by retention still count)",
      registers,
      collect() {
        this.set(sources.auditEvents());
      },
    });
  }

  request(door: Door, operation: string, status: number, graphqlErrors: boolean, seconds: number): void {
    this.requests.inc({ door, operation, outcome: outcomeOf(status, graphqlErrors) });
    this.duration.observe({ door }, seconds);
  }

  attempt(provider: string, model: string, status: string): void {
    this.attempts.inc({ provider, model: this.modelLabel(model, status === "SUCCESS"), status });
  }

  rejected(limit: Limit): void {
    this.rejections.inc({ limit });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  private modelLabel(model: string, served: boolean): string {
    if (this.models.has(model)) return model;
    if (!served || this.models.size >= MAX_MODELS) return "other";
    this.models.add(model);
    return model;
  }
}

function outcomeOf(status: number, graphqlErrors: boolean): string {
  if (status < 400) return graphqlErrors ? "errors" : "ok";
  if (status === 401) return "unauthenticated";
  if (status === 429) return "rate_limited";
  return status >= 500 ? "server_error" : "client_error";
}
