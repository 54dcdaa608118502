import { Permission } from "../../auth/permission.js";
import { canOrgWide } from "../../auth/rules.js";

export const masterKeyPermissions = {
  Mutation: { rotateMasterKey: canOrgWide(Permission.MASTER_KEY_ROTATE) },
};
