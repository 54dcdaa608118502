import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { PrincipalKind } from "../../auth/principal-kind.js";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";
import { Policy } from "../policies/policy.type.js";
import { RoleBinding } from "../roles/role.type.js";
import { User } from "../users/user.type.js";
import { Workspace } from "../workspaces/workspace.type.js";

export enum ApiKeyStatus {
  ACTIVE = "ACTIVE",
  EXPIRED = "EXPIRED",
  REVOKED = "REVOKED",
}

registerEnumType(ApiKeyStatus, { name: "ApiKeyStatus" });

@ObjectType({
  implements: Node,
  description:
    "A credential for calling this API. Only a hash of its secret is stored. A key owned by a\n" +
    "person acts with at most that person's current permissions, and stops working when the\n" +
    "person is suspended or deleted.",
})
export class ApiKey implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, {
    description: "The non-secret start of the key, enough to recognise it in a list.",
  })
  prefix!: string;

  @Field(() => Workspace, { nullable: true, description: "Null for an organization-wide key." })
  workspace?: Workspace | null;

  /** Raw foreign key (null for an organization-wide key), filled by the service; not exposed. */
  workspaceId?: string | null;

  @Field(() => User, {
    nullable: true,
    description: "Null for a service key that belongs to no person.",
  })
  owner?: User | null;

  /** Raw foreign key (null for a service key), filled by the service; not exposed. */
  ownerUserId?: string | null;

  @Field(() => PrincipalKind, { nullable: true, description: "Who created the key." })
  createdByKind?: PrincipalKind | null;

  @Field(() => ID, { nullable: true })
  createdById?: string | null;

  /** Resolved by a field resolver (bindings whose principal is this key). */
  @Field(() => [RoleBinding])
  roleBindings!: RoleBinding[];

  /** Resolved by a field resolver (policies attached to this key). */
  @Field(() => [Policy])
  policies!: Policy[];

  @Field(() => ApiKeyStatus)
  status!: ApiKeyStatus;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => Date, { nullable: true })
  lastUsedAt?: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt?: Date | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class ApiKeyConnection {
  @Field(() => [ApiKey])
  nodes!: ApiKey[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: "The secret is returned here once and never again." })
export class ApiKeySecretPayload {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String)
  secret!: string;
}
