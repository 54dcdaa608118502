// Reads the gateway's per-target breakers and figures (src/gateway/target-health.ts) for the API.
import type { TargetHealth as Breakers } from "../../gateway/target-health.js";
import type { CircuitState, TargetHealth } from "./target-health.type.js";

export class TargetHealthService {
  constructor(private readonly breakers: Breakers) {}

  /** The circuits of a virtual key: for one model, or every model it served when model is null. */
  of(virtualKeyId: string, model: string | null): TargetHealth[] {
    const prefix = `${virtualKeyId}|`;
    return this.breakers
      .keys()
      .filter((key) => (model === null ? key.startsWith(prefix) : key === prefix + model))
      .map((key) => {
        const s = this.breakers.snapshot(key);
        return {
          model: key.slice(prefix.length),
          state: s.state as CircuitState,
          requests: s.requests,
          failures: s.failures,
          errorRate: s.errorRate,
          consecutiveFailures: s.consecutiveFailures,
          latencyP50Ms: s.latencyP50Ms,
          latencyP95Ms: s.latencyP95Ms,
          lastFailureAt: s.lastFailureAt,
          nextProbeAt: s.state === "OPEN" ? s.nextProbeAt : null,
        };
      })
      .sort((a, b) => a.model.localeCompare(b.model));
  }
}
