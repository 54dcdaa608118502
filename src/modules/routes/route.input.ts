import { Field, Float, ID, InputType, Int } from "type-graphql";
import { RoutingStrategy } from "./route.type.js";

@InputType()
export class RouteTargetInput {
  /** A virtual key, by ID or slug. */
  @Field(() => String)
  virtualKey!: string;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => Float, { nullable: true })
  weight?: number | null;
}

@InputType()
export class RetryPolicyInput {
  @Field(() => Int)
  attempts!: number;

  @Field(() => [Int], { nullable: true })
  onStatusCodes?: number[] | null;
}

@InputType()
export class CreateRouteInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  slug?: string | null;

  @Field(() => ID, { nullable: true, description: "Null for an organization-wide route." })
  workspaceId?: string | null;

  @Field(() => RoutingStrategy)
  strategy!: RoutingStrategy;

  @Field(() => [RouteTargetInput])
  targets!: RouteTargetInput[];

  @Field(() => RetryPolicyInput, { nullable: true })
  retry?: RetryPolicyInput | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;
}

@InputType()
export class UpdateRouteInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => RoutingStrategy, { nullable: true })
  strategy?: RoutingStrategy | null;

  @Field(() => [RouteTargetInput], { nullable: true })
  targets?: RouteTargetInput[] | null;

  @Field(() => RetryPolicyInput, { nullable: true })
  retry?: RetryPolicyInput | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;
}
