import { Permission } from "../../auth/permission.js";
import { authenticated, can, canOrgWide } from "../../auth/rules.js";

export const rolePermissions = {
  Query: { roles: can(Permission.ROLE_READ), explainAccess: authenticated },
  Mutation: {
    // Roles are organization objects: defining one needs ROLE_WRITE organization-wide.
    createRole: canOrgWide(Permission.ROLE_WRITE),
    updateRole: canOrgWide(Permission.ROLE_WRITE),
    deleteRole: canOrgWide(Permission.ROLE_WRITE),
    assignRole: can(Permission.ROLE_WRITE),
    revokeRoleBinding: can(Permission.ROLE_WRITE),
  },
};
