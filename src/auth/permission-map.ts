// One deny-by-default permission map, merged from the map each module keeps beside its
// resolver. Object types are allowed as a whole: their reads are scoped by the root field
// that reached them and by the services.
import { isObjectType, type GraphQLSchema } from "graphql";
import { shield, type IRule, type IRules } from "graphql-shield";
import { AppError } from "../errors.js";
import { apiKeyPermissions } from "../modules/api-keys/api-key.permissions.js";
import { auditCheckpointPermissions } from "../modules/audit/audit-checkpoint.permissions.js";
import { auditPermissions } from "../modules/audit/audit.permissions.js";
import { invokePermissions } from "../modules/invoke/invoke.permissions.js";
import { masterKeyPermissions } from "../modules/master-keys/master-key.permissions.js";
import { nodePermissions } from "../modules/nodes/node.permissions.js";
import { organizationPermissions } from "../modules/organizations/organization.permissions.js";
import { policyPermissions } from "../modules/policies/policy.permissions.js";
import { rolePermissions } from "../modules/roles/role.permissions.js";
import { routePermissions } from "../modules/routes/route.permissions.js";
import { ssoPermissions } from "../modules/sso/sso.permissions.js";
import { usagePermissions } from "../modules/usage/usage.permissions.js";
import { userPermissions } from "../modules/users/user.permissions.js";
import { viewerPermissions } from "../modules/viewer/viewer.permissions.js";
import { virtualKeyPermissions } from "../modules/virtual-keys/virtual-key.permissions.js";
import { workspacePermissions } from "../modules/workspaces/workspace.permissions.js";
import { allow, deny } from "./rules.js";

type ShieldRule = IRule | typeof allow;
type RootMap = Partial<Record<"Query" | "Mutation" | "Subscription", Record<string, ShieldRule>>>;

const moduleMaps: RootMap[] = [
  viewerPermissions,
  nodePermissions,
  organizationPermissions,
  workspacePermissions,
  userPermissions,
  rolePermissions,
  policyPermissions,
  apiKeyPermissions,
  virtualKeyPermissions,
  routePermissions,
  auditPermissions,
  auditCheckpointPermissions,
  usagePermissions,
  ssoPermissions,
  invokePermissions,
  masterKeyPermissions,
];

const ROOTS = ["Query", "Mutation", "Subscription"] as const;

/** The merged root-field rules; a field named twice is a programming error. */
export function rootRules(): Record<(typeof ROOTS)[number], Record<string, ShieldRule>> {
  const merged = { Query: {}, Mutation: {}, Subscription: {} } as Record<(typeof ROOTS)[number], Record<string, ShieldRule>>;
  for (const map of moduleMaps) {
    for (const root of ROOTS) {
      for (const [field, rule] of Object.entries(map[root] ?? {})) {
        if (merged[root][field]) throw new Error(`Two permission rules for ${root}.${field}`);
        merged[root][field] = rule;
      }
    }
  }
  return merged;
}

export function permissionShield(schema: GraphQLSchema) {
  const rules: Record<string, Record<string, ShieldRule> | ShieldRule> = { ...rootRules() };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) && !type.name.startsWith("__") && !(ROOTS as readonly string[]).includes(type.name)) {
      rules[type.name] = allow;
    }
  }
  return shield(rules as IRules, {
    fallbackRule: deny,
    allowExternalErrors: true,
    fallbackError: () => new AppError("FORBIDDEN", "You do not have permission to do this"),
  });
}
