// The enforcer to use until policy enforcement exists: it enforces nothing, so it refuses
// (FORBIDDEN) every call that any policy applies to, rather than let such a call through
// unchecked. Calls with no policy attached to any of their targets proceed.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { policyAttachments } from "../db/schema.js";
import { forbidden } from "../errors.js";
import type { Admission, AppliedPolicy, CallTargets, PolicyEnforcer } from "./enforcement.types.js";

const NONE: Admission = Object.freeze({ id: "none" });

// A call's targets: its API key, route and workspace; or one virtual key (the others null).
const TARGET_SLOTS = ["a", "b", "c"] as const;

export class NoPolicies implements PolicyEnforcer {
  private readonly anyAttached;

  constructor(db: Db) {
    // Prepared once: this runs on every model call.
    this.anyAttached = db
      .select({ policyId: policyAttachments.policyId })
      .from(policyAttachments)
      .where(
        and(
          eq(policyAttachments.organizationId, sql.placeholder("organizationId")),
          inArray(
            policyAttachments.targetId,
            TARGET_SLOTS.map((slot) => sql.placeholder(slot)),
          ),
        ),
      )
      .limit(1)
      .prepare();
  }

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
    // IN (NULL) matches nothing: an absent target takes its slot harmlessly.
    const [a = null, b = null, c = null] = targetIds;
    if (this.anyAttached.get({ organizationId, a, b, c })) {
      throw forbidden("A policy applies to this call and policy enforcement is unavailable on this server");
    }
  }
}
