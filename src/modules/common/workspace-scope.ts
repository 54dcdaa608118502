// A workspace named in an argument exists for the caller only when it is one of its
// organization's and the caller can see into it: otherwise NOT_FOUND, never FORBIDDEN.
import { and, eq } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { workspaces } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { notFound } from "../../errors.js";

/** A workspace of the organization, readable by the caller or not: for checks, never returned to the caller. */
export function workspaceExists(q: Queryable, organizationId: string, workspaceId: string): boolean {
  return !!q.select({ id: workspaces.id }).from(workspaces).where(and(eq(workspaces.organizationId, organizationId), eq(workspaces.id, workspaceId))).get();
}

/** Throws NOT_FOUND unless the workspace is the caller's and it holds WORKSPACE_READ or one of `also` there. */
export function assertWorkspaceNamed(db: Queryable, meta: RequestMeta, workspaceId: string, also: Permission[]): void {
  const exists = workspaceExists(db, meta.principal.organizationId, workspaceId);
  const access = meta.principal.access;
  if (!exists || ![Permission.WORKSPACE_READ, ...also].some((p) => access.has(p, workspaceId))) throw notFound("Workspace");
}
