// The audit hash chain exactly as the contract's AuditEvent describes it: hash =
// sha256hex(previousHash + RFC 8785 canonical JSON of every contract field but hash, with
// the values the API returns). Anyone with an export can recompute it.
import canonicalize from "canonicalize";
import { sha256Hex } from "../../crypto/hashing.js";

export const GENESIS_HASH = "0".repeat(64);

/** An event as the API returns it (dates as ISO strings, details as parsed JSON). */
export interface AuditEventView {
  id: string;
  sequence: number;
  occurredAt: string;
  actorKind: "USER" | "API_KEY" | null;
  actorId: string | null;
  workspaceId: string | null;
  action: string;
  targetKind: string | null;
  targetId: string | null;
  outcome: "SUCCESS" | "DENIED" | "FAILURE";
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: unknown;
  previousHash: string;
}

export function auditEventHash(event: AuditEventView): string {
  const body = {
    id: event.id,
    sequence: event.sequence,
    occurredAt: event.occurredAt,
    actorKind: event.actorKind,
    actorId: event.actorId,
    workspaceId: event.workspaceId,
    action: event.action,
    targetKind: event.targetKind,
    targetId: event.targetId,
    outcome: event.outcome,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    details: event.details ?? null,
    previousHash: event.previousHash,
  };
  return sha256Hex(event.previousHash + canonicalize(body));
}

/**
 * The same hash as auditEventHash, for an event whose details are already canonical JSON (the
 * writer has them so): the event's canonical form is assembled around them instead of
 * canonicalizing the details a second time. Keys in RFC 8785 order (UTF-16 code units).
 */
export function auditEventHashOfCanonical(event: Omit<AuditEventView, "details">, canonicalDetails: string | null): string {
  const s = JSON.stringify;
  const canonical =
    `{"action":${s(event.action)},"actorId":${s(event.actorId)},"actorKind":${s(event.actorKind)},"details":${canonicalDetails ?? "null"},` +
    `"id":${s(event.id)},"ip":${s(event.ip)},"occurredAt":${s(event.occurredAt)},"outcome":${s(event.outcome)},` +
    `"previousHash":${s(event.previousHash)},"requestId":${s(event.requestId)},"sequence":${canonicalize(event.sequence)},` +
    `"targetId":${s(event.targetId)},"targetKind":${s(event.targetKind)},"userAgent":${s(event.userAgent)},"workspaceId":${s(event.workspaceId)}}`;
  return sha256Hex(event.previousHash + canonical);
}

export interface ChainCheck {
  valid: boolean;
  checkedEvents: number;
  firstBrokenSequence: number | null;
  lastSequence: number | null;
  headHash: string | null;
}

/**
 * Verifies events in sequence order. expectedPrevious is the hash the first event must follow
 * (the genesis hash, or the hash of the event kept just before the range); undefined accepts
 * whatever the first event names, for a chain whose head was removed by retention.
 */
export async function verifyChain(
  events: Iterable<AuditEventView & { hash: string }> | AsyncIterable<AuditEventView & { hash: string }>,
  expectedPrevious?: string,
  firstSequence?: number,
): Promise<ChainCheck> {
  let previous = expectedPrevious;
  let expectedSequence = firstSequence;
  let checked = 0;
  let last: (AuditEventView & { hash: string }) | undefined;
  for await (const event of events) {
    checked++;
    const linked = previous === undefined || event.previousHash === previous;
    const inOrder = expectedSequence === undefined || event.sequence === expectedSequence;
    if (!linked || !inOrder || auditEventHash(event) !== event.hash) {
      return { valid: false, checkedEvents: checked, firstBrokenSequence: expectedSequence ?? event.sequence, lastSequence: last?.sequence ?? null, headHash: last?.hash ?? null };
    }
    previous = event.hash;
    expectedSequence = event.sequence + 1;
    last = event;
  }
  return { valid: true, checkedEvents: checked, firstBrokenSequence: null, lastSequence: last?.sequence ?? null, headHash: last?.hash ?? null };
}
