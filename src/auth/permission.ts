import { registerEnumType } from "type-graphql";

/** What a principal may do. Roles are sets of these. */
export enum Permission {
  ORGANIZATION_READ = "ORGANIZATION_READ",
  ORGANIZATION_WRITE = "ORGANIZATION_WRITE",
  WORKSPACE_READ = "WORKSPACE_READ",
  WORKSPACE_WRITE = "WORKSPACE_WRITE",
  USER_READ = "USER_READ",
  USER_WRITE = "USER_WRITE",
  ROLE_READ = "ROLE_READ",
  ROLE_WRITE = "ROLE_WRITE",
  POLICY_READ = "POLICY_READ",
  POLICY_WRITE = "POLICY_WRITE",
  API_KEY_READ = "API_KEY_READ",
  API_KEY_WRITE = "API_KEY_WRITE",
  VIRTUAL_KEY_READ = "VIRTUAL_KEY_READ",
  VIRTUAL_KEY_WRITE = "VIRTUAL_KEY_WRITE",
  ROUTE_READ = "ROUTE_READ",
  ROUTE_WRITE = "ROUTE_WRITE",
  MODEL_INVOKE = "MODEL_INVOKE",
  AUDIT_READ = "AUDIT_READ",
  USAGE_READ = "USAGE_READ",
  MASTER_KEY_ROTATE = "MASTER_KEY_ROTATE",
}

registerEnumType(Permission, {
  name: "Permission",
  description: "What a principal may do. Roles are sets of these.",
});

/** Every permission, in declaration order. */
export const ALL_PERMISSIONS = Object.values(Permission);

export type BuiltInRoleName = "owner" | "admin" | "manager" | "member" | "viewer";

const P = Permission;

/**
 * The built-in roles, exactly as the contract's `Role` description lists them.
 * They cannot be changed or deleted.
 */
export const BUILT_IN_ROLES: Record<
  BuiltInRoleName,
  { description: string; permissions: readonly Permission[] }
> = Object.freeze({
  owner: Object.freeze({
    description: "Every permission.",
    permissions: Object.freeze([...ALL_PERMISSIONS]),
  }),
  admin: Object.freeze({
    description: "Every permission but ORGANIZATION_WRITE and MASTER_KEY_ROTATE.",
    permissions: Object.freeze(
      ALL_PERMISSIONS.filter((p) => p !== P.ORGANIZATION_WRITE && p !== P.MASTER_KEY_ROTATE),
    ),
  }),
  manager: Object.freeze({
    description:
      "Every *_READ; POLICY_WRITE, API_KEY_WRITE, VIRTUAL_KEY_WRITE, ROUTE_WRITE, ROLE_WRITE; MODEL_INVOKE.",
    permissions: Object.freeze([
      P.ORGANIZATION_READ,
      P.WORKSPACE_READ,
      P.USER_READ,
      P.ROLE_READ,
      P.ROLE_WRITE,
      P.POLICY_READ,
      P.POLICY_WRITE,
      P.API_KEY_READ,
      P.API_KEY_WRITE,
      P.VIRTUAL_KEY_READ,
      P.VIRTUAL_KEY_WRITE,
      P.ROUTE_READ,
      P.ROUTE_WRITE,
      P.MODEL_INVOKE,
      P.AUDIT_READ,
      P.USAGE_READ,
    ]),
  }),
  member: Object.freeze({
    description:
      "ORGANIZATION_READ, WORKSPACE_READ, VIRTUAL_KEY_READ, ROUTE_READ, POLICY_READ, USAGE_READ; MODEL_INVOKE.",
    permissions: Object.freeze([
      P.ORGANIZATION_READ,
      P.WORKSPACE_READ,
      P.POLICY_READ,
      P.VIRTUAL_KEY_READ,
      P.ROUTE_READ,
      P.MODEL_INVOKE,
      P.USAGE_READ,
    ]),
  }),
  viewer: Object.freeze({
    description: "Every *_READ but AUDIT_READ.",
    permissions: Object.freeze([
      P.ORGANIZATION_READ,
      P.WORKSPACE_READ,
      P.USER_READ,
      P.ROLE_READ,
      P.POLICY_READ,
      P.API_KEY_READ,
      P.VIRTUAL_KEY_READ,
      P.ROUTE_READ,
      P.USAGE_READ,
    ]),
  }),
});
