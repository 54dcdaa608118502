import { Permission } from "../../auth/permission.js";
import { can, canOrgWide } from "../../auth/rules.js";

export const workspacePermissions = {
  Query: { workspaces: can(Permission.WORKSPACE_READ) },
  Mutation: {
    createWorkspace: canOrgWide(Permission.WORKSPACE_WRITE),
    deleteWorkspace: can(Permission.WORKSPACE_WRITE),
  },
};
