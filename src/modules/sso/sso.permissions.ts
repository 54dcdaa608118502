import { Permission } from "../../auth/permission.js";
import { canOrgWide } from "../../auth/rules.js";

export const ssoPermissions = {
  Query: { ssoConnection: canOrgWide(Permission.ORGANIZATION_READ) },
  Mutation: { configureSso: canOrgWide(Permission.ORGANIZATION_WRITE) },
};
