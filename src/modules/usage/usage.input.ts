import { Field, ID, InputType } from "type-graphql";

@InputType()
export class UsageFilter {
  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;

  @Field(() => ID, { nullable: true })
  apiKeyId?: string | null;

  @Field(() => ID, { nullable: true })
  virtualKeyId?: string | null;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => Date, { nullable: true })
  from?: Date | null;

  @Field(() => Date, { nullable: true })
  to?: Date | null;
}
