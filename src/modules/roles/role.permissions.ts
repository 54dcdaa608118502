import { Permission } from "../../auth/permission.js";
import { authenticated, can } from "../../auth/rules.js";

export const rolePermissions = {
  Query: { roles: can(Permission.ROLE_READ), explainAccess: authenticated },
  Mutation: {
    createRole: can(Permission.ROLE_WRITE),
    updateRole: can(Permission.ROLE_WRITE),
    deleteRole: can(Permission.ROLE_WRITE),
    assignRole: can(Permission.ROLE_WRITE),
    revokeRoleBinding: can(Permission.ROLE_WRITE),
  },
};
