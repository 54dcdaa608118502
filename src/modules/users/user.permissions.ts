import { Permission } from "../../auth/permission.js";
import { can, canOrgWide } from "../../auth/rules.js";

export const userPermissions = {
  Query: { users: can(Permission.USER_READ) },
  Mutation: {
    inviteUser: canOrgWide(Permission.USER_WRITE),
    suspendUser: canOrgWide(Permission.USER_WRITE),
    deleteUser: canOrgWide(Permission.USER_WRITE),
  },
};
