import { Field, ID, Int, ObjectType } from "type-graphql";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";

@ObjectType({ implements: Node })
export class Workspace implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class WorkspaceConnection {
  @Field(() => [Workspace])
  nodes!: Workspace[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
