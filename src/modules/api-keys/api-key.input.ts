import { Field, ID, InputType } from "type-graphql";
import { ApiKeyStatus } from "./api-key.type.js";

@InputType()
export class ApiKeyFilter {
  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;

  @Field(() => ApiKeyStatus, { nullable: true })
  status?: ApiKeyStatus | null;

  @Field(() => String, { nullable: true })
  nameContains?: string | null;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String)
  name!: string;

  @Field(() => ID, { nullable: true, description: "Null for an organization-wide key." })
  workspaceId?: string | null;

  @Field(() => [ID], {
    description:
      "Roles granted to the key, in its workspace (or organization-wide for an organization key).",
  })
  roleIds!: string[];

  @Field(() => [ID], { nullable: true })
  policyIds?: string[] | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The person the key belongs to: by default the calling user, none for a key created by a\n" +
      "key. Naming another person needs USER_WRITE organization-wide and dominance over them.",
  })
  ownerUserId?: string | null;
}
