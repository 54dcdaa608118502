import { Permission } from "../../auth/permission.js";
import { can } from "../../auth/rules.js";

export const policyPermissions = {
  Query: { policies: can(Permission.POLICY_READ) },
  Mutation: {
    createPolicy: can(Permission.POLICY_WRITE),
    updatePolicy: can(Permission.POLICY_WRITE),
    deletePolicy: can(Permission.POLICY_WRITE),
    attachPolicy: can(Permission.POLICY_WRITE),
    detachPolicy: can(Permission.POLICY_WRITE),
  },
};
