// The one way anything writes to the audit log. Call it inside the transaction of the change
// it records (an IMMEDIATE transaction, so that no other writer can take the same sequence).
import canonicalize from "canonicalize";
import { desc, eq } from "drizzle-orm";
import { auditEvents } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { newId } from "../../ids.js";
import { auditEventHash, GENESIS_HASH, type AuditEventView } from "./audit-chain.js";

export interface AuditEntry {
  organizationId: string;
  actorKind: "USER" | "API_KEY" | null;
  actorId: string | null;
  workspaceId?: string | null;
  action: string;
  targetKind?: string | null;
  targetId?: string | null;
  outcome: "SUCCESS" | "DENIED" | "FAILURE";
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown> | null;
}

const SECRET_KEY = /secret|token|password|authorization|api.?key$|private|pepper|ciphertext/i;
const MAX_USER_AGENT = 512;

/** Audit details never hold a secret: keys that could name one are dropped, whatever their value. */
export function redactDetails(details: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!details) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    if (SECRET_KEY.test(key) || value === undefined) continue;
    out[key] = value !== null && typeof value === "object" && !Array.isArray(value) ? redactDetails(value as Record<string, unknown>) : value;
  }
  return out;
}

export function appendAuditEvent(tx: Queryable, entry: AuditEntry, at: Date): AuditEventView & { hash: string } {
  const head = tx
    .select({ sequence: auditEvents.sequence, hash: auditEvents.hash })
    .from(auditEvents)
    .where(eq(auditEvents.organizationId, entry.organizationId))
    .orderBy(desc(auditEvents.sequence))
    .limit(1)
    .get();
  const details = redactDetails(entry.details);
  const view: AuditEventView = {
    id: newId("AuditEvent"),
    sequence: (head?.sequence ?? 0) + 1,
    occurredAt: at.toISOString(),
    actorKind: entry.actorKind,
    actorId: entry.actorId,
    workspaceId: entry.workspaceId ?? null,
    action: entry.action,
    targetKind: entry.targetKind ?? null,
    targetId: entry.targetId ?? null,
    outcome: entry.outcome,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent ? entry.userAgent.slice(0, MAX_USER_AGENT) : null,
    requestId: entry.requestId ?? null,
    // Stored canonical and read back parsed, so that the hash is over what the API returns.
    details: details ? JSON.parse(canonicalize(details) ?? "null") : null,
    previousHash: head?.hash ?? GENESIS_HASH,
  };
  const hash = auditEventHash(view);
  tx.insert(auditEvents)
    .values({
      ...view,
      organizationId: entry.organizationId,
      occurredAt: new Date(view.occurredAt),
      details: view.details === null ? null : (canonicalize(view.details) ?? null),
      hash,
    })
    .run();
  return { ...view, hash };
}
