// Creating and deleting whole tenants. Used by first start (bootstrap), the CLI and tests.
import { eq } from "drizzle-orm";
import type { Clock } from "../../clock.js";
import { flushDeletedPages, type Db } from "../../db/client.js";
import { instanceMeta, organizations, roleBindings } from "../../db/schema.js";
import { newId } from "../../ids.js";
import { issueApiKey } from "../api-keys/api-key.issue.js";
import { appendAuditEvent } from "../audit/audit.recorder.js";
import type { KeyStore } from "../master-keys/key-store.js";
import { createBuiltInRoles } from "../roles/built-in-roles.js";

const BOOTSTRAPPED = "organization_created";

export interface CreatedOrganization {
  organizationId: string;
  ownerApiKeyId: string;
  /** Shown once; only its HMAC is stored. */
  ownerApiKey: string;
}

export class OrganizationService {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly clock: Clock,
  ) {}

  get(organizationId: string) {
    return this.db.select().from(organizations).where(eq(organizations.id, organizationId)).get();
  }

  /** A new tenant with its data key, built-in roles and an owner API key. */
  create(name: string, presetOwnerKey?: string): CreatedOrganization {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 200) throw new Error("An organization name has 1 to 200 characters");
    const at = this.clock.now();
    const pepper = this.keys.pepper();
    return this.db.transaction(
      (tx) => {
        const organizationId = newId("Organization");
        tx.insert(organizations).values({ id: organizationId, name: trimmed, createdAt: at }).run();
        this.keys.createDataKey(tx, organizationId, at);
        const roleIds = createBuiltInRoles(tx, organizationId, at);
        const { apiKeyId, token } = issueApiKey(
          tx,
          pepper,
          { organizationId, workspaceId: null, name: "Owner key", ownerUserId: null, createdBy: null, expiresAt: null, presetToken: presetOwnerKey },
          at,
        );
        tx.insert(roleBindings)
          .values({ id: newId("RoleBinding"), organizationId, roleId: roleIds.owner, principalKind: "API_KEY", principalId: apiKeyId, workspaceId: null, createdAt: at })
          .run();
        tx.insert(instanceMeta).values({ key: BOOTSTRAPPED, value: at.toISOString() }).onConflictDoNothing().run();
        appendAuditEvent(
          tx,
          { organizationId, actorKind: null, actorId: null, action: "createOrganization", targetKind: "Organization", targetId: organizationId, outcome: "SUCCESS", details: { ownerApiKeyId: apiKeyId } },
          at,
        );
        return { organizationId, ownerApiKeyId: apiKeyId, ownerApiKey: token };
      },
      { behavior: "immediate" },
    );
  }

  /** True on a database where no organization was ever created (deleting them all does not count). */
  neverBootstrapped(): boolean {
    return !this.db.select().from(instanceMeta).where(eq(instanceMeta.key, BOOTSTRAPPED)).get();
  }

  /** Deletes the organization and everything it owns, its data key first of all (crypto-shredding). */
  delete(organizationId: string): boolean {
    const deleted = this.db.transaction((tx) => tx.delete(organizations).where(eq(organizations.id, organizationId)).run().changes > 0, {
      behavior: "immediate",
    });
    this.keys.forget(organizationId);
    flushDeletedPages(this.db);
    return deleted;
  }

  list() {
    return this.db.select().from(organizations).all();
  }
}
