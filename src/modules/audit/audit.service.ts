// Reading the audit log: lists follow AUDIT_READ scope, verification needs it organization-wide.
import { and, asc, between, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { readableRows } from "../common/read-scope.js";
import type { Db } from "../../db/client.js";
import { auditEvents, auditRetentionAnchors } from "../../db/schema.js";
import { badInput, forbidden } from "../../errors.js";
import { decodeSequenceCursor, encodeCursor, pageSize, type PageArgs } from "../common/pagination.js";
import { setImmediate } from "node:timers/promises";
import { GENESIS_HASH, verifyChain, type AuditEventView, type ChainCheck } from "./audit-chain.js";

type AuditRow = typeof auditEvents.$inferSelect;

export interface AuditFilterArgs {
  workspaceId?: string | null;
  actorId?: string | null;
  action?: string | null;
  targetId?: string | null;
  outcome?: "SUCCESS" | "DENIED" | "FAILURE" | null;
  from?: Date | null;
  to?: Date | null;
}

export function toAuditView(row: AuditRow): AuditEventView & { hash: string; organizationId: string } {
  return {
    id: row.id,
    organizationId: row.organizationId,
    sequence: row.sequence,
    occurredAt: row.occurredAt.toISOString(),
    actorKind: row.actorKind,
    actorId: row.actorId,
    workspaceId: row.workspaceId,
    action: row.action,
    targetKind: row.targetKind,
    targetId: row.targetId,
    outcome: row.outcome,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    details: row.details === null ? null : JSON.parse(row.details),
    previousHash: row.previousHash,
    hash: row.hash,
  };
}

/** A chain check, and where the chain starts: at sequence 1, or after retention at its anchor. */
export interface AuditVerificationView extends ChainCheck {
  /** The sequence of the first event checked; null when none was. */
  firstSequence: number | null;
  /** The previousHash retention recorded for the first kept event; null while nothing was removed. */
  anchorHash: string | null;
  removedEvents: number;
}

// About 30 us per event: a batch holds the event loop for under 25 ms (measured over 100,000 events).
const VERIFY_BATCH = 250;

/** Point lookups on the (organization, sequence) index, prepared once: a time filter runs a few dozen. */
function chainLookups(db: Db) {
  return {
    firstAtOrAfter: db
      .select({ sequence: auditEvents.sequence, occurredAt: auditEvents.occurredAt })
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, sql.placeholder("organizationId")), gte(auditEvents.sequence, sql.placeholder("sequence"))))
      .orderBy(asc(auditEvents.sequence))
      .limit(1)
      .prepare(),
    newest: db
      .select({ sequence: auditEvents.sequence })
      .from(auditEvents)
      .where(eq(auditEvents.organizationId, sql.placeholder("organizationId")))
      .orderBy(desc(auditEvents.sequence))
      .limit(1)
      .prepare(),
  };
}

export class AuditService {
  private readonly lookups: ReturnType<typeof chainLookups>;

  constructor(private readonly db: Db) {
    this.lookups = chainLookups(db);
  }

  /** Events the caller may read: organization-level ones need AUDIT_READ organization-wide. */
  private readable(meta: RequestMeta): SQL | undefined {
    return readableRows(meta, Permission.AUDIT_READ, { organizationId: auditEvents.organizationId, workspaceId: auditEvents.workspaceId });
  }

  /**
   * A page in sequence order, each query answered from one index in that order: (organization,
   * sequence) for the whole log and a time range, (organization, column, sequence) for a filter
   * on workspace, actor, action, target or outcome. A reader scoped to some workspaces gets one
   * query per workspace, merged here: with an IN list over them SQLite would walk the whole
   * organization's sequence or sort every event of those workspaces.
   */
  list(meta: RequestMeta, filter: AuditFilterArgs | null | undefined, args: PageArgs) {
    const size = pageSize(args.first);
    const f = filter ?? {};
    const organizationId = meta.principal.organizationId;
    const empty = { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const after = args.after ? decodeSequenceCursor(args.after) : 0;
    const span = this.sequenceSpan(organizationId, f.from ?? undefined, f.to ?? undefined);
    if (!span) return empty;
    // BETWEEN rather than two comparisons: with those SQLite prefers the sequence index's range
    // to an equality on a filter's index.
    const conditions: (SQL | undefined)[] = [eq(auditEvents.organizationId, organizationId), between(auditEvents.sequence, Math.max(after + 1, span.first), span.last)];
    if (f.actorId) conditions.push(eq(auditEvents.actorId, f.actorId));
    if (f.action) conditions.push(eq(auditEvents.action, f.action));
    if (f.targetId) conditions.push(eq(auditEvents.targetId, f.targetId));
    if (f.outcome) conditions.push(eq(auditEvents.outcome, f.outcome));
    if (f.from) conditions.push(gte(auditEvents.occurredAt, f.from));
    if (f.to) conditions.push(lte(auditEvents.occurredAt, f.to));
    const page = (workspaceId: string | null) =>
      this.db
        .select()
        .from(auditEvents)
        .where(and(...conditions, workspaceId === null ? undefined : eq(auditEvents.workspaceId, workspaceId)))
        .orderBy(asc(auditEvents.sequence))
        .limit(size + 1)
        .all();
    const scope = meta.principal.access.scopeOf(Permission.AUDIT_READ);
    let rows: AuditRow[];
    if (scope.orgWide) rows = page(f.workspaceId ?? null);
    else {
      const workspaceIds = f.workspaceId ? scope.workspaceIds.filter((id) => id === f.workspaceId) : scope.workspaceIds;
      if (workspaceIds.length === 0) return empty;
      rows = workspaceIds.length === 1 ? page(workspaceIds[0]) : workspaceIds.flatMap(page).sort((a, b) => a.sequence - b.sequence).slice(0, size + 1);
    }
    const nodes = rows.slice(0, size).map(toAuditView);
    const last = nodes.at(-1);
    return { nodes, pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor([last.sequence]) : null } };
  }

