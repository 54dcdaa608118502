import { Permission } from "../../auth/permission.js";
import { canOrgWide } from "../../auth/rules.js";

export const organizationPermissions = {
  Query: { organization: canOrgWide(Permission.ORGANIZATION_READ) },
};
