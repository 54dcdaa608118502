// Signed checkpoints: the head of an organization's audit chain (sequence, hash), signed with the
// server's Ed25519 key, kept, and exported with the events. Someone who rewrites the database and
// recomputes every hash still cannot make the kept signatures match the rewritten events.
import { and, desc, eq, lt, max, type SQL } from "drizzle-orm";
import { setImmediate } from "node:timers/promises";
import { Permission } from "../../auth/permission.js";
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import type { ChangeMark } from "../../db/change-mark.js";
import type { Db } from "../../db/client.js";
import { auditCheckpoints, auditEvents, organizations } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { forbidden } from "../../errors.js";
import { decodeSequenceCursor, encodeCursor, pageSize, type PageArgs } from "../common/pagination.js";
import type { KeyStore } from "../master-keys/key-store.js";
import { checkpointMessage } from "./audit-checkpoint.statement.js";
import { actorOf } from "./audited-write.js";
import { appendAuditEvent } from "./audit.recorder.js";

export interface AuditCheckpointView {
  organizationId: string;
  sequence: number;
  hash: string;
  signedAt: Date;
  keyId: string;
  /** Base64 of the 64-byte Ed25519 signature. */
  signature: string;
}

type CheckpointRow = typeof auditCheckpoints.$inferSelect;

function toView(row: CheckpointRow): AuditCheckpointView {
  return { ...row, signature: row.signature.toString("base64") };
}

// The interval job yields to the event loop after this many organizations.
const ORGANIZATIONS_PER_TURN = 100;

export class AuditCheckpointService {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly clock: Clock,
    private readonly mark: ChangeMark,
  ) {}

  private requireAuditRead(meta: RequestMeta, what: string): void {
    if (!meta.principal.access.has(Permission.AUDIT_READ)) throw forbidden(`${what} needs AUDIT_READ organization-wide`);
  }

  /** The key checkpoints are verified with. The same for every organization of this server. */
  publicKey() {
    return this.keys.auditSigner().publicKey;
  }

  signingKey(meta: RequestMeta) {
    this.requireAuditRead(meta, "Reading the audit signing key");
    const key = this.publicKey();
    return { algorithm: "Ed25519", keyId: key.keyId, publicKey: key.pem() };
  }

  /** The caller's organization's checkpoints, newest first. */
  list(meta: RequestMeta, args: PageArgs) {
    this.requireAuditRead(meta, "Reading audit checkpoints");
    const size = pageSize(args.first);
    const conditions: SQL[] = [eq(auditCheckpoints.organizationId, meta.principal.organizationId)];
    if (args.after) conditions.push(lt(auditCheckpoints.sequence, decodeSequenceCursor(args.after)));
    const rows = this.db
      .select()
      .from(auditCheckpoints)
      .where(and(...conditions))
      .orderBy(desc(auditCheckpoints.sequence))
      .limit(size + 1)
      .all();
    const nodes = rows.slice(0, size).map(toView);
    const last = nodes.at(-1);
    return { nodes, pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor([last.sequence]) : null } };
  }

  /**
   * checkpointAuditLog: the event recording the request and a checkpoint of the head it makes, in
   * one transaction, so that the checkpoint returned covers the request itself.
   */
  checkpointNow(meta: RequestMeta): AuditCheckpointView {
    this.requireAuditRead(meta, "Checkpointing the audit log");
    const organizationId = meta.principal.organizationId;
    return this.write((tx, at) => {
      appendAuditEvent(tx, { ...actorOf(meta), organizationId, action: "checkpointAuditLog", targetKind: "Organization", targetId: organizationId, outcome: "SUCCESS" }, at);
      return this.signInside(tx, organizationId, at)!;
    });
  }

  /** Signs the organization's head if it moved since its last checkpoint; null when it did not. */
  signHead(organizationId: string): AuditCheckpointView | null {
    if (!this.movedHead(this.db, organizationId)) return null;
    return this.write((tx, at) => this.signInside(tx, organizationId, at));
  }

  /** The interval job: every organization whose head moved, each in its own short transaction. */
  async signMovedHeads(): Promise<number> {
    const ids = this.db.select({ id: organizations.id }).from(organizations).all();
    let signed = 0;
    for (let i = 0; i < ids.length; i++) {
      if (i > 0 && i % ORGANIZATIONS_PER_TURN === 0) await setImmediate();
      // An organization deleted since the list was read has no head left: signHead passes it by.
      if (this.signHead(ids[i].id)) signed++;
    }
    return signed;
  }

  /** Every checkpoint of an organization in sequence order, for the export. */
  forExport(organizationId: string): AuditCheckpointView[] {
    return this.db.select().from(auditCheckpoints).where(eq(auditCheckpoints.organizationId, organizationId)).orderBy(auditCheckpoints.sequence).all().map(toView);
  }

  private write<T>(fn: (tx: Queryable, at: Date) => T): T {
    // Nothing a cache holds: checkpoints and audit events.
    return this.mark.untracked(() => this.db.transaction((tx) => fn(tx, this.clock.now()), { behavior: "immediate" }));
  }

  private head(q: Queryable, organizationId: string) {
    return q
      .select({ sequence: auditEvents.sequence, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.organizationId, organizationId))
      .orderBy(desc(auditEvents.sequence))
      .limit(1)
      .get();
  }

  /** The chain's head if it moved since the last checkpoint; undefined when it did not, or there is none. */
  private movedHead(q: Queryable, organizationId: string) {
    const head = this.head(q, organizationId);
    if (!head) return undefined;
    const last = q.select({ sequence: max(auditCheckpoints.sequence) }).from(auditCheckpoints).where(eq(auditCheckpoints.organizationId, organizationId)).get();
    return last?.sequence === null || last?.sequence === undefined || head.sequence > last.sequence ? head : undefined;
  }

  /**
   * Inside an IMMEDIATE transaction no other writer can append meanwhile: the head read here is an
   * event that exists with this hash, and stays the head until the checkpoint has committed.
   */
  private signInside(tx: Queryable, organizationId: string, at: Date): AuditCheckpointView | null {
    const head = this.movedHead(tx, organizationId);
    if (!head) return null;
    const signer = this.keys.auditSigner();
    const statement = { organizationId, sequence: head.sequence, hash: head.hash, signedAt: at.toISOString(), keyId: signer.publicKey.keyId };
    const signature = signer.sign(checkpointMessage(statement));
    const row = { organizationId, sequence: head.sequence, hash: head.hash, signedAt: at, keyId: statement.keyId, signature };
    tx.insert(auditCheckpoints).values(row).run();
    return toView(row);
  }
}
