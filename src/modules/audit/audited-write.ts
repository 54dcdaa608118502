// A change and its audit event commit together or not at all.
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import type { ChangeMark } from "../../db/change-mark.js";
import type { Db } from "../../db/client.js";
import type { GroupCommit } from "../../db/group-commit.js";
import type { Tx } from "../../db/types.js";
import type { AuditAction, AuditDetailsOf } from "./audit-details.js";
import { appendAuditEvent, type AuditEntry } from "./audit.recorder.js";

export interface AuditedChange<T, A extends AuditAction = AuditAction> {
  result: T;
  targetId?: string | null;
  workspaceId?: string | null;
  details?: AuditDetailsOf<A> | null;
  /** The organization the event belongs to, when it is not the caller's (never, so far). */
  organizationId?: string;
}

export interface AuditSpec<A extends AuditAction = AuditAction> {
  /** Its details must fit the action's schema (audit-details.ts). */
  action: A;
  targetKind: string | null;
  /** SUCCESS unless the write records the outcome of something that failed (a model call). */
  outcome?: "SUCCESS" | "DENIED" | "FAILURE";
  /** The change writes nothing a cache holds (usage rows of a model call): caches keep their contents. */
  cacheNeutral?: boolean;
}

export class AuditedWriter {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly mark: ChangeMark,
    private readonly group: GroupCommit,
  ) {}

  /**
   * The same as write for changes that no cache holds (a model call's usage and event), grouped
   * with those of concurrent calls into one transaction; resolves once it has committed.
   */
  writeGrouped<T, A extends AuditAction>(meta: RequestMeta, spec: Omit<AuditSpec<A>, "cacheNeutral">, fn: (at: Date) => AuditedChange<T, A>): Promise<T> {
    return this.group.run(() => {
      const at = this.clock.now();
      const change = fn(at);
      this.append(this.db, meta, spec, change, at);
      return change.result;
    });
  }

  /** Runs fn in an IMMEDIATE transaction and appends its event (SUCCESS by default) in the same transaction. */
  write<T, A extends AuditAction>(meta: RequestMeta, spec: AuditSpec<A>, fn: (tx: Tx, at: Date) => AuditedChange<T, A>): T {
    return spec.cacheNeutral ? this.mark.untracked(() => this.transaction(meta, spec, fn)) : this.transaction(meta, spec, fn);
  }

  private transaction<T, A extends AuditAction>(meta: RequestMeta, spec: AuditSpec<A>, fn: (tx: Tx, at: Date) => AuditedChange<T, A>): T {
    try {
      return this.runTransaction(meta, spec, fn);
    } finally {
      this.mark.changed();
    }
  }

  private runTransaction<T, A extends AuditAction>(meta: RequestMeta, spec: AuditSpec<A>, fn: (tx: Tx, at: Date) => AuditedChange<T, A>): T {
    return this.db.transaction(
      (tx) => {
        const at = this.clock.now();
        const change = fn(tx, at);
        this.append(tx, meta, spec, change, at);
        return change.result;
      },
      { behavior: "immediate" },
    );
  }

  private append<A extends AuditAction>(q: Db | Tx, meta: RequestMeta, spec: AuditSpec<A>, change: AuditedChange<unknown, A>, at: Date): void {
    appendAuditEvent(
      q,
      {
        ...actorOf(meta),
        organizationId: change.organizationId ?? meta.principal.organizationId,
        workspaceId: change.workspaceId ?? null,
        action: spec.action,
        targetKind: spec.targetKind,
        targetId: change.targetId ?? null,
        outcome: spec.outcome ?? "SUCCESS",
        details: change.details ?? null,
      },
      at,
    );
  }

  /**
   * An event on its own: a denied or failed mutation, or a failed authentication. No cache
   * depends on the audit log, so these writes do not make the caches refill.
   */
  record(entry: AuditEntry): void {
    this.mark.untracked(() => this.db.transaction((tx) => void appendAuditEvent(tx, entry, this.clock.now()), { behavior: "immediate" }));
  }
}

export function actorOf(meta: RequestMeta): Pick<AuditEntry, "actorKind" | "actorId" | "ip" | "userAgent" | "requestId"> {
  return {
    actorKind: meta.principal.kind,
    actorId: meta.principal.id,
    ip: meta.ip,
    userAgent: meta.userAgent,
    requestId: meta.requestId,
  };
}
