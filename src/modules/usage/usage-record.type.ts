import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import { PageInfo } from "../common/page-info.type.js";

@ObjectType({ description: "One provider attempt of a model call (invokeModel or /v1), as usage sums count it." })
export class UsageRecord {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: "The workspace the call belonged to; null for an organization-level call." })
  workspaceId?: string | null;

  @Field(() => String, { description: "The call's request ID, also found in its audit event." })
  requestId!: string;

  @Field(() => ID, { nullable: true, description: "The API key that called; null for a signed-in person." })
  apiKeyId?: string | null;

  @Field(() => ID, { nullable: true })
  virtualKeyId?: string | null;

  @Field(() => ID, { nullable: true })
  routeId?: string | null;

  @Field(() => String)
  provider!: string;

  @Field(() => String)
  model!: string;

  @Field(() => Boolean)
  success!: boolean;

  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Float)
  costUsd!: number;

  @Field(() => Int)
  latencyMs!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => String, {
    nullable: true,
    description:
      "The prompt of the call, redacted (emails, phone numbers, card numbers and key-like strings replaced by markers), " +
      "on the record of the attempt that served it. Null unless the server stores text (PORTCULLIS_STORE_TEXT), and after the retention period.",
  })
  promptText?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The completion (for a stream, what was streamed), redacted like promptText. Null unless the server stores text, and after the retention period.",
  })
  completionText?: string | null;
}

@ObjectType()
export class UsageRecordConnection {
  @Field(() => [UsageRecord])
  nodes!: UsageRecord[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
