// "Reads follow permissions" as one query condition: what a list, count or lookup may return.
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";

/**
 * Rows of the caller's organization that it may read with `permission`: every row when it
 * holds the permission organization-wide, otherwise the rows of the workspaces it holds it in
 * (organization-level rows, whose workspace is null, then never match).
 */
export function readableRows(meta: RequestMeta, permission: Permission, columns: { organizationId: SQLiteColumn; workspaceId: SQLiteColumn }): SQL | undefined {
  const org = eq(columns.organizationId, meta.principal.organizationId);
  const scope = meta.principal.access.scopeOf(permission);
  return scope.orgWide ? org : and(org, inArray(columns.workspaceId, scope.workspaceIds));
}
