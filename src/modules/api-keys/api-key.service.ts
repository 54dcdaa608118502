// API keys: issue (the secret is shown once), list, revoke and rotate with a grace period.
// Reads follow API_KEY_READ scope; every change needs API_KEY_WRITE where the key lives and
// dominance over the key and the person who owns it.
import { and, eq, gt, inArray, isNotNull, isNull, lte, or, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import { readableRows } from "../common/read-scope.js";
import { generateApiKey } from "../../crypto/api-key-format.js";
import type { Db } from "../../db/client.js";
import { apiKeys, apiKeySecrets, policyAttachments, roleBindings, roles, users } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { badInput, conflict, forbidden, notFound } from "../../errors.js";
import { newId } from "../../ids.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { attachablePolicies } from "../policies/policy.attachable.js";
import { type PageArgs, pageOf } from "../common/pagination.js";
import { boundedIds, nameContains, validateName } from "../common/slug.js";
import { assertWorkspaceNamed } from "../common/workspace-scope.js";
import type { KeyStore } from "../master-keys/key-store.js";
import { assertDominates, assertOwnerRemains } from "../roles/principal-guard.js";
import { toRoleView } from "../roles/role.service.js";
import { insertApiKeySecret, issueApiKey } from "./api-key.issue.js";
import { ApiKeyStatus } from "./api-key.type.js";

type ApiKeyRow = typeof apiKeys.$inferSelect;

export const MAX_GRACE_PERIOD_SECONDS = 604_800;

export interface ApiKeyFilterArgs {
  workspaceId?: string | null;
  status?: ApiKeyStatus | null;
  nameContains?: string | null;
}

export interface CreateApiKeyArgs {
  name: string;
  workspaceId?: string | null;
  roleIds: string[];
  policyIds?: string[] | null;
  expiresAt?: Date | null;
  ownerUserId?: string | null;
}

function scopeText(workspaceId: string | null): string {
  return workspaceId ? "in its workspace" : "organization-wide";
}

export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly audit: AuditedWriter,
    private readonly clock: Clock,
  ) {}

  view(row: ApiKeyRow) {
    const now = this.clock.now().getTime();
    const status = row.revokedAt ? ApiKeyStatus.REVOKED : row.expiresAt && row.expiresAt.getTime() <= now ? ApiKeyStatus.EXPIRED : ApiKeyStatus.ACTIVE;
    return { ...row, status };
  }

  /** Keys the caller may read: organization keys need API_KEY_READ organization-wide. */
  private readable(meta: RequestMeta): SQL | undefined {
    return readableRows(meta, Permission.API_KEY_READ, { organizationId: apiKeys.organizationId, workspaceId: apiKeys.workspaceId });
  }

  private statusIs(status: ApiKeyStatus): SQL | undefined {
    const now = this.clock.now();
    if (status === ApiKeyStatus.REVOKED) return isNotNull(apiKeys.revokedAt);
    if (status === ApiKeyStatus.EXPIRED) return and(isNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, now));
    return and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));
  }

  list(meta: RequestMeta, filter: ApiKeyFilterArgs | null | undefined, args: PageArgs) {
    const f = filter ?? {};
    const conditions: (SQL | undefined)[] = [this.readable(meta)];
    if (f.workspaceId) {
      assertWorkspaceNamed(this.db, meta, f.workspaceId, [Permission.API_KEY_READ]);
      conditions.push(eq(apiKeys.workspaceId, f.workspaceId));
    }
    if (f.status) conditions.push(this.statusIs(f.status));
    if (f.nameContains) conditions.push(nameContains(apiKeys.name, f.nameContains));
    const page = pageOf(this.db, apiKeys, and(...conditions), args);
    return { ...page, nodes: page.nodes.map((r) => this.view(r)) };
  }

  find(meta: RequestMeta, id: string) {
    const row = this.db.select().from(apiKeys).where(and(this.readable(meta), eq(apiKeys.id, id))).get();
    return row ? this.view(row) : undefined;
  }

  /** The calling key, whatever its roles: a caller always sees itself (viewer.apiKey). */
  self(meta: RequestMeta) {
    const p = meta.principal;
    if (p.kind !== "API_KEY") return undefined;
    const row = this.db.select().from(apiKeys).where(and(eq(apiKeys.organizationId, p.organizationId), eq(apiKeys.id, p.id))).get();
    return row ? this.view(row) : undefined;
  }

  /** The key for a change: NOT_FOUND unless readable, FORBIDDEN unless writable where it lives. */
  private writable(meta: RequestMeta, id: string): ApiKeyRow {
    const row = this.db.select().from(apiKeys).where(and(this.readable(meta), eq(apiKeys.id, id))).get();
    if (!row) throw notFound("ApiKey");
    if (!meta.principal.access.has(Permission.API_KEY_WRITE, row.workspaceId)) {
      throw forbidden(`Changing this API key needs API_KEY_WRITE ${scopeText(row.workspaceId)}`);
    }
    return row;
  }

  create(meta: RequestMeta, input: CreateApiKeyArgs) {
    const me = meta.principal;
    const orgId = me.organizationId;
    const access = me.access;
    const name = validateName(input.name);
    const workspaceId = input.workspaceId ?? null;
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw badInput("expiresAt must be in the future", "expiresAt");
    if (workspaceId) assertWorkspaceNamed(this.db, meta, workspaceId, [Permission.API_KEY_READ, Permission.API_KEY_WRITE]);
    if (!access.has(Permission.API_KEY_WRITE, workspaceId)) throw forbidden(`Creating an API key ${workspaceId ? "in this workspace" : "organization-wide"} needs API_KEY_WRITE there`);

    const roleIds = boundedIds(input.roleIds, "roleIds");
    const roleRows = roleIds.length === 0 ? [] : this.db.select().from(roles).where(and(eq(roles.organizationId, orgId), inArray(roles.id, roleIds))).all();
    if (roleRows.length !== roleIds.length) throw notFound("Role");
    const granted = [...new Set(roleRows.flatMap((r) => toRoleView(r).permissions))];
    const missing = granted.filter((p) => !access.has(p, workspaceId));
    if (missing.length > 0) throw forbidden(`A key cannot carry permissions you do not hold ${workspaceId ? "in this workspace" : "organization-wide"}: ${missing.join(", ")}`);


    // A person's key by default; a key made by a key belongs to whoever owns the creating key,
    // so that it cannot outlive that person (none for a service key).
    const ownId = me.kind === "USER" ? me.id : (me.apiKey?.ownerUserId ?? null);
    const ownerUserId = input.ownerUserId ?? ownId;
    if (ownerUserId && ownerUserId !== ownId) {
      const owner = this.db.select({ status: users.status }).from(users).where(and(eq(users.organizationId, orgId), eq(users.id, ownerUserId))).get();
      if (!owner) throw notFound("User");
      if (!access.has(Permission.USER_WRITE)) throw forbidden("Creating a key for another person needs USER_WRITE organization-wide");
      if (owner.status !== "ACTIVE") throw conflict("The person is suspended");
    }

    return this.audit.write(meta, { action: "createApiKey", targetKind: "ApiKey" }, (tx, at) => {
      // Inside the transaction: a policy deleted meanwhile is NOT_FOUND, not a foreign key failure.
      const policyIds = attachablePolicies(tx, meta, input.policyIds, workspaceId, "API key");
      if (ownerUserId && ownerUserId !== ownId) assertDominates(tx, meta, { kind: "USER", id: ownerUserId });
      const { apiKeyId, token } = issueApiKey(
        tx,
        this.keys.pepper(),
        { organizationId: orgId, workspaceId, name, ownerUserId, createdBy: { kind: me.kind, id: me.id }, expiresAt: input.expiresAt ?? null },
        at,
      );
      for (const roleId of roleIds) {
        tx.insert(roleBindings)
          .values({ id: newId("RoleBinding"), organizationId: orgId, roleId, principalKind: "API_KEY", principalId: apiKeyId, workspaceId, createdAt: at })
          .run();
      }
      // A key made by a key carries its creator's policies too.
      const inherited =
        me.kind === "API_KEY"
          ? tx
              .select({ policyId: policyAttachments.policyId })
              .from(policyAttachments)
              .where(and(eq(policyAttachments.organizationId, orgId), eq(policyAttachments.targetId, me.id)))
              .all()
              .map((r) => r.policyId)
          : [];
      const attached = [...new Set([...policyIds, ...inherited])];
      for (const policyId of attached) {
        tx.insert(policyAttachments).values({ policyId, organizationId: orgId, targetKind: "ApiKey", targetId: apiKeyId, createdAt: at }).run();
      }
      const row = tx.select().from(apiKeys).where(and(eq(apiKeys.organizationId, orgId), eq(apiKeys.id, apiKeyId))).get()!;
      return {
        result: { apiKey: this.view(row), secret: token },
        targetId: apiKeyId,
        workspaceId,
        details: { name, roleIds, policyIds: attached, ownerUserId, expiresAt: input.expiresAt?.toISOString() ?? null },
      };
    });
  }

  revoke(meta: RequestMeta, id: string) {
    const key = this.writable(meta, id);
    return this.audit.write(meta, { action: "revokeApiKey", targetKind: "ApiKey" }, (tx, at) => {
      assertDominates(tx, meta, { kind: "API_KEY", id: key.id, ownerUserId: key.ownerUserId }, { revokingOwnKey: true });
      if (!key.revokedAt) {
        assertOwnerRemains(tx, meta.principal.organizationId, at, new Set([key.id]));
        tx.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.organizationId, meta.principal.organizationId), eq(apiKeys.id, key.id))).run();
      }
      const row = tx.select().from(apiKeys).where(and(eq(apiKeys.organizationId, meta.principal.organizationId), eq(apiKeys.id, key.id))).get()!;
      return { result: this.view(row), targetId: key.id, workspaceId: key.workspaceId, details: { alreadyRevoked: !!key.revokedAt } };
    });
  }

  /** A new secret; the old one lives on for the grace period. At most two secrets are ever live. */
  rotate(meta: RequestMeta, id: string, gracePeriodSeconds: number | null | undefined) {
    const grace = gracePeriodSeconds ?? 0;
    if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
      throw badInput(`gracePeriodSeconds must be between 0 and ${MAX_GRACE_PERIOD_SECONDS}`, "gracePeriodSeconds");
    }
    const key = this.writable(meta, id);
    return this.audit.write(meta, { action: "rotateApiKey", targetKind: "ApiKey" }, (tx, at) => {
      assertDominates(tx, meta, { kind: "API_KEY", id: key.id, ownerUserId: key.ownerUserId });
      const status = this.view(key).status;
      if (status !== ApiKeyStatus.ACTIVE) throw conflict(`A ${status.toLowerCase()} API key cannot be rotated`);
      // Secrets carry no organization column: reach them through the organization's key.
      const ofThisKey = inArray(
        apiKeySecrets.apiKeyId,
        tx.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.organizationId, meta.principal.organizationId), eq(apiKeys.id, key.id))),
      );
      // Secrets retired by an earlier rotation stop now: only the current one gets a grace period.
      tx.delete(apiKeySecrets).where(and(ofThisKey, isNotNull(apiKeySecrets.expiresAt))).run();
      tx.update(apiKeySecrets)
        .set({ expiresAt: new Date(at.getTime() + grace * 1000) })
        .where(and(ofThisKey, isNull(apiKeySecrets.expiresAt)))
        .run();
      const { token, secret } = generateApiKey(key.id);
      insertApiKeySecret(tx, this.keys.pepper(), key.id, secret, at);
      return { result: { apiKey: this.view(key), secret: token }, targetId: key.id, workspaceId: key.workspaceId, details: { gracePeriodSeconds: grace } };
    });
  }

  /** Revokes every key a person owns (erasure); the caller's transaction records the event. */
  revokeOwnedBy(tx: Queryable, organizationId: string, userId: string, at: Date): string[] {
    const owned = tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.ownerUserId, userId), isNull(apiKeys.revokedAt)))
      .all()
      .map((r) => r.id);
    if (owned.length > 0) tx.update(apiKeys).set({ revokedAt: at }).where(and(eq(apiKeys.organizationId, organizationId), inArray(apiKeys.id, owned))).run();
    return owned;
  }
}
