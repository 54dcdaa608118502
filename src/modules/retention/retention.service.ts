// PORTCULLIS_RETENTION_DAYS: removes what is older than the period, organization by organization,
// in bounded batches (each its own short transaction, the event loop free in between): stored
// call texts, usage records, and the oldest events of the audit chain. Of a chain only a
// prefix goes, the longest whose events are all older than the cutoff, never the newest event
// (the next one chains to it); the anchor that lets verification start at the first kept event
// is written in the same transaction, before the events it releases are deleted.
import type Database from "better-sqlite3";
import { setImmediate } from "node:timers/promises";
import type { Clock } from "../../clock.js";
import type { ChangeMark } from "../../db/change-mark.js";

const DAY_MS = 86_400_000;

/** Rows per transaction, however much has expired: a median 4 ms (usage) to 9 ms (audit) of write lock each (bench/retention.ts). */
export const RETENTION_BATCH = 500;

export type RemovedKind = "usageTexts" | "usageRecords" | "auditEvents";

export interface OrganizationRemoval {
  organizationId: string;
  usageTexts: number;
  usageRecords: number;
  auditEvents: number;
  /** Where the organization's audit chain starts now; null when no event was removed. */
  firstKeptSequence: number | null;
}

export interface RetentionReport {
  days: number;
  cutoff: Date;
  dryRun: boolean;
  /** Only the organizations where something was (or, dry, would be) removed. */
  organizations: OrganizationRemoval[];
  /** Set when the run was stopped (the server closing) before it was done. */
  interrupted: boolean;
}

/** After each batch: how many rows of that kind the organization has lost so far in this run. */
export interface RetentionProgress {
  organizationId: string;
  kind: RemovedKind;
  removed: number;
}

export interface RetentionOptions {
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: RetentionProgress) => void;
}

export class RetentionService {
  private readonly s: ReturnType<typeof statements>;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly clock: Clock,
    private readonly mark: ChangeMark,
  ) {
    this.s = statements(sqlite);
  }

  async apply(days: number, options: RetentionOptions = {}): Promise<RetentionReport> {
    const cutoff = new Date(this.clock.now().getTime() - days * DAY_MS);
    const report: RetentionReport = { days, cutoff, dryRun: options.dryRun ?? false, organizations: [], interrupted: false };
    for (const organizationId of this.s.organizations.all() as string[]) {
      const removal = await this.applyToOrganization(organizationId, cutoff.getTime(), report.dryRun, options);
      if (removal.usageTexts + removal.usageRecords + removal.auditEvents > 0) report.organizations.push(removal);
      if (options.signal?.aborted) {
        report.interrupted = true;
        break;
      }
      await setImmediate();
    }
    // The removed texts' old page images leave the -wal file too (secure_delete zeroes them in the
    // database file). Best effort: a reader still open elsewhere can keep part of the log.
    if (report.organizations.some((o) => o.usageTexts > 0) && !report.dryRun) this.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    return report;
  }

  private async applyToOrganization(organizationId: string, cutoff: number, dryRun: boolean, o: RetentionOptions): Promise<OrganizationRemoval> {
    const removal: OrganizationRemoval = { organizationId, usageTexts: 0, usageRecords: 0, auditEvents: 0, firstKeptSequence: null };
    const progress = (kind: RemovedKind) => o.onProgress?.({ organizationId, kind, removed: removal[kind] });
    // Texts before their records: each kind is counted as what it is.
    for (const kind of ["usageTexts", "usageRecords"] as const) {
      if (dryRun) {
        removal[kind] = this.s[kind].count.get(organizationId, cutoff) as number;
        continue;
      }
      while (!o.signal?.aborted) {
        const removed = this.mark.untracked(() => this.s[kind].remove.run(organizationId, cutoff, RETENTION_BATCH).changes);
        if (removed === 0) break;
        removal[kind] += removed;
        progress(kind);
        if (removed < RETENTION_BATCH) break;
        await setImmediate();
      }
    }
    // The chain's prefix is found a window at a time too, so that a long expired start is never
    // scanned in one go; the newest event always stays.
    const ends = this.s.chainEnds.get(organizationId) as { first: number | null; head: number | null };
    if (ends.first === null || ends.head === null) return removal;
    let first = ends.first;
    while (first < ends.head && !o.signal?.aborted) {
      const windowEnd = Math.min(first + RETENTION_BATCH, ends.head);
      const kept = (this.s.firstNotExpired.get(organizationId, first, windowEnd, cutoff) as number | undefined) ?? windowEnd;
      if (kept === first) break;
      removal.auditEvents += dryRun ? kept - first : this.mark.untracked(() => this.s.releasePrefix(organizationId, kept, this.clock.now().getTime()));
      removal.firstKeptSequence = kept;
      first = kept;
      if (!dryRun) progress("auditEvents");
      if (kept < windowEnd) break;
      await setImmediate();
    }
    return removal;
  }
}

function statements(sqlite: Database.Database) {
  const anchorOf = sqlite.prepare("SELECT removed_events FROM audit_retention_anchors WHERE organization_id = ?").pluck();
  const previousHashOf = sqlite.prepare("SELECT previous_hash FROM audit_events WHERE organization_id = ? AND sequence = ?").pluck();
  const countBelow = sqlite.prepare("SELECT count(*) FROM audit_events WHERE organization_id = ? AND sequence < ?").pluck();
  const upsertAnchor = sqlite.prepare(
    `INSERT INTO audit_retention_anchors (organization_id, first_kept_sequence, anchor_hash, removed_events, applied_at) VALUES (@organizationId, @firstKept, @anchorHash, @removed, @at)
     ON CONFLICT (organization_id) DO UPDATE SET first_kept_sequence = excluded.first_kept_sequence, anchor_hash = excluded.anchor_hash, removed_events = excluded.removed_events, applied_at = excluded.applied_at`,
  );
  const deleteBelow = sqlite.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence < ?");
  // The anchor first: the delete trigger lets through only events below it.
  const releasePrefix = sqlite.transaction((organizationId: string, firstKept: number, at: number): number => {
    const pending = countBelow.get(organizationId, firstKept) as number;
    const before = (anchorOf.get(organizationId) as number | undefined) ?? 0;
    upsertAnchor.run({ organizationId, firstKept, anchorHash: previousHashOf.get(organizationId, firstKept), removed: before + pending, at });
    return deleteBelow.run(organizationId, firstKept).changes;
  });
  const expired = (table: "usage_texts" | "usage_records") => ({
    count: sqlite.prepare(`SELECT count(*) FROM ${table} WHERE organization_id = ? AND created_at < ?`).pluck(),
    remove: sqlite.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE organization_id = ? AND created_at < ? LIMIT ?)`),
  });
  return {
    organizations: sqlite.prepare("SELECT id FROM organizations ORDER BY created_at, id").pluck(),
    usageTexts: expired("usage_texts"),
    usageRecords: expired("usage_records"),
    chainEnds: sqlite.prepare("SELECT min(sequence) AS first, max(sequence) AS head FROM audit_events WHERE organization_id = ?"),
    /** The first event of a window [from, to) not older than the cutoff. */
    firstNotExpired: sqlite
      .prepare("SELECT sequence FROM audit_events WHERE organization_id = ? AND sequence >= ? AND sequence < ? AND occurred_at >= ? ORDER BY sequence LIMIT 1")
      .pluck(),
    releasePrefix: (organizationId: string, firstKept: number, at: number) => releasePrefix.immediate(organizationId, firstKept, at),
  };
}
