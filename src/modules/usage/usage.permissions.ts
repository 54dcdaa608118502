import { Permission } from "../../auth/permission.js";
import { can } from "../../auth/rules.js";

export const usagePermissions = {
  Query: { usage: can(Permission.USAGE_READ), usageRecords: can(Permission.USAGE_READ) },
};
