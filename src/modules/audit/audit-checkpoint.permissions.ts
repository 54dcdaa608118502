import { Permission } from "../../auth/permission.js";
import { canOrgWide } from "../../auth/rules.js";

// Like verifyAuditLog: a checkpoint speaks for the whole chain, workspace events included.
export const auditCheckpointPermissions = {
  Query: { auditCheckpoints: canOrgWide(Permission.AUDIT_READ), auditSigningKey: canOrgWide(Permission.AUDIT_READ) },
  Mutation: { checkpointAuditLog: canOrgWide(Permission.AUDIT_READ) },
};
