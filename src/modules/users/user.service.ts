// People of an organization: invite, suspend, erase. Reads follow USER_READ: organization-wide
// it shows everyone, bound in some workspaces it shows the people who hold a role there.
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { apiKeys, roleBindings, users } from "../../db/schema.js";
import { badInput, conflict, forbidden, notFound } from "../../errors.js";
import { newId } from "../../ids.js";
import type { ApiKeyService } from "../api-keys/api-key.service.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { type PageArgs, pageOf } from "../common/pagination.js";
import { validateName } from "../common/slug.js";
import { assertDominates, assertOwnerRemains } from "../roles/principal-guard.js";

type UserRow = typeof users.$inferSelect;

// Practical, not RFC 5322: one @, no spaces, control or formatting characters, a dotted domain.
const EMAIL = /^[^\s@\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

export function normalizeEmail(email: string): string {
  const trimmed = email.trim().toLowerCase();
  if (!isEmail(trimmed)) throw badInput("email is not a valid email address", "email");
  return trimmed;
}

export class UserService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
    private readonly apiKeys: ApiKeyService,
  ) {}

  private readable(meta: RequestMeta): SQL | undefined {
    const orgId = meta.principal.organizationId;
    const org = eq(users.organizationId, orgId);
    const scope = meta.principal.access.scopeOf(Permission.USER_READ);
    if (scope.orgWide) return org;
    const boundThere = this.db
      .select({ id: roleBindings.principalId })
      .from(roleBindings)
      .where(and(eq(roleBindings.organizationId, orgId), inArray(roleBindings.workspaceId, scope.workspaceIds)));
    return and(org, inArray(users.id, boundThere));
  }

  list(meta: RequestMeta, args: PageArgs) {
    return pageOf(this.db, users, this.readable(meta), args);
  }

  find(meta: RequestMeta, id: string): UserRow | undefined {
    return this.db.select().from(users).where(and(this.readable(meta), eq(users.id, id))).get();
  }

  /** The signed-in person, whatever the roles: a caller always sees itself (viewer.user). */
  self(meta: RequestMeta): UserRow | undefined {
    const p = meta.principal;
    if (p.kind !== "USER") return undefined;
    return this.db.select().from(users).where(and(eq(users.organizationId, p.organizationId), eq(users.id, p.id))).get();
  }

  /** A person of the caller's organization for a change: NOT_FOUND otherwise, FORBIDDEN without USER_WRITE organization-wide. */
  private target(meta: RequestMeta, id: string, what: string): UserRow {
    const row = this.db.select().from(users).where(and(eq(users.organizationId, meta.principal.organizationId), eq(users.id, id))).get();
    if (!row) throw notFound("User");
    if (!meta.principal.access.has(Permission.USER_WRITE)) {
      if (this.find(meta, id)) throw forbidden(`${what} needs USER_WRITE organization-wide`);
      throw notFound("User");
    }
    return row;
  }

  invite(meta: RequestMeta, input: { email: string; name?: string | null }): UserRow {
    if (!meta.principal.access.has(Permission.USER_WRITE)) throw forbidden("Inviting a user needs USER_WRITE organization-wide");
    const email = normalizeEmail(input.email);
    const name = input.name === null || input.name === undefined ? null : validateName(input.name);
    const orgId = meta.principal.organizationId;
    return this.audit.write(meta, { action: "inviteUser", targetKind: "User" }, (tx, at) => {
      const taken = tx
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.organizationId, orgId), sql`lower(${users.email}) = ${email}`))
        .get();
      if (taken) throw conflict("A user with this email already exists in the organization");
      const row: UserRow = { id: newId("User"), organizationId: orgId, email, name, status: "ACTIVE", oidcIssuer: null, oidcSubject: null, createdAt: at, lastLoginAt: null };
      tx.insert(users).values(row).run();
      // Personal data stays out of the audit chain, so that erasure leaves it intact.
      return { result: row, targetId: row.id };
    });
  }

  suspend(meta: RequestMeta, id: string): UserRow {
    const user = this.target(meta, id, "Suspending a user");
    const orgId = meta.principal.organizationId;
    return this.audit.write(meta, { action: "suspendUser", targetKind: "User" }, (tx, at) => {
      assertDominates(tx, meta, { kind: "USER", id });
      if (user.status !== "SUSPENDED") {
        assertOwnerRemains(tx, orgId, at, new Set([id]));
        tx.update(users).set({ status: "SUSPENDED" }).where(and(eq(users.organizationId, orgId), eq(users.id, id))).run();
      }
      const row = tx.select().from(users).where(and(eq(users.organizationId, orgId), eq(users.id, id))).get()!;
      return { result: row, targetId: id, details: { alreadySuspended: user.status === "SUSPENDED" } };
    });
  }

  /** Erasure: the person's row and bindings go, their keys are revoked; audit events keep only the ID. */
  delete(meta: RequestMeta, id: string): { deletedUserId: string; revokedApiKeyIds: string[] } {
    this.target(meta, id, "Deleting a user");
    const orgId = meta.principal.organizationId;
    return this.audit.write(meta, { action: "deleteUser", targetKind: "User" }, (tx, at) => {
      assertDominates(tx, meta, { kind: "USER", id });
      const owned = tx.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.organizationId, orgId), eq(apiKeys.ownerUserId, id))).all();
      for (const key of owned) assertDominates(tx, meta, { kind: "API_KEY", id: key.id, ownerUserId: id }, { revokingOwnKey: true });
      assertOwnerRemains(tx, orgId, at, new Set([id, ...owned.map((k) => k.id)]));
      const revokedApiKeyIds = this.apiKeys.revokeOwnedBy(tx, orgId, id, at);
      tx.delete(roleBindings).where(and(eq(roleBindings.organizationId, orgId), eq(roleBindings.principalId, id))).run();
      tx.delete(users).where(and(eq(users.organizationId, orgId), eq(users.id, id))).run();
      return { result: { deletedUserId: id, revokedApiKeyIds }, targetId: id, details: { revokedApiKeyIds } };
    });
  }
}
