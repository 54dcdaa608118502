// Policies named when a key is created are attached by that creation, so they obey the rules
// of attachPolicy: readable by the caller, of the key's own workspace or the organization, and
// POLICY_WRITE where the key lives.
import { and, eq } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { policies } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { badInput, forbidden, notFound } from "../../errors.js";
import { isId } from "../../ids.js";
import { boundedIds } from "../common/slug.js";

export const MAX_POLICIES_AT_CREATION = 50;

/** The distinct policy IDs to attach to a new key living in `workspaceId` (null: the organization). */
export function attachablePolicies(tx: Queryable, meta: RequestMeta, ids: string[] | null | undefined, workspaceId: string | null, target: "API key" | "virtual key"): string[] {
  const unique = boundedIds(ids, "policyIds", MAX_POLICIES_AT_CREATION);
  if (unique.length === 0) return [];
  const { access } = meta.principal;
  for (const id of unique) {
    const policy = isId(id, "Policy")
      ? tx
          .select({ workspaceId: policies.workspaceId })
          .from(policies)
          .where(and(eq(policies.organizationId, meta.principal.organizationId), eq(policies.id, id)))
          .get()
      : undefined;
    if (!policy || !access.has(Permission.POLICY_READ, policy.workspaceId)) throw notFound("Policy");
    if (policy.workspaceId !== null && policy.workspaceId !== workspaceId) {
      throw badInput(`Policy ${id} belongs to another workspace than the ${target}`, "policyIds");
    }
  }
  if (!access.has(Permission.POLICY_WRITE, workspaceId)) throw forbidden(`Attaching policies needs POLICY_WRITE where the ${target} lives`);
  return unique;
}