  /**
   * The sequences of the organization's events that occurred in [from, to], or null when there
   * are none. occurredAt never decreases along a chain (audit.recorder.ts), so a binary search
   * over the sequence index finds the bounds, without an index on time that every insert would pay for.
   */
  private sequenceSpan(organizationId: string, from: Date | undefined, to: Date | undefined): { first: number; last: number } | null {
    if (!from && !to) return { first: 1, last: Number.MAX_SAFE_INTEGER };
    const oldest = this.lookups.firstAtOrAfter.get({ organizationId, sequence: Number.MIN_SAFE_INTEGER });
    const newest = this.lookups.newest.get({ organizationId });
    if (!oldest || !newest) return null;
    /** The first sequence whose event satisfies test (false for every event before it), or newest + 1. */
    const firstWhere = (test: (occurredAt: Date) => boolean): number => {
      let low = oldest.sequence;
      let high = newest.sequence + 1;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        const event = this.lookups.firstAtOrAfter.get({ organizationId, sequence: mid })!;
        if (test(event.occurredAt)) high = mid;
        else low = event.sequence + 1;
      }
      return this.lookups.firstAtOrAfter.get({ organizationId, sequence: low })?.sequence ?? newest.sequence + 1;
    };
    const first = from ? firstWhere((t) => t >= from) : oldest.sequence;
    const last = to ? firstWhere((t) => t > to) - 1 : newest.sequence;
    return first <= last ? { first, last } : null;
  }

  find(meta: RequestMeta, id: string) {
    const row = this.db.select().from(auditEvents).where(and(this.readable(meta), eq(auditEvents.id, id))).get();
    return row ? toAuditView(row) : undefined;
  }

  verify(meta: RequestMeta, fromSequence?: number | null, toSequence?: number | null): Promise<AuditVerificationView> {
    if (!meta.principal.access.has(Permission.AUDIT_READ)) throw forbidden("Verifying the audit log needs AUDIT_READ organization-wide");
    return this.verifyOrganization(meta.principal.organizationId, fromSequence ?? undefined, toSequence ?? undefined);
  }

  /** Every event of an organization in sequence order, read in batches. */
  *exportOrganization(organizationId: string) {
    let next = 1;
    for (;;) {
      const batch = this.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.organizationId, organizationId), gte(auditEvents.sequence, next)))
        .orderBy(asc(auditEvents.sequence))
        .limit(VERIFY_BATCH)
        .all();
      for (const row of batch) {
        const { organizationId: _org, ...event } = toAuditView(row);
        yield event;
      }
      if (batch.length < VERIFY_BATCH) return;
      next = batch[batch.length - 1].sequence + 1;
    }
  }

  /** Walks the chain in batches, so that a long log is verified in bounded memory. */
  /**
   * Reads and checks the chain a batch at a time, yielding to the event loop between batches:
   * a million events never hold up the calls being served meanwhile.
   */
  async verifyOrganization(organizationId: string, fromSequence?: number, toSequence?: number, onProgress?: (checked: number) => void): Promise<AuditVerificationView> {
    const org = eq(auditEvents.organizationId, organizationId);
    // A whole-log check starts at 1 from the genesis hash, so that a deleted first event is a
    // break, not a shorter chain; after retention, at the first kept event from the recorded
    // anchor, so that a deleted first kept event or an edited anchor is a break too. A range
    // that starts in the removed part starts at the first kept event (firstSequence says so).
    const anchor = this.db.select().from(auditRetentionAnchors).where(eq(auditRetentionAnchors.organizationId, organizationId)).get();
    const firstKept = anchor?.firstKeptSequence ?? 1;
    if (anchor && toSequence !== undefined && toSequence < firstKept) {
      throw badInput(`Retention removed the events before sequence ${firstKept}: toSequence must be ${firstKept} or more`, "toSequence");
    }
    const start = Math.max(fromSequence ?? firstKept, firstKept);
    let expectedPrevious: string | undefined = anchor?.anchorHash ?? GENESIS_HASH;
    if (start > firstKept) {
      const before = this.db.select({ hash: auditEvents.hash }).from(auditEvents).where(and(org, eq(auditEvents.sequence, start - 1))).get();
      expectedPrevious = before?.hash;
    }
    const db = this.db;
    async function* events() {
      let next = start;
      for (;;) {
        const batch = db
          .select()
          .from(auditEvents)
          .where(and(org, gte(auditEvents.sequence, next), toSequence !== undefined ? lte(auditEvents.sequence, toSequence) : undefined))
          .orderBy(asc(auditEvents.sequence))
          .limit(VERIFY_BATCH)
          .all();
        for (const row of batch) yield toAuditView(row);
        if (batch.length < VERIFY_BATCH) return;
        next = batch[batch.length - 1].sequence + 1;
        onProgress?.(next - start);
        await setImmediate();
      }
    }
    const check = await verifyChain(events(), expectedPrevious, start);
    return { ...check, firstSequence: check.checkedEvents > 0 ? start : null, anchorHash: anchor?.anchorHash ?? null, removedEvents: anchor?.removedEvents ?? 0 };
  }
}
