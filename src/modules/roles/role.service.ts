// Roles (sets of permissions) and role bindings (a role granted to a principal, organization-wide
// or in one workspace). Nobody grants what they do not hold, nobody changes their own roles, and
// acting on a principal needs dominance over it.
import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import { loadBindings } from "../../auth/access-loader.js";
import type { Access } from "../../auth/access.js";
import { ALL_PERMISSIONS, Permission } from "../../auth/permission.js";
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { apiKeys, roleBindings, roles, ssoRoleMappings, users } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { badInput, conflict, forbidden, notFound } from "../../errors.js";
import { idKind, newId } from "../../ids.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { validateName, validateText } from "../common/slug.js";
import { assertWorkspaceNamed, workspaceExists } from "../common/workspace-scope.js";
import { assertDominates, assertNotSelf, assertOwnerRemains } from "./principal-guard.js";

type RoleRow = typeof roles.$inferSelect;
type BindingRow = typeof roleBindings.$inferSelect;

export interface RoleView {
  id: string;
  organizationId: string;
  name: string;
  description: string | null;
  permissions: Permission[];
  builtIn: boolean;
}

export interface BindingView {
  id: string;
  organizationId: string;
  roleId: string;
  principalKind: "USER" | "API_KEY";
  principalId: string;
  workspaceId: string | null;
  createdAt: Date;
}

export function toRoleView(row: RoleRow): RoleView {
  const held = new Set(row.permissions);
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    description: row.description,
    permissions: ALL_PERMISSIONS.filter((p) => held.has(p)),
    builtIn: row.builtIn,
  };
}

export function toBindingView(row: BindingRow): BindingView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    roleId: row.roleId,
    principalKind: row.principalKind,
    principalId: row.principalId,
    workspaceId: row.workspaceId,
    createdAt: row.createdAt,
  };
}

/** A binding is read like its principal: USER_READ or API_KEY_READ where the binding lives. */
export function bindingReadable(access: Access, b: { principalKind: "USER" | "API_KEY"; workspaceId: string | null }): boolean {
  return access.has(b.principalKind === "USER" ? Permission.USER_READ : Permission.API_KEY_READ, b.workspaceId);
}

function validateDescription(description: string | null | undefined): string | null {
  return validateText(description, "description");
}

function scopeText(workspaceId: string | null): string {
  return workspaceId ? `in workspace ${workspaceId}` : "organization-wide";
}

export interface AssignRoleArgs {
  roleId: string;
  principalKind: "USER" | "API_KEY";
  principalId: string;
  workspaceId?: string | null;
}

