import { Field, Int, ObjectType } from "type-graphql";

@ObjectType()
export class MasterKeyRotation {
  @Field(() => Int)
  activeVersion!: number;

  @Field(() => Int)
  rewrappedDataKeys!: number;
}
