import { authenticated } from "../../auth/rules.js";

export const viewerPermissions = {
  Query: { viewer: authenticated },
};