export class RoleService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
    private readonly clock: Clock,
  ) {}

  // ---- roles ----

  list(meta: RequestMeta): RoleView[] {
    if (!meta.principal.access.hasAnywhere(Permission.ROLE_READ)) return [];
    return this.db
      .select()
      .from(roles)
      .where(eq(roles.organizationId, meta.principal.organizationId))
      .orderBy(asc(roles.createdAt), asc(roles.name))
      .all()
      .map(toRoleView);
  }

  /** Roles are readable with ROLE_READ in any scope. */
  find(meta: RequestMeta, id: string): RoleView | undefined {
    if (!meta.principal.access.hasAnywhere(Permission.ROLE_READ)) return undefined;
    const row = this.row(this.db, meta.principal.organizationId, id);
    return row ? toRoleView(row) : undefined;
  }

  /** The role of a binding the caller already reads: a non-null nested object follows its parent. */
  roleOfBinding(organizationId: string, roleId: string): RoleView {
    const row = this.row(this.db, organizationId, roleId);
    if (!row) throw notFound("Role");
    return toRoleView(row);
  }

  private row(db: Queryable, organizationId: string, id: string): RoleRow | undefined {
    return db.select().from(roles).where(and(eq(roles.organizationId, organizationId), eq(roles.id, id))).get();
  }

  /** Roles are organization objects: defining one needs ROLE_WRITE and its permissions organization-wide. */
  private assertCanDefine(meta: RequestMeta, permissions: readonly Permission[]): void {
    const access = meta.principal.access;
    if (!access.has(Permission.ROLE_WRITE)) throw forbidden("Defining roles needs ROLE_WRITE organization-wide");
    const missing = permissions.filter((p) => !access.has(p));
    if (missing.length > 0) throw forbidden(`A role cannot carry permissions you do not hold organization-wide: ${missing.join(", ")}`);
  }

  create(meta: RequestMeta, input: { name: string; description?: string | null; permissions: Permission[] }): RoleView {
    const name = validateName(input.name);
    const description = validateDescription(input.description);
    const permissions = ALL_PERMISSIONS.filter((p) => input.permissions.includes(p));
    this.assertCanDefine(meta, permissions);
    const orgId = meta.principal.organizationId;
    return this.audit.write(meta, { action: "createRole", targetKind: "Role" }, (tx, at) => {
      this.assertNameFree(tx, orgId, name);
      const row: RoleRow = { id: newId("Role"), organizationId: orgId, name, description, permissions, builtIn: false, createdAt: at, updatedAt: at };
      tx.insert(roles).values(row).run();
      return { result: toRoleView(row), targetId: row.id, details: { name, permissions } };
    });
  }

  update(meta: RequestMeta, input: { id: string; name?: string | null; description?: string | null; permissions?: Permission[] | null }): RoleView {
    const orgId = meta.principal.organizationId;
    const existing = this.row(this.db, orgId, input.id);
    if (!existing) throw notFound("Role");
    if (existing.builtIn) throw forbidden("Built-in roles cannot be changed");
    const name = input.name === null || input.name === undefined ? existing.name : validateName(input.name);
    const description = input.description === null || input.description === undefined ? existing.description : validateDescription(input.description);
    const current = toRoleView(existing).permissions;
    const permissions = input.permissions ? ALL_PERMISSIONS.filter((p) => input.permissions!.includes(p)) : current;
    // The old permissions must be covered too: removing one demotes everyone who holds the role.
    this.assertCanDefine(meta, [...new Set([...permissions, ...current])]);
    return this.audit.write(meta, { action: "updateRole", targetKind: "Role" }, (tx, at) => {
      if (name !== existing.name) this.assertNameFree(tx, orgId, name);
      const changesPermissions = permissions.join() !== current.join();
      if (changesPermissions) {
        const holders = tx
          .select({ kind: roleBindings.principalKind, id: roleBindings.principalId })
          .from(roleBindings)
          .where(and(eq(roleBindings.organizationId, orgId), eq(roleBindings.roleId, existing.id)))
          .all();
        for (const h of holders) {
          assertNotSelf(meta, h.id);
          assertDominates(tx, meta, { kind: h.kind, id: h.id, ownerUserId: this.ownerOf(tx, orgId, h.kind, h.id) });
        }
      }
      tx.update(roles)
        .set({ name, description, permissions, updatedAt: at })
        .where(and(eq(roles.organizationId, orgId), eq(roles.id, existing.id)))
        .run();
      const row = this.row(tx, orgId, existing.id)!;
      return { result: toRoleView(row), targetId: row.id, details: { name, permissions } };
    });
  }

  delete(meta: RequestMeta, id: string): { deletedId: string } {
    const orgId = meta.principal.organizationId;
    const existing = this.row(this.db, orgId, id);
    if (!existing) throw notFound("Role");
    if (existing.builtIn) throw forbidden("Built-in roles cannot be deleted");
    this.assertCanDefine(meta, []);
    return this.audit.write(meta, { action: "deleteRole", targetKind: "Role" }, (tx) => {
      const bound = tx.select({ n: count() }).from(roleBindings).where(and(eq(roleBindings.organizationId, orgId), eq(roleBindings.roleId, id))).get()!.n;
      const mapped = tx.select({ n: count() }).from(ssoRoleMappings).where(and(eq(ssoRoleMappings.organizationId, orgId), eq(ssoRoleMappings.roleId, id))).get()!.n;
      if (bound > 0 || mapped > 0) throw conflict(`The role is still bound ${bound} time(s) and mapped from SSO ${mapped} time(s); remove those first`);
      tx.delete(roles).where(and(eq(roles.organizationId, orgId), eq(roles.id, id))).run();
      return { result: { deletedId: id }, targetId: id, details: { name: existing.name } };
    });
  }

  private assertNameFree(tx: Queryable, organizationId: string, name: string): void {
    // Case-insensitive, so that no custom role passes for a built-in one ("Owner").
    const taken = tx
      .select({ id: roles.id })
      .from(roles)
      .where(and(eq(roles.organizationId, organizationId), sql`lower(${roles.name}) = lower(${name})`))
      .get();
    if (taken) throw conflict("A role with this name already exists");
  }

  // ---- bindings ----

  /** The bindings of a principal that the caller may read. */
  bindingsOf(meta: RequestMeta, principalId: string): BindingView[] {
    return this.db
      .select()
      .from(roleBindings)
      .where(and(eq(roleBindings.organizationId, meta.principal.organizationId), eq(roleBindings.principalId, principalId)))
      .orderBy(asc(roleBindings.createdAt), asc(roleBindings.id))
      .all()
      .filter((b) => bindingReadable(meta.principal.access, b))
      .map(toBindingView);
  }

  findBinding(meta: RequestMeta, id: string): BindingView | undefined {
    const row = this.db
      .select()
      .from(roleBindings)
      .where(and(eq(roleBindings.organizationId, meta.principal.organizationId), eq(roleBindings.id, id)))
      .get();
    return row && bindingReadable(meta.principal.access, row) ? toBindingView(row) : undefined;
  }

  assign(meta: RequestMeta, input: AssignRoleArgs): BindingView {
    const orgId = meta.principal.organizationId;
    const access = meta.principal.access;
    const workspaceId = input.workspaceId ?? null;
    const role = this.row(this.db, orgId, input.roleId);
    if (!role) throw notFound("Role");
    if (workspaceId) assertWorkspaceNamed(this.db, meta, workspaceId, [Permission.ROLE_READ, Permission.ROLE_WRITE, Permission.USER_READ, Permission.API_KEY_READ]);
    const ownerUserId = this.principalOwner(this.db, orgId, input.principalKind, input.principalId);
    if (!access.has(Permission.ROLE_WRITE, workspaceId)) throw forbidden(`Assigning a role ${scopeText(workspaceId)} needs ROLE_WRITE there`);
    const permissions = toRoleView(role).permissions;
    const missing = permissions.filter((p) => !access.has(p, workspaceId));
    if (missing.length > 0) throw forbidden(`You cannot grant permissions you do not hold ${scopeText(workspaceId)}: ${missing.join(", ")}`);
    assertNotSelf(meta, input.principalId);
    if (input.principalKind === "API_KEY") {
      const key = this.db.select({ workspaceId: apiKeys.workspaceId }).from(apiKeys).where(and(eq(apiKeys.organizationId, orgId), eq(apiKeys.id, input.principalId))).get()!;
      // A workspace key never acts outside its workspace.
      if (key.workspaceId !== null && key.workspaceId !== workspaceId) throw badInput("A workspace API key can only be given roles in its own workspace", "workspaceId");
    }
    return this.audit.write(meta, { action: "assignRole", targetKind: "RoleBinding" }, (tx, at) => {
      assertDominates(tx, meta, { kind: input.principalKind, id: input.principalId, ownerUserId });
      const duplicate = tx
        .select({ id: roleBindings.id })
        .from(roleBindings)
        .where(
          and(
            eq(roleBindings.organizationId, orgId),
            eq(roleBindings.roleId, role.id),
            eq(roleBindings.principalId, input.principalId),
            workspaceId ? eq(roleBindings.workspaceId, workspaceId) : isNull(roleBindings.workspaceId),
          ),
        )
        .get();
      if (duplicate) throw conflict("The principal already holds this role in this scope");
      const row: BindingRow = {
        id: newId("RoleBinding"),
        organizationId: orgId,
        roleId: role.id,
        principalKind: input.principalKind,
        principalId: input.principalId,
        workspaceId,
        source: "MANUAL",
        createdAt: at,
      };
      tx.insert(roleBindings).values(row).run();
      return {
        result: toBindingView(row),
        targetId: row.id,
        workspaceId,
        details: { roleId: role.id, principalKind: input.principalKind, principalId: input.principalId },
      };
    });
  }

  revokeBinding(meta: RequestMeta, id: string): { deletedId: string } {
    const orgId = meta.principal.organizationId;
    const binding = this.findBinding(meta, id);
    if (!binding) throw notFound("RoleBinding");
    if (!meta.principal.access.has(Permission.ROLE_WRITE, binding.workspaceId)) {
      throw forbidden(`Revoking a role binding ${scopeText(binding.workspaceId)} needs ROLE_WRITE there`);
    }
    assertNotSelf(meta, binding.principalId);
    return this.audit.write(meta, { action: "revokeRoleBinding", targetKind: "RoleBinding" }, (tx, at) => {
      const ownerUserId = this.ownerOf(tx, orgId, binding.principalKind, binding.principalId);
      assertDominates(tx, meta, { kind: binding.principalKind, id: binding.principalId, ownerUserId });
      const role = this.row(tx, orgId, binding.roleId)!;
      if (role.builtIn && role.name === "owner" && binding.workspaceId === null) {
        assertOwnerRemains(tx, orgId, at, new Set([binding.principalId]));
      }
      tx.delete(roleBindings).where(and(eq(roleBindings.organizationId, orgId), eq(roleBindings.id, id))).run();
      return {
        result: { deletedId: id },
        targetId: id,
        workspaceId: binding.workspaceId,
        details: { roleId: binding.roleId, principalKind: binding.principalKind, principalId: binding.principalId },
      };
    });
  }

  /** NOT_FOUND unless the principal is a user or API key of this organization; its owner for a key. */
  private principalOwner(db: Queryable, organizationId: string, kind: "USER" | "API_KEY", id: string): string | null {
    if (idKind(id) !== (kind === "USER" ? "User" : "ApiKey")) throw notFound("Principal");
    if (kind === "USER") {
      const user = db.select({ id: users.id }).from(users).where(and(eq(users.organizationId, organizationId), eq(users.id, id))).get();
      if (!user) throw notFound("Principal");
      return null;
    }
    const key = db.select({ ownerUserId: apiKeys.ownerUserId }).from(apiKeys).where(and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.id, id))).get();
    if (!key) throw notFound("Principal");
    return key.ownerUserId;
  }

  private ownerOf(db: Queryable, organizationId: string, kind: "USER" | "API_KEY", id: string): string | null {
    if (kind === "USER") return null;
    return db.select({ ownerUserId: apiKeys.ownerUserId }).from(apiKeys).where(and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.id, id))).get()?.ownerUserId ?? null;
  }

  // ---- explainAccess ----

  explain(meta: RequestMeta, principalId: string | null | undefined, permission: Permission, workspaceId: string | null | undefined) {
    const orgId = meta.principal.organizationId;
    const ws = workspaceId ?? null;
    const targetId = principalId ?? meta.principal.id;
    if (ws && !workspaceExists(this.db, orgId, ws)) throw notFound("Workspace");
    const kind = idKind(targetId);
    let blocked: string | undefined;
    let ownerUserId: string | null = null;
    if (kind === "User") {
      const user = this.db.select({ status: users.status }).from(users).where(and(eq(users.organizationId, orgId), eq(users.id, targetId))).get();
      if (!user) throw notFound("Principal");
      if (user.status !== "ACTIVE") blocked = "The user is suspended";
    } else if (kind === "ApiKey") {
      const key = this.db.select().from(apiKeys).where(and(eq(apiKeys.organizationId, orgId), eq(apiKeys.id, targetId))).get();
      if (!key) throw notFound("Principal");
      ownerUserId = key.ownerUserId;
      if (key.revokedAt) blocked = "The API key is revoked";
      else if (key.expiresAt && key.expiresAt.getTime() <= this.clock.now().getTime()) blocked = "The API key has expired";
      else if (ownerUserId && this.db.select({ status: users.status }).from(users).where(and(eq(users.organizationId, orgId), eq(users.id, ownerUserId))).get()?.status !== "ACTIVE") {
        blocked = "The person who owns the API key is suspended";
      }
    } else {
      throw notFound("Principal");
    }
    if (targetId !== meta.principal.id && !meta.principal.access.has(Permission.USER_READ, ws)) {
      throw forbidden(`Explaining another principal's access ${scopeText(ws)} needs USER_READ there`);
    }

    const matching = (id: string) =>
      loadBindings(this.db, orgId, id).filter((b) => (b.workspaceId === null || b.workspaceId === ws) && b.permissions.includes(permission));
    const own = matching(targetId);
    const viaOwner = ownerUserId ? matching(ownerUserId) : [];
    const where = scopeText(ws);
    let allowed = false;
    let reason: string;
    let decided = own;
    if (own.length === 0) {
      reason = `No role binding grants ${permission} ${where}`;
    } else if (ownerUserId && viaOwner.length === 0) {
      reason = `The API key's roles grant ${permission} ${where}, but the person who owns it does not hold it there`;
    } else if (blocked) {
      reason = `${blocked}; its roles would grant ${permission} ${where}`;
    } else {
      allowed = true;
      decided = [...own, ...viaOwner];
      reason = `Granted ${where} by ${decided.length === 1 ? "one role binding" : `${decided.length} role bindings`}${ownerUserId ? ", the key's owner included" : ""}`;
    }
    const matchedRoleBindings = this.db
      .select()
      .from(roleBindings)
      .where(and(eq(roleBindings.organizationId, orgId), inArray(roleBindings.id, decided.map((b) => b.id))))
      .orderBy(asc(roleBindings.createdAt), asc(roleBindings.id))
      .all()
      // Another principal's bindings are a list like any other: only those the caller could read.
      .filter((b) => targetId === meta.principal.id || bindingReadable(meta.principal.access, b))
      .map(toBindingView);
    return { allowed, reason, matchedRoleBindings };
  }
}
