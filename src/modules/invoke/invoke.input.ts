import { JSONScalar } from "../../graphql/scalars.js";
import { Field, Float, InputType, Int } from "type-graphql";
import { ChatRole } from "./invoke.type.js";

@InputType()
export class ChatMessageInput {
  @Field(() => ChatRole)
  role!: ChatRole;

  @Field(() => String)
  content!: string;
}

@InputType({
  description:
    "Exactly one of virtualKey and route (each an ID or a slug). The model is required with a\n" +
    "virtual key, and optional with a route whose targets name models. The call belongs to the\n" +
    "API key's workspace, else to the route's or virtual key's, else to the organization; the\n" +
    "model actually sent in each attempt is the one checked against policies. metadata is\n" +
    "recorded, and never decides access, policy or attribution.",
})
export class InvokeModelInput {
  @Field(() => String, { nullable: true })
  virtualKey?: string | null;

  @Field(() => String, { nullable: true })
  route?: string | null;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => [ChatMessageInput])
  messages!: ChatMessageInput[];

  @Field(() => Float, { nullable: true })
  temperature?: number | null;

  @Field(() => Int, { nullable: true })
  maxTokens?: number | null;

  @Field(() => Float, { nullable: true })
  topP?: number | null;

  @Field(() => [String], { nullable: true })
  stop?: string[] | null;

  @Field(() => JSONScalar, { nullable: true })
  metadata?: unknown;
}
