import { Permission } from "../../auth/permission.js";
import { can } from "../../auth/rules.js";

export const apiKeyPermissions = {
  Query: { apiKeys: can(Permission.API_KEY_READ) },
  Mutation: {
    createApiKey: can(Permission.API_KEY_WRITE),
    revokeApiKey: can(Permission.API_KEY_WRITE),
    rotateApiKey: can(Permission.API_KEY_WRITE),
  },
};
