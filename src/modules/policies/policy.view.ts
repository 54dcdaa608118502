// The one mapping from a stored policy row to the GraphQL Policy: the rate limit and the
// budget are stored as columns and exposed as nested objects, null when nothing is set.
import type { policies } from "../../db/schema.js";
import type { BudgetPeriod, Policy } from "./policy.type.js";

export type PolicyRow = typeof policies.$inferSelect;

export function toPolicyView(row: PolicyRow): Policy {
  const hasRateLimit = row.requestsPerMinute !== null || row.tokensPerMinute !== null;
  return {
    id: row.id,
    organizationId: row.organizationId,
    workspaceId: row.workspaceId,
    name: row.name,
    description: row.description,
    allowedModels: row.allowedModels,
    deniedModels: row.deniedModels,
    rateLimit: hasRateLimit ? { requestsPerMinute: row.requestsPerMinute, tokensPerMinute: row.tokensPerMinute } : null,
    budget: row.budgetLimitUsd !== null && row.budgetPeriod !== null ? { limitUsd: row.budgetLimitUsd, period: row.budgetPeriod as BudgetPeriod } : null,
    allowedIpRanges: row.allowedIpRanges,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
