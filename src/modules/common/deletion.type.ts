import { Field, ID, ObjectType } from "type-graphql";

@ObjectType({ description: "The result of a deletion." })
export class DeletionPayload {
  @Field(() => ID)
  deletedId!: string;
}
