import { Field, Float, ID, InputType, Int } from "type-graphql";
import { BudgetPeriod } from "./policy.type.js";

@InputType()
export class RateLimitInput {
  @Field(() => Int, { nullable: true })
  requestsPerMinute?: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerMinute?: number | null;
}

@InputType()
export class BudgetInput {
  @Field(() => Float)
  limitUsd!: number;

  @Field(() => BudgetPeriod)
  period!: BudgetPeriod;
}

@InputType()
export class CreatePolicyInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => ID, { nullable: true, description: "Null for an organization policy." })
  workspaceId?: string | null;

  @Field(() => [String], { nullable: true })
  allowedModels?: string[] | null;

  @Field(() => [String], { nullable: true })
  deniedModels?: string[] | null;

  @Field(() => RateLimitInput, { nullable: true })
  rateLimit?: RateLimitInput | null;

  @Field(() => BudgetInput, { nullable: true })
  budget?: BudgetInput | null;

  @Field(() => [String], { nullable: true })
  allowedIpRanges?: string[] | null;
}

@InputType()
export class UpdatePolicyInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true })
  allowedModels?: string[] | null;

  @Field(() => [String], { nullable: true })
  deniedModels?: string[] | null;

  @Field(() => RateLimitInput, { nullable: true })
  rateLimit?: RateLimitInput | null;

  @Field(() => BudgetInput, { nullable: true })
  budget?: BudgetInput | null;

  @Field(() => [String], { nullable: true })
  allowedIpRanges?: string[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description: "Lift a restriction (a null field above leaves it unchanged).",
  })
  removeAllowedModels?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  removeRateLimit?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  removeBudget?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  removeAllowedIpRanges?: boolean | null;
}

@InputType()
export class PolicyFilter {
  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;

  @Field(() => String, { nullable: true })
  nameContains?: string | null;
}
