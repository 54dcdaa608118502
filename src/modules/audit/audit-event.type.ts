import { JSONScalar, SafeIntScalar } from "../../graphql/scalars.js";
import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { PrincipalKind } from "../../auth/principal-kind.js";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";

export enum AuditOutcome {
  SUCCESS = "SUCCESS",
  DENIED = "DENIED",
  FAILURE = "FAILURE",
}

registerEnumType(AuditOutcome, { name: "AuditOutcome" });

@ObjectType({
  implements: Node,
  description:
    "One entry of the append-only, hash-chained audit log of an organization. hash is the\n" +
    "lowercase hex SHA-256 of the UTF-8 bytes of previousHash (64 hex characters) immediately\n" +
    "followed by the RFC 8785 canonical JSON of an object with exactly the fields of this type as\n" +
    "listed in this contract except hash (previousHash included, nulls included), with the values\n" +
    "this API returns, so that anyone holding an export can verify the chain. The first event's\n" +
    "previousHash is 64 zeros; events removed at the end of the retention period leave the chain\n" +
    "starting at the first event kept. action is the name of the mutation (createWorkspace), or\n" +
    "authenticate for a failed authentication, or invokeModel for a call; targetKind is the\n" +
    "GraphQL type name of the target (Workspace).",
})
export class AuditEvent implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => SafeIntScalar)
  sequence!: number;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => PrincipalKind, { nullable: true })
  actorKind?: PrincipalKind | null;

  @Field(() => ID, { nullable: true })
  actorId?: string | null;

  @Field(() => ID, { nullable: true, description: "Null for an organization-level event." })
  workspaceId?: string | null;

  @Field(() => String)
  action!: string;

  @Field(() => String, { nullable: true })
  targetKind?: string | null;

  @Field(() => ID, { nullable: true })
  targetId?: string | null;

  @Field(() => AuditOutcome)
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true })
  ip?: string | null;

  @Field(() => String, { nullable: true })
  userAgent?: string | null;

  @Field(() => String, { nullable: true })
  requestId?: string | null;

  @Field(() => JSONScalar, { nullable: true, description: "Redacted: never a secret." })
  details?: unknown;

  @Field(() => String)
  previousHash!: string;

  @Field(() => String)
  hash!: string;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEvent])
  nodes!: AuditEvent[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class AuditVerification {
  @Field(() => Boolean)
  valid!: boolean;

  @Field(() => SafeIntScalar)
  checkedEvents!: number;

  @Field(() => SafeIntScalar, { nullable: true })
  firstBrokenSequence?: number | null;

  @Field(() => SafeIntScalar, { nullable: true })
  lastSequence?: number | null;

  @Field(() => String, { nullable: true })
  headHash?: string | null;

  @Field(() => SafeIntScalar, {
    nullable: true,
    description:
      "The sequence the check started at: fromSequence, else 1, or after retention removed the oldest events the first kept one " +
      "(also when fromSequence asks for a removed one). Null when no event was checked.",
  })
  firstSequence?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The previousHash recorded for the first kept event when retention removed the oldest events: a check from the start of the chain " +
      "requires that event to name it. Null while nothing was removed (the chain then starts from 64 zeros).",
  })
  anchorHash?: string | null;

  @Field(() => SafeIntScalar, { description: "How many events retention has removed from the start of the chain; 0 while nothing was." })
  removedEvents!: number;
}
