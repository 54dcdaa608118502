// Policies: the management side (create, change, delete, attach, detach, read). Enforcing them
// on model calls belongs to invokeModel.
//
// Where things live: a policy in its workspace (or the organization when it has none); a
// target (API key, virtual key, route) in its workspace or the organization; a workspace in
// itself. Changing, deleting or detaching needs POLICY_WRITE where the policy lives, attaching
// needs it where the target lives, and a workspace policy attaches only to targets of its own
// workspace (BAD_USER_INPUT otherwise: the caller can see both, so nothing is disclosed).
import { and, desc, eq, inArray, sql, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { apiKeys, policies, policyAttachments, routes, virtualKeys } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { badInput, forbidden, notFound } from "../../errors.js";
import { idKind, newId } from "../../ids.js";
import type { AuditDetailsOf } from "../audit/audit-details.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { type PageArgs, pageOf } from "../common/pagination.js";
import { readableRows } from "../common/read-scope.js";
import { nameContains, validateName } from "../common/slug.js";
import { assertWorkspaceNamed, workspaceExists } from "../common/workspace-scope.js";
import { assertDominates } from "../roles/principal-guard.js";
import type { BudgetPeriod, Policy } from "./policy.type.js";
import { toPolicyView, type PolicyRow } from "./policy.view.js";
import { validateBudget, validateDescription, validateIpRanges, validateModelPatterns, validateRateLimit } from "./policy.validation.js";

export interface PolicyFilterArgs {
  workspaceId?: string | null;
  nameContains?: string | null;
}

interface RateLimitArgs {
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
}

interface BudgetArgs {
  limitUsd: number;
  period: BudgetPeriod;
}

export interface CreatePolicyArgs {
  name: string;
  description?: string | null;
  workspaceId?: string | null;
  allowedModels?: string[] | null;
  deniedModels?: string[] | null;
  rateLimit?: RateLimitArgs | null;
  budget?: BudgetArgs | null;
  allowedIpRanges?: string[] | null;
}

export interface UpdatePolicyArgs {
  id: string;
  name?: string | null;
  description?: string | null;
  allowedModels?: string[] | null;
  deniedModels?: string[] | null;
  rateLimit?: RateLimitArgs | null;
  budget?: BudgetArgs | null;
  allowedIpRanges?: string[] | null;
  removeAllowedModels?: boolean | null;
  removeRateLimit?: boolean | null;
  removeBudget?: boolean | null;
  removeAllowedIpRanges?: boolean | null;
}

type TargetKind = "ApiKey" | "VirtualKey" | "Route" | "Workspace";

interface Target {
  kind: TargetKind;
  id: string;
  /** Where the target lives: its workspace, null for the organization; a workspace lives in itself. */
  workspaceId: string | null;
  ownerUserId: string | null;
}

/** The read permission that makes each kind of target visible where it lives. */
const TARGET_READ: Record<Exclude<TargetKind, "Workspace">, Permission> = {
  ApiKey: Permission.API_KEY_READ,
  VirtualKey: Permission.VIRTUAL_KEY_READ,
  Route: Permission.ROUTE_READ,
};

function isTargetKind(kind: string | undefined): kind is TargetKind {
  return kind === "ApiKey" || kind === "VirtualKey" || kind === "Route" || kind === "Workspace";
}

function scopeText(workspaceId: string | null): string {
  return workspaceId ? "in its workspace" : "organization-wide";
}

type PolicyColumns = Omit<PolicyRow, "id" | "organizationId" | "workspaceId" | "createdAt" | "updatedAt">;
type PolicyRules = AuditDetailsOf<"createPolicy">;

/**
 * The columns as audit details: what the policy says. The description is free text that
 * could hold anything pasted into it, so only whether one is set is recorded.
 */
function auditView(c: PolicyColumns): PolicyRules;
function auditView(c: Partial<PolicyColumns>): Partial<PolicyRules>;
function auditView(c: Partial<PolicyColumns>): Partial<PolicyRules> {
  const out: Partial<PolicyRules> = {};
  if (c.name !== undefined) out.name = c.name;
  if (c.description !== undefined) out.description = c.description !== null;
  if (c.allowedModels !== undefined) out.allowedModels = c.allowedModels;
  if (c.deniedModels !== undefined) out.deniedModels = c.deniedModels;
  if (c.requestsPerMinute !== undefined || c.tokensPerMinute !== undefined) {
    const rpm = c.requestsPerMinute ?? null;
    const tpm = c.tokensPerMinute ?? null;
    out.rateLimit = rpm === null && tpm === null ? null : { rpm, tpm };
  }
  if (c.budgetLimitUsd !== undefined || c.budgetPeriod !== undefined) {
    out.budget = c.budgetLimitUsd === null || c.budgetLimitUsd === undefined ? null : { limitUsd: c.budgetLimitUsd, period: c.budgetPeriod ?? null };
  }
  if (c.allowedIpRanges !== undefined) out.allowedIpRanges = c.allowedIpRanges;
  return out;
}

export class PolicyService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
  ) {}

  private readable(meta: RequestMeta): SQL | undefined {
    return readableRows(meta, Permission.POLICY_READ, { organizationId: policies.organizationId, workspaceId: policies.workspaceId });
  }

  list(meta: RequestMeta, filter: PolicyFilterArgs | null | undefined, args: PageArgs) {
    const conditions: (SQL | undefined)[] = [this.readable(meta)];
    if (filter?.workspaceId) {
      assertWorkspaceNamed(this.db, meta, filter.workspaceId, [Permission.POLICY_READ]);
      conditions.push(eq(policies.workspaceId, filter.workspaceId));
    }
    if (filter?.nameContains) conditions.push(nameContains(policies.name, filter.nameContains));
    const page = pageOf(this.db, policies, and(...conditions), args);
    return { ...page, nodes: page.nodes.map(toPolicyView) };
  }

  find(meta: RequestMeta, id: string): Policy | undefined {
    const row = this.db.select().from(policies).where(and(this.readable(meta), eq(policies.id, id))).get();
    return row ? toPolicyView(row) : undefined;
  }

  /** The policies attached to a target (the caller already reads the target) that the caller could read one by one. */
  attachedTo(meta: RequestMeta, targetId: string): Policy[] {
    const orgId = meta.principal.organizationId;
    return this.db
      .select({ policy: policies })
      .from(policyAttachments)
      .innerJoin(policies, eq(policies.id, policyAttachments.policyId))
      .where(and(eq(policyAttachments.organizationId, orgId), eq(policyAttachments.targetId, targetId), this.readable(meta)))
      .orderBy(desc(policies.createdAt), desc(policies.id))
      .all()
      .map((r) => toPolicyView(r.policy));
  }

  create(meta: RequestMeta, input: CreatePolicyArgs): Policy {
    const orgId = meta.principal.organizationId;
    const workspaceId = input.workspaceId ?? null;
    if (workspaceId) assertWorkspaceNamed(this.db, meta, workspaceId, [Permission.POLICY_READ, Permission.POLICY_WRITE]);
    if (!meta.principal.access.has(Permission.POLICY_WRITE, workspaceId)) {
      throw forbidden(`Creating a policy ${workspaceId ? "in this workspace" : "for the organization"} needs POLICY_WRITE there`);
    }
    const rateLimit = input.rateLimit ? validateRateLimit(input.rateLimit, null) : null;
    const budget = input.budget ? validateBudget(input.budget) : null;
    const columns: PolicyColumns = {
      name: validateName(input.name),
      description: input.description === null || input.description === undefined ? null : validateDescription(input.description),
      allowedModels: input.allowedModels ? validateModelPatterns(input.allowedModels, "allowedModels") : null,
      deniedModels: input.deniedModels ? validateModelPatterns(input.deniedModels, "deniedModels") : [],
      requestsPerMinute: rateLimit?.requestsPerMinute ?? null,
      tokensPerMinute: rateLimit?.tokensPerMinute ?? null,
      budgetLimitUsd: budget?.limitUsd ?? null,
      budgetPeriod: budget?.period ?? null,
      allowedIpRanges: input.allowedIpRanges ? validateIpRanges(input.allowedIpRanges) : null,
    };
    return this.audit.write(meta, { action: "createPolicy", targetKind: "Policy" }, (tx, at) => {
      const row: PolicyRow = { id: newId("Policy"), organizationId: orgId, workspaceId, ...columns, createdAt: at, updatedAt: at };
      tx.insert(policies).values(row).run();
      return { result: toPolicyView(row), targetId: row.id, workspaceId, details: auditView(columns) };
    });
  }

  update(meta: RequestMeta, input: UpdatePolicyArgs): Policy {
    for (const [value, remove, field] of [
      [input.allowedModels, input.removeAllowedModels, "allowedModels"],
      [input.rateLimit, input.removeRateLimit, "rateLimit"],
      [input.budget, input.removeBudget, "budget"],
      [input.allowedIpRanges, input.removeAllowedIpRanges, "allowedIpRanges"],
    ] as const) {
      if (value !== null && value !== undefined && remove) throw badInput(`Give ${field} or remove it, not both`, field);
    }
    return this.audit.write(meta, { action: "updatePolicy", targetKind: "Policy" }, (tx, at) => {
      const current = this.writable(tx, meta, input.id, "Changing");
      this.assertNotBindingCaller(tx, meta, current.id);
      const changes: Partial<PolicyColumns> = {};
      if (input.name !== null && input.name !== undefined) changes.name = validateName(input.name);
      if (input.description !== null && input.description !== undefined) changes.description = validateDescription(input.description);
      if (input.allowedModels) changes.allowedModels = validateModelPatterns(input.allowedModels, "allowedModels");
      if (input.removeAllowedModels) changes.allowedModels = null;
      if (input.deniedModels) changes.deniedModels = validateModelPatterns(input.deniedModels, "deniedModels");
      if (input.rateLimit) {
        const currentLimit = current.requestsPerMinute === null && current.tokensPerMinute === null ? null : { requestsPerMinute: current.requestsPerMinute, tokensPerMinute: current.tokensPerMinute };
        Object.assign(changes, validateRateLimit(input.rateLimit, currentLimit));
      }
      if (input.removeRateLimit) Object.assign(changes, { requestsPerMinute: null, tokensPerMinute: null });
      if (input.budget) {
        const budget = validateBudget(input.budget);
        Object.assign(changes, { budgetLimitUsd: budget.limitUsd, budgetPeriod: budget.period });
      }
      if (input.removeBudget) Object.assign(changes, { budgetLimitUsd: null, budgetPeriod: null });
      if (input.allowedIpRanges) changes.allowedIpRanges = validateIpRanges(input.allowedIpRanges);
      if (input.removeAllowedIpRanges) changes.allowedIpRanges = null;

      const changed = (Object.keys(changes) as (keyof PolicyColumns)[]).filter((k) => JSON.stringify(changes[k]) !== JSON.stringify(current[k]));
      const next: PolicyRow = { ...current, ...changes, updatedAt: changed.length > 0 ? at : current.updatedAt };
      if (changed.length > 0) {
        tx.update(policies)
          .set({ ...changes, updatedAt: at })
          .where(and(eq(policies.organizationId, current.organizationId), eq(policies.id, current.id)))
          .run();
      }
      // A rate limit or budget is shown whole when any half of it changed.
      const grouped = changed.flatMap((k): (keyof PolicyColumns)[] =>
        k === "requestsPerMinute" || k === "tokensPerMinute" ? ["requestsPerMinute", "tokensPerMinute"] : k === "budgetLimitUsd" || k === "budgetPeriod" ? ["budgetLimitUsd", "budgetPeriod"] : [k],
      );
      const shown = Object.fromEntries(grouped.map((k) => [k, next[k]])) as Partial<PolicyColumns>;
      return { result: toPolicyView(next), targetId: current.id, workspaceId: current.workspaceId, details: { changed: auditView(shown) } };
    });
  }

  /** Its attachments and budget counters go with it (foreign keys cascade). */
  delete(meta: RequestMeta, id: string): { deletedId: string } {
    return this.audit.write(meta, { action: "deletePolicy", targetKind: "Policy" }, (tx) => {
      const current = this.writable(tx, meta, id, "Deleting");
      this.assertNotBindingCaller(tx, meta, current.id);
      const detached = tx
        .select({ targetId: policyAttachments.targetId })
        .from(policyAttachments)
        .where(and(eq(policyAttachments.organizationId, current.organizationId), eq(policyAttachments.policyId, current.id)))
        .all()
        .map((r) => r.targetId);
      tx.delete(policies).where(and(eq(policies.organizationId, current.organizationId), eq(policies.id, current.id))).run();
      return { result: { deletedId: current.id }, targetId: current.id, workspaceId: current.workspaceId, details: { name: current.name, detachedFrom: detached } };
    });
  }

  /** Attaching the same policy twice is not an error: the second call changes nothing and says so in its audit event. */
  attach(meta: RequestMeta, policyId: string, targetId: string): Policy {
    return this.audit.write(meta, { action: "attachPolicy", targetKind: "Policy" }, (tx, at) => {
      const policy = this.visible(tx, meta, policyId);
      const target = this.target(tx, meta, targetId);
      const me = meta.principal;
      if (me.kind === "API_KEY" && target.id === me.id) throw forbidden("A key cannot change the policies on itself");
      if (!me.access.has(Permission.POLICY_WRITE, target.workspaceId)) throw forbidden(`Attaching a policy to this target needs POLICY_WRITE ${scopeText(target.workspaceId)}`);
      if (policy.workspaceId !== null && policy.workspaceId !== target.workspaceId) {
        throw badInput("A workspace policy can only be attached to its own workspace or to targets in it", "targetId");
      }
      if (target.kind === "ApiKey") assertDominates(tx, meta, { kind: "API_KEY", id: target.id, ownerUserId: target.ownerUserId });
      const inserted = tx
        .insert(policyAttachments)
        .values({ policyId: policy.id, organizationId: me.organizationId, targetKind: target.kind, targetId: target.id, createdAt: at })
        .onConflictDoNothing()
        .run().changes;
      return {
        result: toPolicyView(policy),
        targetId: policy.id,
        workspaceId: target.workspaceId,
        details: { targetKind: target.kind, targetId: target.id, alreadyAttached: inserted === 0 },
      };
    });
  }

  /** Detaching what is not attached is not an error either. */
  detach(meta: RequestMeta, policyId: string, targetId: string): Policy {
    return this.audit.write(meta, { action: "detachPolicy", targetKind: "Policy" }, (tx) => {
      const policy = this.writable(tx, meta, policyId, "Detaching");
      const target = this.target(tx, meta, targetId);
      const me = meta.principal;
      if (me.kind === "API_KEY" && (target.id === me.id || target.id === me.apiKey?.workspaceId)) {
        throw forbidden("A key cannot lift the policies on itself or on its workspace");
      }
      this.assertNotBindingCaller(tx, meta, policy.id);
      if (target.kind === "ApiKey") assertDominates(tx, meta, { kind: "API_KEY", id: target.id, ownerUserId: target.ownerUserId });
      const removed = tx
        .delete(policyAttachments)
        .where(and(eq(policyAttachments.organizationId, me.organizationId), eq(policyAttachments.policyId, policy.id), eq(policyAttachments.targetId, target.id)))
        .run().changes;
      return {
        result: toPolicyView(policy),
        targetId: policy.id,
        workspaceId: target.workspaceId,
        details: { targetKind: target.kind, targetId: target.id, wasAttached: removed > 0 },
      };
    });
  }

  /** A policy the caller may see: NOT_FOUND unless it holds POLICY_READ or POLICY_WRITE where the policy lives. */
  private visible(tx: Queryable, meta: RequestMeta, id: string): PolicyRow {
    const row = tx
      .select()
      .from(policies)
      .where(and(eq(policies.organizationId, meta.principal.organizationId), eq(policies.id, id)))
      .get();
    const { access } = meta.principal;
    if (!row || !(access.has(Permission.POLICY_READ, row.workspaceId) || access.has(Permission.POLICY_WRITE, row.workspaceId))) throw notFound("Policy");
    return row;
  }

  private writable(tx: Queryable, meta: RequestMeta, id: string, doing: string): PolicyRow {
    const row = this.visible(tx, meta, id);
    if (!meta.principal.access.has(Permission.POLICY_WRITE, row.workspaceId)) throw forbidden(`${doing} this policy needs POLICY_WRITE ${scopeText(row.workspaceId)}`);
    return row;
  }

  /** The target named by an ID: NOT_FOUND unless it is the organization's and the caller could read it. */
  private target(tx: Queryable, meta: RequestMeta, id: string): Target {
    const kind = idKind(id);
    if (!isTargetKind(kind)) throw badInput("targetId must be the ID of an API key, a virtual key, a route or a workspace", "targetId");
    const orgId = meta.principal.organizationId;
    const { access } = meta.principal;
    if (kind === "Workspace") {
      const readable = [Permission.WORKSPACE_READ, Permission.POLICY_READ, Permission.POLICY_WRITE].some((p) => access.has(p, id));
      if (!workspaceExists(tx, orgId, id) || !readable) throw notFound("Workspace");
      return { kind, id, workspaceId: id, ownerUserId: null };
    }
    let row: { workspaceId: string | null; ownerUserId: string | null } | undefined;
    if (kind === "ApiKey") {
      row = tx
        .select({ workspaceId: apiKeys.workspaceId, ownerUserId: apiKeys.ownerUserId })
        .from(apiKeys)
        .where(and(eq(apiKeys.organizationId, orgId), eq(apiKeys.id, id)))
        .get();
    } else {
      const table = kind === "VirtualKey" ? virtualKeys : routes;
      row = tx
        .select({ workspaceId: table.workspaceId, ownerUserId: sql<null>`null` })
        .from(table)
        .where(and(eq(table.organizationId, orgId), eq(table.id, id)))
        .get();
    }
    if (!row || !access.has(TARGET_READ[kind], row.workspaceId)) throw notFound(kind);
    return { kind, id, workspaceId: row.workspaceId, ownerUserId: row.ownerUserId };
  }

  /**
   * A key may not reshape the policies that bind it: those attached to it (including the ones
   * it inherited from the key that created it) or to its workspace. Otherwise it could loosen
   * them, delete them, or shed them through a key it creates (which carries them) by detaching
   * them there.
   */
  private assertNotBindingCaller(tx: Queryable, meta: RequestMeta, policyId: string): void {
    const me = meta.principal;
    if (me.kind !== "API_KEY") return;
    const own = [me.id, ...(me.apiKey?.workspaceId ? [me.apiKey.workspaceId] : [])];
    const binding = tx
      .select({ targetId: policyAttachments.targetId })
      .from(policyAttachments)
      .where(and(eq(policyAttachments.organizationId, me.organizationId), eq(policyAttachments.policyId, policyId), inArray(policyAttachments.targetId, own)))
      .get();
    if (binding) throw forbidden("This policy applies to the calling key; a key cannot change, delete or detach the policies on itself");
  }
}
