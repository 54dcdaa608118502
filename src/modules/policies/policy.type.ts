import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";
import { Workspace } from "../workspaces/workspace.type.js";

export enum BudgetPeriod {
  DAY = "DAY",
  WEEK = "WEEK",
  MONTH = "MONTH",
  TOTAL = "TOTAL",
}

registerEnumType(BudgetPeriod, { name: "BudgetPeriod" });

@ObjectType()
export class RateLimit {
  @Field(() => Int, { nullable: true })
  requestsPerMinute?: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerMinute?: number | null;
}

@ObjectType({
  description:
    "One total per target the policy is attached to: each API key, virtual key or workspace counts its own spend.",
})
export class Budget {
  @Field(() => Float)
  limitUsd!: number;

  @Field(() => BudgetPeriod)
  period!: BudgetPeriod;
}

@ObjectType({
  implements: Node,
  description:
    "Rules on model use, attached to API keys, virtual keys, routes or workspaces. A call must\n" +
    "satisfy every policy attached to the API key, the route, each virtual key it tries, and the\n" +
    "workspace it belongs to. Changing, deleting or detaching a policy needs POLICY_WRITE where\n" +
    "the policy lives; attaching needs it where the target lives. A key cannot change the\n" +
    "policies on itself, and a key created by a key carries its creator's policies too.",
})
export class Policy implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => Workspace, { nullable: true, description: "Null for an organization policy." })
  workspace?: Workspace | null;

  /** Raw foreign key (null for an organization policy), filled by the service; not exposed. */
  workspaceId?: string | null;

  @Field(() => [String], {
    nullable: true,
    description: "Glob patterns such as gpt-4o*; null means any model.",
  })
  allowedModels?: string[] | null;

  @Field(() => [String])
  deniedModels!: string[];

  @Field(() => RateLimit, { nullable: true })
  rateLimit?: RateLimit | null;

  @Field(() => Budget, { nullable: true })
  budget?: Budget | null;

  @Field(() => [String], {
    nullable: true,
    description: "CIDR ranges the caller must come from; null means any address.",
  })
  allowedIpRanges?: string[] | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class PolicyConnection {
  @Field(() => [Policy])
  nodes!: Policy[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
