// Synthetic audit events with the mix a busy organization writes: mostly model calls from a few
// service keys in a few workspaces, some changes by people, a few refused authentications.
// Seeded, so that two runs (and the 10k and 1M organizations of bench:audit) hold the same mix.
import type { AuditEntry } from "../src/modules/audit/audit.recorder.js";

/** The IDs events refer to: real ones where the bench made them (workspaces, keys), else made up. */
export interface EventPools {
  workspaceIds: string[];
  serviceKeyIds: string[];
  userIds: string[];
  virtualKeyIds: string[];
}

/** Mutations people make, each about equally often among the 13% of events that are changes. */
export const CHANGE_ACTIONS = ["createPolicy", "updatePolicy", "attachPolicy", "createApiKey", "revokeApiKey", "createVirtualKey", "updateVirtualKey", "assignRole", "updateRole", "createRoute"];

/** mulberry32: small, fast and good enough to spread a bench's events. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function eventStream(organizationId: string, pools: EventPools, seed = 1): () => AuditEntry {
  const random = seededRandom(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  let n = 0;
  return () => {
    n++;
    const r = random();
    const requestId = `req_bench${String(n).padStart(17, "0")}`;
    if (r < 0.85) {
      const u = random();
      const outcome = u < 0.94 ? "SUCCESS" : u < 0.99 ? "FAILURE" : "DENIED";
      const virtualKeyId = pick(pools.virtualKeyIds);
      return {
        organizationId,
        actorKind: "API_KEY",
        actorId: pick(pools.serviceKeyIds),
        workspaceId: random() < 0.9 ? pick(pools.workspaceIds) : null,
        action: "invokeModel",
        targetKind: "VirtualKey",
        targetId: virtualKeyId,
        outcome,
        ip: `10.0.${Math.floor(random() * 4)}.${Math.floor(random() * 250)}`,
        userAgent: "OpenAI/NodeJS/4.104.0",
        requestId,
        details: { routeId: null, virtualKeyId, model: pick(["gpt-4o-mini", "gpt-4o", "claude-sonnet-4"]), attempts: 1, ...(outcome !== "SUCCESS" && { code: outcome === "DENIED" ? "RATE_LIMITED" : "PROVIDER_ERROR" }) },
      };
    }
    if (r < 0.98) {
      const action = pick(CHANGE_ACTIONS);
      const outcome = random() < 0.97 ? "SUCCESS" : "DENIED";
      return {
        organizationId,
        actorKind: "USER",
        actorId: pick(pools.userIds),
        workspaceId: random() < 0.6 ? pick(pools.workspaceIds) : null,
        action,
        targetKind: action.endsWith("Policy") ? "Policy" : action.endsWith("ApiKey") ? "ApiKey" : action.endsWith("VirtualKey") ? "VirtualKey" : action.endsWith("Route") ? "Route" : "Role",
        targetId: action.endsWith("VirtualKey") ? pick(pools.virtualKeyIds) : `pol_bench${String(Math.floor(random() * 5000)).padStart(17, "0")}`,
        outcome,
        ip: "192.0.2.10",
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        requestId,
        details: outcome === "SUCCESS" ? changeDetails(action, n, pools) : { code: "FORBIDDEN" },
      };
    }
    return {
      organizationId,
      actorKind: null,
      actorId: null,
      workspaceId: null,
      action: "authenticate",
      targetKind: "ApiKey",
      targetId: pick(pools.serviceKeyIds),
      outcome: "DENIED",
      ip: `198.51.100.${Math.floor(random() * 250)}`,
      userAgent: "curl/8.5.0",
      requestId,
      details: { reason: "bad_secret" },
    };
  };
}

/** Details of the shape each action's schema takes (src/modules/audit/audit-details.ts). */
function changeDetails(action: string, n: number, pools: EventPools): Record<string, unknown> {
  const name = `bench ${n}`;
  const rules = { name, description: false, allowedModels: null, deniedModels: [], rateLimit: { rpm: 600, tpm: null }, budget: null, allowedIpRanges: null };
  const vk = pools.virtualKeyIds[n % pools.virtualKeyIds.length];
  switch (action) {
    case "createPolicy":
      return rules;
    case "updatePolicy":
      return { changed: { rateLimit: rules.rateLimit } };
    case "attachPolicy":
      return { targetKind: "VirtualKey", targetId: vk, alreadyAttached: false };
    case "createApiKey":
      return { name, roleIds: [], policyIds: [], ownerUserId: null, expiresAt: null };
    case "revokeApiKey":
      return { alreadyRevoked: false };
    case "createVirtualKey":
      return { name, slug: `bench-${n}`, provider: "OPENAI", baseUrl: null, providerOptions: null, version: 1, policyIds: [] };
    case "assignRole":
      return { roleId: `rol_bench${String(n % 7).padStart(17, "0")}`, principalKind: "API_KEY", principalId: pools.serviceKeyIds[0] };
    case "updateRole":
      return { name, permissions: ["MODEL_INVOKE"] };
    case "createRoute":
      return { name, slug: `bench-${n}`, strategy: "FALLBACK", targets: [{ virtualKeyId: vk, model: "gpt-4o", weight: null }], retry: null, timeoutMs: null };
    default:
      return { name };
  }
}

/** Made-up IDs in the format of src/ids.ts, distinct per prefix and index. */
export function fakeIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}_bench${String(i).padStart(17, "0")}`);
}
