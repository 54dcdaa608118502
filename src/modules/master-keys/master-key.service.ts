// Master key rotation: data keys (and the pepper and the audit signing key) are re-wrapped;
// secrets stay as they are.
import { Permission } from "../../auth/permission.js";
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { organizations } from "../../db/schema.js";
import { forbidden } from "../../errors.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { appendAuditEvent } from "../audit/audit.recorder.js";
import type { KeyStore } from "./key-store.js";

export class MasterKeyService {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly audit: AuditedWriter,
    private readonly clock: Clock,
  ) {}

  /** rotateMasterKey: the caller's organization only. */
  rotateOrganization(meta: RequestMeta): { activeVersion: number; rewrappedDataKeys: number } {
    if (!meta.principal.access.has(Permission.MASTER_KEY_ROTATE)) throw forbidden("Rotating the master key needs MASTER_KEY_ROTATE organization-wide");
    return this.audit.write(meta, { action: "rotateMasterKey", targetKind: "Organization" }, (tx, at) => {
      const changed = this.keys.rewrapDataKey(tx, meta.principal.organizationId, at);
      const result = { activeVersion: this.keys.keyRing.activeVersion, rewrappedDataKeys: changed ? 1 : 0 };
      return { result, targetId: meta.principal.organizationId, details: result };
    });
  }

  /** The CLI: every organization's data key, the pepper and the audit signing key, in one transaction. */
  rotateAll(onProgress?: (done: number, total: number) => void): {
    activeVersion: number;
    rewrappedDataKeys: number;
    rewrappedPepper: boolean;
    rewrappedAuditSigningKey: boolean;
  } {
    return this.db.transaction(
      (tx) => {
        const at = this.clock.now();
        const ids = tx.select({ id: organizations.id }).from(organizations).all().map((o) => o.id);
        let rewrapped = 0;
        ids.forEach((id, i) => {
          if (this.keys.rewrapDataKey(tx, id, at)) {
            rewrapped++;
            appendAuditEvent(
              tx,
              { organizationId: id, actorKind: null, actorId: null, action: "rotateMasterKey", targetKind: "Organization", targetId: id, outcome: "SUCCESS", details: { activeVersion: this.keys.keyRing.activeVersion, via: "cli" } },
              at,
            );
          }
          onProgress?.(i + 1, ids.length);
        });
        const rewrappedPepper = this.keys.rewrapPepper(tx, at);
        const rewrappedAuditSigningKey = this.keys.rewrapAuditSigningKey(tx, at);
        return { activeVersion: this.keys.keyRing.activeVersion, rewrappedDataKeys: rewrapped, rewrappedPepper, rewrappedAuditSigningKey };
      },
      { behavior: "immediate" },
    );
  }
}
