import { Permission } from "../../auth/permission.js";
import { can } from "../../auth/rules.js";

export const routePermissions = {
  Query: { routes: can(Permission.ROUTE_READ) },
  Mutation: {
    createRoute: can(Permission.ROUTE_WRITE),
    updateRoute: can(Permission.ROUTE_WRITE),
    deleteRoute: can(Permission.ROUTE_WRITE),
  },
};
