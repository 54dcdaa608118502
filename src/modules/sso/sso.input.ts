import { Field, ID, InputType } from "type-graphql";

@InputType()
export class SsoRoleMappingInput {
  @Field(() => String)
  claimValue!: string;

  @Field(() => ID)
  roleId!: string;

  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;
}

@InputType()
export class ConfigureSsoInput {
  @Field(() => String)
  issuer!: string;

  @Field(() => String)
  audience!: string;

  @Field(() => String, { nullable: true })
  roleClaim?: string | null;

  @Field(() => [SsoRoleMappingInput])
  roleMappings!: SsoRoleMappingInput[];

  @Field(() => Boolean, { nullable: true })
  jitProvisioning?: boolean | null;
}
