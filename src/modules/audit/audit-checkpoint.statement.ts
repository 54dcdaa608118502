// What a checkpoint signature covers, byte for byte: a prefix that no other Portcullis
// signature starts with, then the RFC 8785 canonical JSON of exactly these five fields. The
// prefix keeps a checkpoint signature from being valid as anything else, and canonical JSON
// leaves a single encoding to sign and to check.
import canonicalize from "canonicalize";

export const CHECKPOINT_PREFIX = "portcullis:audit-checkpoint:v1\n";

export interface CheckpointStatement {
  organizationId: string;
  /** The sequence of the event that was the chain's head. */
  sequence: number;
  /** That event's hash. */
  hash: string;
  /** ISO-8601 with milliseconds, as the API prints DateTime. */
  signedAt: string;
  keyId: string;
}

export function checkpointMessage(s: CheckpointStatement): Buffer {
  const body = { organizationId: s.organizationId, sequence: s.sequence, hash: s.hash, signedAt: s.signedAt, keyId: s.keyId };
  return Buffer.from(CHECKPOINT_PREFIX + canonicalize(body), "utf8");
}
