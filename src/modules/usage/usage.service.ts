// Usage records, one row per provider attempt of a model call (src/modules/invoke): their sums,
// and the records themselves with the call's stored text.
import { and, count, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { usageRecords, usageTexts } from "../../db/schema.js";
import { forbidden } from "../../errors.js";
import { newestFirst, pageSize, toPage, type PageArgs } from "../common/pagination.js";
import { readableRows } from "../common/read-scope.js";
import { assertWorkspaceNamed } from "../common/workspace-scope.js";

export interface UsageFilterArgs {
  workspaceId?: string | null;
  apiKeyId?: string | null;
  virtualKeyId?: string | null;
  model?: string | null;
  from?: Date | null;
  to?: Date | null;
}

export interface UsageSummaryView {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export class UsageService {
  constructor(private readonly db: Db) {}

  /**
   * Usage of one workspace needs USAGE_READ there (or organization-wide); usage not filtered
   * to a workspace covers organization-level calls too, and needs it organization-wide.
   */
  summary(meta: RequestMeta, filter: UsageFilterArgs | null | undefined): UsageSummaryView {
    const { access, organizationId } = meta.principal;
    const conditions: (SQL | undefined)[] = [eq(usageRecords.organizationId, organizationId)];
    const workspaceId = filter?.workspaceId ?? null;
    if (workspaceId !== null) {
      assertWorkspaceNamed(this.db, meta, workspaceId, [Permission.USAGE_READ]);
      if (!access.has(Permission.USAGE_READ, workspaceId)) throw forbidden("Reading this workspace's usage needs USAGE_READ there");
      conditions.push(eq(usageRecords.workspaceId, workspaceId));
    } else if (!access.has(Permission.USAGE_READ)) {
      throw forbidden("Usage not filtered to a workspace needs USAGE_READ organization-wide; filter by workspaceId");
    }
    conditions.push(...filtered(filter));
    const row = this.db
      .select({
        requests: count(),
        errors: sql<number>`coalesce(sum(case when ${usageRecords.success} then 0 else 1 end), 0)`,
        promptTokens: sql<number>`coalesce(sum(${usageRecords.promptTokens}), 0)`,
        completionTokens: sql<number>`coalesce(sum(${usageRecords.completionTokens}), 0)`,
        costUsd: sql<number>`coalesce(sum(${usageRecords.costUsd}), 0)`,
      })
      .from(usageRecords)
      .where(and(...conditions))
      .get()!;
    return { ...row, costUsd: Math.round(row.costUsd * 1e9) / 1e9 };
  }

  /**
   * The records the caller could read one by one, newest first: a workspace's need USAGE_READ
   * there (or organization-wide), organization-level ones organization-wide. The stored text
   * comes with its record, under the same rule.
   */
  list(meta: RequestMeta, filter: UsageFilterArgs | null | undefined, args: PageArgs) {
    const size = pageSize(args.first);
    const conditions: (SQL | undefined)[] = [readableRows(meta, Permission.USAGE_READ, { organizationId: usageRecords.organizationId, workspaceId: usageRecords.workspaceId })];
    if (filter?.workspaceId) {
      assertWorkspaceNamed(this.db, meta, filter.workspaceId, [Permission.USAGE_READ]);
      conditions.push(eq(usageRecords.workspaceId, filter.workspaceId));
    }
    conditions.push(...filtered(filter));
    const page = newestFirst(usageRecords.createdAt, usageRecords.id, args.after);
    const rows = this.db
      .select({ record: usageRecords, promptText: usageTexts.promptText, completionText: usageTexts.completionText })
      .from(usageRecords)
      .leftJoin(usageTexts, eq(usageTexts.usageRecordId, usageRecords.id))
      .where(and(...conditions, page.where))
      .orderBy(...page.orderBy)
      .limit(size + 1)
      .all()
      .map(({ record, promptText, completionText }) => ({ ...record, promptText, completionText }));
    return toPage(rows, size);
  }
}

/** The conditions of a UsageFilter besides its workspace, which each read scopes its own way. */
function filtered(filter: UsageFilterArgs | null | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (filter?.apiKeyId) conditions.push(eq(usageRecords.apiKeyId, filter.apiKeyId));
  if (filter?.virtualKeyId) conditions.push(eq(usageRecords.virtualKeyId, filter.virtualKeyId));
  if (filter?.model) conditions.push(eq(usageRecords.model, filter.model));
  if (filter?.from) conditions.push(gte(usageRecords.createdAt, filter.from));
  if (filter?.to) conditions.push(lt(usageRecords.createdAt, filter.to));
  return conditions;
}
