// Builds a principal's effective permissions from its role bindings.
import { and, eq } from "drizzle-orm";
import { roleBindings, roles } from "../db/schema.js";
import type { Queryable } from "../db/types.js";
import { Access, type Binding } from "./access.js";

export function loadBindings(db: Queryable, organizationId: string, principalId: string): Binding[] {
  return db
    .select({
      id: roleBindings.id,
      roleId: roleBindings.roleId,
      workspaceId: roleBindings.workspaceId,
      permissions: roles.permissions,
    })
    .from(roleBindings)
    .innerJoin(roles, eq(roles.id, roleBindings.roleId))
    .where(and(eq(roleBindings.organizationId, organizationId), eq(roleBindings.principalId, principalId)))
    .all();
}

export function loadAccess(db: Queryable, organizationId: string, principalId: string): Access {
  return Access.fromBindings(loadBindings(db, organizationId, principalId));
}

/**
 * What an API key may do: its own bindings, and for a key owned by a person no more than
 * that person currently holds.
 */
export function loadApiKeyAccess(db: Queryable, organizationId: string, apiKeyId: string, ownerUserId: string | null): Access {
  const own = loadAccess(db, organizationId, apiKeyId);
  return ownerUserId ? own.intersect(loadAccess(db, organizationId, ownerUserId)) : own;
}
