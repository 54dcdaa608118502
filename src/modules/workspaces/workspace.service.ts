import { and, count, eq, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { readableRows } from "../common/read-scope.js";
import type { Db } from "../../db/client.js";
import { apiKeys, policies, roleBindings, routes, ssoRoleMappings, virtualKeys, workspaces } from "../../db/schema.js";
import { conflict, forbidden, notFound } from "../../errors.js";
import { isId, newId } from "../../ids.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { type PageArgs, pageOf } from "../common/pagination.js";
import { resolveSlug, validateName } from "../common/slug.js";
import { workspaceExists } from "../common/workspace-scope.js";
import { forgetPolicyTarget } from "../policies/policy.targets.js";

type WorkspaceRow = typeof workspaces.$inferSelect;

export class WorkspaceService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
  ) {}

  /** Workspaces the caller may read: all with WORKSPACE_READ organization-wide, else those it holds it in. */
  private visible(meta: RequestMeta): SQL | undefined {
    return readableRows(meta, Permission.WORKSPACE_READ, { organizationId: workspaces.organizationId, workspaceId: workspaces.id });
  }

  list(meta: RequestMeta, args: PageArgs) {
    return pageOf(this.db, workspaces, this.visible(meta), args);
  }

  /** A readable workspace of the caller's organization, or undefined. */
  find(meta: RequestMeta, id: string): WorkspaceRow | undefined {
    return this.db.select().from(workspaces).where(and(this.visible(meta), eq(workspaces.id, id))).get();
  }

  /** The workspace something lives in when the caller may read it on its own; null otherwise (the contract's read rule). */
  workspaceOf(meta: RequestMeta, owner: { workspaceId?: string | null }): WorkspaceRow | null {
    return owner.workspaceId ? (this.find(meta, owner.workspaceId) ?? null) : null;
  }

  /** A workspace of the caller's organization, readable or not: for checks, never returned to the caller. */
  existsInOrganization(organizationId: string, id: string): boolean {
    return workspaceExists(this.db, organizationId, id);
  }

  /**
   * Creating a `noun` needing `permission` in `workspaceId` (null: organization-wide): NOT_FOUND
   * for a workspace the caller cannot see, FORBIDDEN for one it sees but may not write in.
   */
  assertMayCreateIn(meta: RequestMeta, workspaceId: string | null, permission: Permission, noun: string): void {
    const { access } = meta.principal;
    if (workspaceId === null) {
      if (!access.has(permission)) throw forbidden(`An organization-wide ${noun} needs ${permission} organization-wide`);
      return;
    }
    if (!isId(workspaceId, "Workspace") || !this.existsInOrganization(meta.principal.organizationId, workspaceId)) throw notFound("Workspace");
    if (access.has(permission, workspaceId)) return;
    if (this.find(meta, workspaceId)) throw forbidden(`Creating a ${noun} in this workspace needs ${permission} there`);
    throw notFound("Workspace");
  }

  create(meta: RequestMeta, input: { name: string; slug?: string | null }): WorkspaceRow {
    if (!meta.principal.access.has(Permission.WORKSPACE_WRITE)) throw forbidden("Creating a workspace needs WORKSPACE_WRITE organization-wide");
    const name = validateName(input.name);
    const slug = resolveSlug(input.slug, name);
    return this.audit.write(meta, { action: "createWorkspace", targetKind: "Workspace" }, (tx, at) => {
      const taken = tx
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(and(eq(workspaces.organizationId, meta.principal.organizationId), eq(workspaces.slug, slug)))
        .get();
      if (taken) throw conflict(`A workspace with slug ${slug} already exists`);
      const row: WorkspaceRow = { id: newId("Workspace"), organizationId: meta.principal.organizationId, name, slug, createdAt: at };
      tx.insert(workspaces).values(row).run();
      return { result: row, targetId: row.id, workspaceId: row.id, details: { name, slug } };
    });
  }

  delete(meta: RequestMeta, id: string): { deletedId: string } {
    const orgId = meta.principal.organizationId;
    if (!this.existsInOrganization(orgId, id)) throw notFound("Workspace");
    if (!meta.principal.access.has(Permission.WORKSPACE_WRITE)) {
      // Someone who can see the workspace learns they may not delete it; others learn nothing.
      if (this.find(meta, id)) throw forbidden("Deleting a workspace needs WORKSPACE_WRITE organization-wide");
      throw notFound("Workspace");
    }
    return this.audit.write(meta, { action: "deleteWorkspace", targetKind: "Workspace" }, (tx) => {
      const scoped: [string, number][] = [
        ["API keys", tx.select({ n: count() }).from(apiKeys).where(eq(apiKeys.workspaceId, id)).get()!.n],
        ["virtual keys", tx.select({ n: count() }).from(virtualKeys).where(eq(virtualKeys.workspaceId, id)).get()!.n],
        ["routes", tx.select({ n: count() }).from(routes).where(eq(routes.workspaceId, id)).get()!.n],
        ["policies", tx.select({ n: count() }).from(policies).where(eq(policies.workspaceId, id)).get()!.n],
        ["role bindings", tx.select({ n: count() }).from(roleBindings).where(eq(roleBindings.workspaceId, id)).get()!.n],
        ["SSO role mappings", tx.select({ n: count() }).from(ssoRoleMappings).where(eq(ssoRoleMappings.workspaceId, id)).get()!.n],
      ];
      const blocking = scoped.filter(([, n]) => n > 0);
      if (blocking.length > 0) {
        throw conflict(`The workspace still has ${blocking.map(([what, n]) => `${n} ${what}`).join(", ")}; remove them first`);
      }
      // Organization policies attached to the workspace itself lose that attachment: it restricted nothing else.
      forgetPolicyTarget(tx, orgId, id);
      tx.delete(workspaces).where(and(eq(workspaces.organizationId, orgId), eq(workspaces.id, id))).run();
      return { result: { deletedId: id }, targetId: id, workspaceId: id };
    });
  }
}
