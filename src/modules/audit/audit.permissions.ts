import { Permission } from "../../auth/permission.js";
import { can, canOrgWide } from "../../auth/rules.js";

export const auditPermissions = {
  Query: { auditEvents: can(Permission.AUDIT_READ), verifyAuditLog: canOrgWide(Permission.AUDIT_READ) },
};
