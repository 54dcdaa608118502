import { Field, ID, InputType } from "type-graphql";
import { Permission } from "../../auth/permission.js";
import { PrincipalKind } from "../../auth/principal-kind.js";

@InputType()
export class CreateRoleInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [Permission])
  permissions!: Permission[];
}

@InputType()
export class UpdateRoleInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [Permission], { nullable: true })
  permissions?: Permission[] | null;
}

@InputType()
export class AssignRoleInput {
  @Field(() => ID)
  roleId!: string;

  @Field(() => PrincipalKind)
  principalKind!: PrincipalKind;

  @Field(() => ID)
  principalId!: string;

  @Field(() => ID, { nullable: true, description: "Null binds the role in the whole organization." })
  workspaceId?: string | null;
}
