// When a target of policies (a key, a route, a workspace) goes, what hangs off it goes too.
import { and, eq } from "drizzle-orm";
import { budgetCounters, policyAttachments } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";

/** Detaches every policy from the target and drops its budget counters, inside the caller's transaction. */
export function forgetPolicyTarget(tx: Queryable, organizationId: string, targetId: string): void {
  tx.delete(policyAttachments).where(and(eq(policyAttachments.organizationId, organizationId), eq(policyAttachments.targetId, targetId))).run();
  tx.delete(budgetCounters).where(eq(budgetCounters.targetId, targetId)).run();
}
