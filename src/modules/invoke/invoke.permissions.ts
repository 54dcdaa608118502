import { Permission } from "../../auth/permission.js";
import { can } from "../../auth/rules.js";

export const invokePermissions = {
  Mutation: { invokeModel: can(Permission.MODEL_INVOKE) },
  Subscription: { invokeModelStream: can(Permission.MODEL_INVOKE) },
};
