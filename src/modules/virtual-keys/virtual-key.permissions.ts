import { Permission } from "../../auth/permission.js";
import { can } from "../../auth/rules.js";

export const virtualKeyPermissions = {
  Query: { virtualKeys: can(Permission.VIRTUAL_KEY_READ) },
  Mutation: {
    createVirtualKey: can(Permission.VIRTUAL_KEY_WRITE),
    updateVirtualKey: can(Permission.VIRTUAL_KEY_WRITE),
    rotateVirtualKeySecret: can(Permission.VIRTUAL_KEY_WRITE),
    deleteVirtualKey: can(Permission.VIRTUAL_KEY_WRITE),
  },
};
