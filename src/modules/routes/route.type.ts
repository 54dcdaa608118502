import { Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";
import { VirtualKey } from "../virtual-keys/virtual-key.type.js";
import { Workspace } from "../workspaces/workspace.type.js";

export enum RoutingStrategy {
  SINGLE = "SINGLE",
  FALLBACK = "FALLBACK",
  LOADBALANCE = "LOADBALANCE",
}

registerEnumType(RoutingStrategy, { name: "RoutingStrategy" });

@ObjectType()
export class RetryPolicy {
  @Field(() => Int)
  attempts!: number;

  @Field(() => [Int])
  onStatusCodes!: number[];
}

@ObjectType()
export class RouteTarget {
  @Field(() => VirtualKey)
  virtualKey!: VirtualKey;

  /** Raw foreign key, filled by the service; not exposed. */
  virtualKeyId!: string;

  @Field(() => String, { nullable: true, description: "Overrides the model asked for, when set." })
  model?: string | null;

  @Field(() => Float, { nullable: true, description: "Relative weight under LOADBALANCE." })
  weight?: number | null;
}

@ObjectType({
  implements: Node,
  description:
    "How a call reaches providers: one target, fallbacks in order, or a weighted spread. Its\n" +
    "targets are virtual keys of its own workspace or organization-wide ones. Invoking a route\n" +
    "needs MODEL_INVOKE where the route lives, and each virtual key it tries brings its policies.",
})
export class Route implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => Workspace, { nullable: true, description: "Null for an organization-wide route." })
  workspace?: Workspace | null;

  /** Raw foreign key (null for an organization-wide route), filled by the service; not exposed. */
  workspaceId?: string | null;

  @Field(() => RoutingStrategy)
  strategy!: RoutingStrategy;

  @Field(() => [RouteTarget])
  targets!: RouteTarget[];

  @Field(() => RetryPolicy, { nullable: true })
  retry?: RetryPolicy | null;

  @Field(() => Int, { nullable: true })
  timeoutMs?: number | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class RouteConnection {
  @Field(() => [Route])
  nodes!: Route[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
