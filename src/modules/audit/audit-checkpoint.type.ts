import { Field, ID, ObjectType } from "type-graphql";
import { SafeIntScalar } from "../../graphql/scalars.js";
import { PageInfo } from "../common/page-info.type.js";

@ObjectType({
  description:
    "The head of the organization's audit chain, signed by the server. signature is the base64 of\n" +
    "an Ed25519 signature over the UTF-8 bytes of \"portcullis:audit-checkpoint:v1\" and a line feed,\n" +
    "immediately followed by the RFC 8785 canonical JSON of exactly organizationId, sequence, hash,\n" +
    "signedAt (as returned here) and keyId. It verifies with auditSigningKey.publicKey, offline too\n" +
    "(portcullis verify-audit --export FILE --public-key KEY).",
})
export class AuditCheckpoint {
  @Field(() => ID)
  organizationId!: string;

  @Field(() => SafeIntScalar, { description: "The sequence of the event that was the head." })
  sequence!: number;

  @Field(() => String, { description: "That event's hash." })
  hash!: string;

  @Field(() => Date)
  signedAt!: Date;

  @Field(() => String)
  keyId!: string;

  @Field(() => String)
  signature!: string;
}

@ObjectType()
export class AuditCheckpointConnection {
  @Field(() => [AuditCheckpoint])
  nodes!: AuditCheckpoint[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "The public half of the key that signs audit checkpoints; the server keeps the private half sealed." })
export class AuditSigningKey {
  @Field(() => String, { description: "Ed25519." })
  algorithm!: string;

  @Field(() => String, { description: "The first 16 bytes of SHA-256 over the key's SPKI DER, in hex, as each checkpoint names it." })
  keyId!: string;

  @Field(() => String, { description: "PEM (SubjectPublicKeyInfo), as portcullis verify-audit --public-key takes it." })
  publicKey!: string;
}
