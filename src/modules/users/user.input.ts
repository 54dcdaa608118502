import { Field, InputType } from "type-graphql";

@InputType()
export class InviteUserInput {
  @Field(() => String)
  email!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;
}
