import { Field, ID, ObjectType } from "type-graphql";
import { Permission } from "../../auth/permission.js";
import { PrincipalKind } from "../../auth/principal-kind.js";
import { Node } from "../common/node.type.js";
import { Workspace } from "../workspaces/workspace.type.js";

@ObjectType({
  implements: Node,
  description:
    "A named set of permissions. The built-in roles cannot be changed or deleted:\n" +
    "owner: every permission.\n" +
    "admin: every permission but ORGANIZATION_WRITE and MASTER_KEY_ROTATE.\n" +
    "manager: every *_READ; POLICY_WRITE, API_KEY_WRITE, VIRTUAL_KEY_WRITE, ROUTE_WRITE,\n" +
    "ROLE_WRITE; MODEL_INVOKE.\n" +
    "member: ORGANIZATION_READ, WORKSPACE_READ, VIRTUAL_KEY_READ, ROUTE_READ, POLICY_READ,\n" +
    "USAGE_READ; MODEL_INVOKE.\n" +
    "viewer: every *_READ but AUDIT_READ.",
})
export class Role implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [Permission])
  permissions!: Permission[];

  @Field(() => Boolean)
  builtIn!: boolean;
}

@ObjectType({
  implements: Node,
  description:
    "Grants a role to a principal, in one workspace or (workspace null) in the whole organization.",
})
export class RoleBinding implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => Role)
  role!: Role;

  /** Raw foreign key, filled by the service; not exposed. */
  roleId!: string;

  @Field(() => PrincipalKind)
  principalKind!: PrincipalKind;

  @Field(() => ID)
  principalId!: string;

  @Field(() => Workspace, { nullable: true })
  workspace?: Workspace | null;

  /** Raw foreign key (null for an organization-wide binding), filled by the service; not exposed. */
  workspaceId?: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({
  description:
    "Why a principal may or may not do a thing: the bindings and policies that decided it.",
})
export class AccessDecision {
  @Field(() => Boolean)
  allowed!: boolean;

  @Field(() => String)
  reason!: string;

  @Field(() => [RoleBinding])
  matchedRoleBindings!: RoleBinding[];

  /** Raw IDs of the matched bindings, filled by the service; not exposed. */
  matchedRoleBindingIds?: string[];
}
