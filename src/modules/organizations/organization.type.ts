import { Field, ID, ObjectType } from "type-graphql";
import { Node } from "../common/node.type.js";

@ObjectType({ implements: Node })
export class Organization implements Node {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;
}
