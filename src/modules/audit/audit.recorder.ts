// The one way anything writes to the audit log. Call it inside the transaction of the change
// it records (an IMMEDIATE transaction, so that no other writer can take the same sequence).
import canonicalize from "canonicalize";
import type Database from "better-sqlite3";
import type { Queryable } from "../../db/types.js";
import { newId } from "../../ids.js";
import { auditEventHashOfCanonical, GENESIS_HASH, type AuditEventView } from "./audit-chain.js";
import { auditDetails } from "./audit-details.js";

export interface AuditEntry {
  organizationId: string;
  actorKind: "USER" | "API_KEY" | null;
  actorId: string | null;
  workspaceId?: string | null;
  /** An AuditAction (audit-details.ts) whenever details are given: they must fit its schema. */
  action: string;
  targetKind?: string | null;
  targetId?: string | null;
  outcome: "SUCCESS" | "DENIED" | "FAILURE";
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown> | null;
}

const MAX_USER_AGENT = 512;

// Every mutation and model call appends an event: the head lookup and the insert are prepared
// once per connection rather than built by the query builder each time.
interface Statements {
  head: Database.Statement;
  insert: Database.Statement;
}
const statements = new WeakMap<Database.Database, Statements>();

function prepared(q: Queryable): Statements {
  // drizzle's database and its transactions share the connection they run on.
  const client = (q as unknown as { session: { client: Database.Database } }).session.client;
  let s = statements.get(client);
  if (!s) {
    s = {
      head: client.prepare("SELECT sequence, hash, occurred_at FROM audit_events WHERE organization_id = ? ORDER BY sequence DESC LIMIT 1"),
      insert: client.prepare(
        `INSERT INTO audit_events (id, organization_id, sequence, occurred_at, actor_kind, actor_id, workspace_id, action, target_kind, target_id, outcome, ip, user_agent, request_id, details, previous_hash, hash)
         VALUES (@id, @organizationId, @sequence, @occurredAt, @actorKind, @actorId, @workspaceId, @action, @targetKind, @targetId, @outcome, @ip, @userAgent, @requestId, @details, @previousHash, @hash)`,
      ),
    };
    statements.set(client, s);
  }
  return s;
}

export function appendAuditEvent(tx: Queryable, entry: AuditEntry, at: Date): AuditEventView & { hash: string } {
  const s = prepared(tx);
  const head = s.head.get(entry.organizationId) as { sequence: number; hash: string; occurred_at: number } | undefined;
  // occurredAt never goes back along a chain, also when the clock does (or another process's
  // lags): a time range of the log is then a range of sequences (audit.service.ts).
  const occurredAt = head && head.occurred_at > at.getTime() ? new Date(head.occurred_at) : at;
  const details = auditDetails(entry.action, entry.outcome, entry.details);
  const canonicalDetails = details ? (canonicalize(details) ?? null) : null;
  const view: AuditEventView = {
    id: newId("AuditEvent"),
    sequence: (head?.sequence ?? 0) + 1,
    occurredAt: occurredAt.toISOString(),
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
    // Stored canonical: what the API returns parses to the same value the hash covers.
    details,
    previousHash: head?.hash ?? GENESIS_HASH,
  };
  const hash = auditEventHashOfCanonical(view, canonicalDetails);
  s.insert.run({ ...view, organizationId: entry.organizationId, occurredAt: occurredAt.getTime(), details: canonicalDetails, hash });
  return { ...view, hash };
}
