import { SafeIntScalar } from "../../graphql/scalars.js";
import { Field, Float, ObjectType } from "type-graphql";

@ObjectType()
export class UsageSummary {
  @Field(() => SafeIntScalar)
  requests!: number;

  @Field(() => SafeIntScalar)
  errors!: number;

  @Field(() => SafeIntScalar)
  promptTokens!: number;

  @Field(() => SafeIntScalar)
  completionTokens!: number;

  @Field(() => Float)
  costUsd!: number;
}
