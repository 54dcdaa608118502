// The building blocks of every module's permission map. A root field's rule is a coarse
// gate (the caller holds the permission somewhere); services check the exact scope.
import { GraphQLError } from "graphql";
import { allow, deny, rule, type IRule } from "graphql-shield";
import type { Context } from "../context.js";
import { forbidden } from "../errors.js";
import type { Permission } from "./permission.js";

export { allow, deny };

/** Any authenticated principal (the HTTP layer refuses everyone else before GraphQL runs). */
export const authenticated = rule("authenticated", { cache: "contextual" })(
  (_parent, _args, ctx: Context) => ctx.principal !== undefined || new GraphQLError("Authentication required", { extensions: { code: "UNAUTHENTICATED" } }),
);

const heldSomewhere = new Map<Permission, IRule>();
const heldOrgWide = new Map<Permission, IRule>();

/** Holds the permission organization-wide or in at least one workspace. */
export function can(permission: Permission): IRule {
  let r = heldSomewhere.get(permission);
  if (!r) {
    r = rule(`can-${permission}`, { cache: "contextual" })(
      (_parent, _args, ctx: Context) => ctx.principal.access.hasAnywhere(permission) || forbidden(`This needs ${permission}`),
    );
    heldSomewhere.set(permission, r);
  }
  return r;
}

/** Holds the permission organization-wide. */
export function canOrgWide(permission: Permission): IRule {
  let r = heldOrgWide.get(permission);
  if (!r) {
    r = rule(`org-${permission}`, { cache: "contextual" })(
      (_parent, _args, ctx: Context) => ctx.principal.access.has(permission) || forbidden(`This needs ${permission} organization-wide`),
    );
    heldOrgWide.set(permission, r);
  }
  return r;
}
