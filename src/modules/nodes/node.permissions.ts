import { authenticated } from "../../auth/rules.js";

export const nodePermissions = {
  Query: { node: authenticated },
};
