// The seam between calling models (src/modules/invoke) and enforcing policies on those calls
// (src/gateway/policy-enforcer.ts). Both sides are built against these types.
import type { policies } from "../db/schema.js";

export type PolicyRow = typeof policies.$inferSelect;

/** Where a call's policies come from: every target it touches. */
export interface CallTargets {
  organizationId: string;
  /** The calling API key, when the caller is a key. */
  apiKeyId: string | null;
  /** The calling person (an SSO user, or the owner of the calling key). */
  userId: string | null;
  routeId: string | null;
  /** The workspace the call belongs to (contract: the API key's, else the route's or virtual key's). */
  workspaceId: string | null;
}

/** A policy that applies to a call, and the target whose attachment brought it (budgets count per target). */
export interface AppliedPolicy {
  policy: PolicyRow;
  targetId: string;
}

/** What a call is expected to consume, reserved before it is made. */
export interface Estimate {
  requests: number;
  tokens: number;
  costUsd: number;
}

/** What a call consumed, settled after it. */
export interface Actual {
  tokens: number;
  costUsd: number;
}

/** A reservation made by admit(); settle or release it exactly once. */
export interface Admission {
  readonly id: string;
}

export interface PolicyEnforcer {
  /** Policies attached to the API key, the route and the workspace of a call (virtual keys are added per attempt). */
  gather(targets: CallTargets): AppliedPolicy[];
  /** Policies attached to one virtual key, for the attempt that uses it. */
  forVirtualKey(organizationId: string, virtualKeyId: string): AppliedPolicy[];
  /** Throws AppError MODEL_NOT_ALLOWED when a policy's allow/deny lists refuse the model. */
  checkModel(applied: AppliedPolicy[], model: string): void;
  /** Throws AppError FORBIDDEN when the caller's address is outside a policy's allowed ranges. */
  checkAddress(applied: AppliedPolicy[], ip: string | null): void;
  /**
   * Atomically checks rate limits (RATE_LIMITED) and reserves budget (BUDGET_EXCEEDED) for
   * every applied policy, so that concurrent calls cannot overrun a limit together.
   */
  admit(applied: AppliedPolicy[], estimate: Estimate): Admission;
  /** The same, with the budget reservation joining the next transaction shared with concurrent calls (the attempt loop's way). */
  admitGrouped(applied: AppliedPolicy[], estimate: Estimate): Promise<Admission>;
  /** Replaces the reservation with the real spend. */
  settle(admission: Admission, actual: Actual): void;
  /** Gives the reservation back (the call failed before the provider charged anything). */
  release(admission: Admission): void;
}
