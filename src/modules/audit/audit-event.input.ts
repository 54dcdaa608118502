import { Field, ID, InputType } from "type-graphql";
import { AuditOutcome } from "./audit-event.type.js";

@InputType()
export class AuditFilter {
  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;

  @Field(() => ID, { nullable: true })
  actorId?: string | null;

  @Field(() => String, { nullable: true })
  action?: string | null;

  @Field(() => ID, { nullable: true })
  targetId?: string | null;

  @Field(() => AuditOutcome, { nullable: true })
  outcome?: AuditOutcome | null;

  @Field(() => Date, { nullable: true })
  from?: Date | null;

  @Field(() => Date, { nullable: true })
  to?: Date | null;
}
