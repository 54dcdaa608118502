import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Provider, VirtualKey } from "../virtual-keys/virtual-key.type.js";

export enum ChatRole {
  SYSTEM = "SYSTEM",
  USER = "USER",
  ASSISTANT = "ASSISTANT",
  TOOL = "TOOL",
}

registerEnumType(ChatRole, { name: "ChatRole" });

export enum AttemptStatus {
  SUCCESS = "SUCCESS",
  FAILED = "FAILED",
  TIMEOUT = "TIMEOUT",
  SKIPPED = "SKIPPED",
}

registerEnumType(AttemptStatus, { name: "AttemptStatus" });

@ObjectType()
export class ChatMessage {
  @Field(() => ChatRole)
  role!: ChatRole;

  @Field(() => String, { nullable: true })
  content?: string | null;
}

@ObjectType()
export class TokenUsage {
  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  totalTokens!: number;
}

@ObjectType()
export class InvokeAttempt {
  @Field(() => VirtualKey, { nullable: true })
  virtualKey?: VirtualKey | null;

  /** Raw foreign key, filled by the service; not exposed. */
  virtualKeyId?: string | null;

  @Field(() => Provider)
  provider!: Provider;

  @Field(() => String)
  model!: string;

  @Field(() => AttemptStatus)
  status!: AttemptStatus;

  @Field(() => Int, { nullable: true })
  httpStatus?: number | null;

  @Field(() => Int)
  latencyMs!: number;

  @Field(() => String, { nullable: true })
  errorCode?: string | null;
}

@ObjectType()
export class InvokeModelPayload {
  @Field(() => ID, {
    description: "The request ID, also found in the audit log and usage records.",
  })
  id!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field(() => String)
  model!: string;

  @Field(() => ChatMessage)
  message!: ChatMessage;

  @Field(() => String, { nullable: true })
  finishReason?: string | null;

  @Field(() => TokenUsage)
  usage!: TokenUsage;

  @Field(() => Float, { nullable: true })
  costUsd?: number | null;

  @Field(() => Int)
  latencyMs!: number;

  @Field(() => [InvokeAttempt], {
    description: "Every provider attempt that this call made, in order.",
  })
  attempts!: InvokeAttempt[];
}

@ObjectType({ description: "A client that leaves a stream pays for the tokens streamed until then." })
export class InvokeModelChunk {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  delta!: string;

  @Field(() => String, { nullable: true })
  finishReason?: string | null;

  @Field(() => TokenUsage, { nullable: true, description: "Set on the last chunk." })
  usage?: TokenUsage | null;
}
