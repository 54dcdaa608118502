import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";
import { RoleBinding } from "../roles/role.type.js";

export enum UserStatus {
  ACTIVE = "ACTIVE",
  SUSPENDED = "SUSPENDED",
}

registerEnumType(UserStatus, { name: "UserStatus" });

@ObjectType({
  implements: Node,
  description:
    "A person. Created by inviteUser or on first sign-in through the organization's OIDC\n" +
    "identity provider. A signed-in person is identified by the token's iss and sub; an invited\n" +
    "user is matched by email once, on first sign-in, and only when the token says\n" +
    "email_verified.",
})
export class User implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => UserStatus)
  status!: UserStatus;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastLoginAt?: Date | null;

  /** Resolved by a field resolver (bindings whose principal is this user). */
  @Field(() => [RoleBinding])
  roleBindings!: RoleBinding[];
}

@ObjectType()
export class UserConnection {
  @Field(() => [User])
  nodes!: User[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: "The result of deleteUser." })
export class DeleteUserPayload {
  @Field(() => ID)
  deletedUserId!: string;

  @Field(() => [ID])
  revokedApiKeyIds!: string[];
}
