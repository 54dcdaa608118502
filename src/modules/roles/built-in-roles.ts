import { BUILT_IN_ROLES, type BuiltInRoleName } from "../../auth/permission.js";
import { roles } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { newId } from "../../ids.js";

/** Every organization gets its own copy of the five built-in roles, with random IDs. */
export function createBuiltInRoles(tx: Queryable, organizationId: string, at: Date): Record<BuiltInRoleName, string> {
  const ids = {} as Record<BuiltInRoleName, string>;
  for (const [name, role] of Object.entries(BUILT_IN_ROLES) as [BuiltInRoleName, (typeof BUILT_IN_ROLES)[BuiltInRoleName]][]) {
    ids[name] = newId("Role");
    tx.insert(roles)
      .values({
        id: ids[name],
        organizationId,
        name,
        description: role.description,
        permissions: [...role.permissions],
        builtIn: true,
        createdAt: at,
        updatedAt: at,
      })
      .run();
  }
  return ids;
}
