// The enforcer to use until policy enforcement exists: it enforces nothing, so it refuses
// (FORBIDDEN) every call that any policy applies to, rather than let such a call through
// unchecked. Calls with no policy attached to any of their targets proceed.
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { policyAttachments } from "../db/schema.js";
import { forbidden } from "../errors.js";
import type { Admission, AppliedPolicy, CallTargets, PolicyEnforcer } from "./enforcement.types.js";

const NONE: Admission = Object.freeze({ id: "none" });

export class NoPolicies implements PolicyEnforcer {
  constructor(private readonly db: Db) {}

  gather(targets: CallTargets): AppliedPolicy[] {
    this.refuseAttached(targets.organizationId, [targets.apiKeyId, targets.routeId, targets.workspaceId]);
    return [];
  }

  forVirtualKey(organizationId: string, virtualKeyId: string): AppliedPolicy[] {
    this.refuseAttached(organizationId, [virtualKeyId]);
    return [];
  }

  checkModel(): void {}

  checkAddress(): void {}

  admit(): Admission {
    return NONE;
  }

  settle(): void {}

  release(): void {}

  private refuseAttached(organizationId: string, targetIds: (string | null)[]): void {
    const ids = targetIds.filter((id): id is string => id !== null);
    if (ids.length === 0) return;
    const attached = this.db
      .select({ policyId: policyAttachments.policyId })
      .from(policyAttachments)
      .where(and(eq(policyAttachments.organizationId, organizationId), inArray(policyAttachments.targetId, ids)))
      .limit(1)
      .get();
    if (attached) throw forbidden("A policy applies to this call and policy enforcement is unavailable on this server");
  }
}
