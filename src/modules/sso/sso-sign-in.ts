// What a verified OIDC token does to the organization's people: finds the person by iss and
// sub (or claims an invitation by verified email once, or provisions them just in time), and
// replaces their SSO role bindings with the ones the token's role claim maps to. Every request
// that bears a token is a sign-in, so an unchanged person costs reads only.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Clock } from "../../clock.js";
import type { Db } from "../../db/client.js";
import { roleBindings, roles, ssoConnections, ssoRoleMappings, users } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { newId } from "../../ids.js";
import { appendAuditEvent } from "../audit/audit.recorder.js";
import { liveOwnerIds } from "../roles/principal-guard.js";
import { isEmail } from "../users/user.service.js";

/** lastLoginAt is written at most this often per person, not on every request. */
const LAST_LOGIN_WRITE_INTERVAL_MS = 60_000;
const MAX_CLAIM_VALUES = 1000;

export interface VerifiedClaims {
  sub: string;
  [claim: string]: unknown;
}

export interface SignInRequest {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

type ConnectionRow = typeof ssoConnections.$inferSelect;
type UserRow = typeof users.$inferSelect;

export type SignInResult = { ok: true; userId: string } | { ok: false; reason: string; userId?: string };

interface BindingChange {
  add: { roleId: string; workspaceId: string | null }[];
  remove: { id: string; roleId: string; workspaceId: string | null }[];
}

/** The reads every request makes, prepared once: building a drizzle query costs more than running it. */
function preparedReads(db: Db) {
  const p = (name: string) => sql.placeholder(name);
  return {
    userByIdentity: db
      .select()
      .from(users)
      .where(and(eq(users.organizationId, p("organizationId")), eq(users.oidcIssuer, p("issuer")), eq(users.oidcSubject, p("subject"))))
      .prepare(),
    mappings: db
      .select({ claimValue: ssoRoleMappings.claimValue, roleId: ssoRoleMappings.roleId, workspaceId: ssoRoleMappings.workspaceId })
      .from(ssoRoleMappings)
      .where(eq(ssoRoleMappings.organizationId, p("organizationId")))
      .prepare(),
    bindings: db
      .select({ id: roleBindings.id, roleId: roleBindings.roleId, workspaceId: roleBindings.workspaceId, source: roleBindings.source })
      .from(roleBindings)
      .where(and(eq(roleBindings.organizationId, p("organizationId")), eq(roleBindings.principalId, p("principalId"))))
      .prepare(),
  };
}

export class SsoSignIn {
  private readonly reads: ReturnType<typeof preparedReads>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.reads = preparedReads(db);
  }

  signIn(connection: ConnectionRow, claims: VerifiedClaims, request: SignInRequest): SignInResult {
    const now = this.clock.now();
    const known = this.findByIdentity(connection, claims.sub);
    if (known) {
      if (known.status !== "ACTIVE") return { ok: false, reason: "suspended", userId: known.id };
      const fresh = known.lastLoginAt !== null && now.getTime() - known.lastLoginAt.getTime() < LAST_LOGIN_WRITE_INTERVAL_MS;
      const change = this.bindingChange(connection, known.id, claims);
      if (fresh && change.add.length === 0 && change.remove.length === 0) return { ok: true, userId: known.id };
    }
    return this.db.transaction((tx) => this.signInWriting(tx, connection, claims, request), { behavior: "immediate" });
  }

  private signInWriting(tx: Queryable, seen: ConnectionRow, claims: VerifiedClaims, request: SignInRequest): SignInResult {
    const at = this.clock.now();
    // The token was verified while keys were fetched: the connection may have changed since.
    const connection = tx
      .select()
      .from(ssoConnections)
      .where(and(eq(ssoConnections.organizationId, seen.organizationId), eq(ssoConnections.issuer, seen.issuer), eq(ssoConnections.audience, seen.audience)))
      .get();
    if (!connection) return { ok: false, reason: "connection_changed" };
    const orgId = connection.organizationId;

    let user = this.findByIdentity(connection, claims.sub);
    let provisioned: "invitation" | "jit" | undefined;
    if (!user) {
      const invited = findInvitation(tx, orgId, claims);
      if (invited) {
        if (invited.status !== "ACTIVE") return { ok: false, reason: "suspended", userId: invited.id };
        tx.update(users).set({ oidcIssuer: connection.issuer, oidcSubject: claims.sub }).where(and(eq(users.organizationId, orgId), eq(users.id, invited.id))).run();
        user = { ...invited, oidcIssuer: connection.issuer, oidcSubject: claims.sub };
        provisioned = "invitation";
      } else if (connection.jitProvisioning) {
        user = {
          id: newId("User"),
          organizationId: orgId,
          email: unclaimedVerifiedEmail(tx, orgId, claims),
          name: displayName(claims.name),
          status: "ACTIVE",
          oidcIssuer: connection.issuer,
          oidcSubject: claims.sub,
          createdAt: at,
          lastLoginAt: null,
        };
        tx.insert(users).values(user).run();
        provisioned = "jit";
      } else {
        return { ok: false, reason: "not_invited" };
      }
    }
    if (user.status !== "ACTIVE") return { ok: false, reason: "suspended", userId: user.id };

    const change = this.bindingChange(connection, user.id, claims);
    let keptLastOwner = false;
    for (const binding of change.remove) {
      // The contract's last-owner rule holds against the identity provider too.
      if (binding.workspaceId === null && isLastOwnerBinding(tx, orgId, binding, user.id, at)) {
        keptLastOwner = true;
        continue;
      }
      tx.delete(roleBindings).where(and(eq(roleBindings.organizationId, orgId), eq(roleBindings.id, binding.id))).run();
    }
    for (const binding of change.add) {
      tx.insert(roleBindings)
        .values({ id: newId("RoleBinding"), organizationId: orgId, roleId: binding.roleId, principalKind: "USER", principalId: user.id, workspaceId: binding.workspaceId, source: "SSO", createdAt: at })
        .run();
    }
    if (user.lastLoginAt === null || at.getTime() - user.lastLoginAt.getTime() >= LAST_LOGIN_WRITE_INTERVAL_MS) {
      tx.update(users).set({ lastLoginAt: at }).where(and(eq(users.organizationId, orgId), eq(users.id, user.id))).run();
    }
    if (provisioned || change.add.length > 0 || change.remove.length > 0) {
      appendAuditEvent(
        tx,
        {
          organizationId: orgId,
          actorKind: "USER",
          actorId: user.id,
          action: "authenticate",
          targetKind: "User",
          targetId: user.id,
          outcome: "SUCCESS",
          ip: request.ip,
          userAgent: request.userAgent,
          requestId: request.requestId,
          details: {
            provisioned: provisioned ?? null,
            ssoRoleBindingsAdded: change.add,
            ssoRoleBindingsRemoved: change.remove.map(({ roleId, workspaceId }) => ({ roleId, workspaceId })),
            keptLastOwner,
          },
        },
        at,
      );
    }
    return { ok: true, userId: user.id };
  }

  // Prepared statements run on the one connection, so inside signInWriting's transaction too.
  private findByIdentity(connection: ConnectionRow, subject: string): UserRow | undefined {
    return this.reads.userByIdentity.get({ organizationId: connection.organizationId, issuer: connection.issuer, subject });
  }

  /** What must change for the person's SSO bindings to be exactly the mapped ones. Manual bindings are never touched. */
  private bindingChange(connection: ConnectionRow, userId: string, claims: VerifiedClaims): BindingChange {
    const values = new Set(claimValues(claims, connection.roleClaim));
    const mapped = values.size === 0 ? [] : this.reads.mappings.all({ organizationId: connection.organizationId }).filter((m) => values.has(m.claimValue));
    const wanted = new Map(mapped.map((m) => [scopeKey(m.roleId, m.workspaceId), { roleId: m.roleId, workspaceId: m.workspaceId }]));
    const held = this.reads.bindings.all({ organizationId: connection.organizationId, principalId: userId });
    const heldKeys = new Set(held.map((b) => scopeKey(b.roleId, b.workspaceId)));
    return {
      add: [...wanted.entries()].filter(([key]) => !heldKeys.has(key)).map(([, m]) => m),
      remove: held.filter((b) => b.source === "SSO" && !wanted.has(scopeKey(b.roleId, b.workspaceId))).map(({ id, roleId, workspaceId }) => ({ id, roleId, workspaceId })),
    };
  }
}

function verifiedEmail(claims: VerifiedClaims): string | undefined {
  const email = claims.email;
  if (claims.email_verified !== true || typeof email !== "string") return undefined;
  // Held to the same rule as an invitation's email: a token is not trusted to be well-formed.
  const normalized = email.trim().toLowerCase();
  return isEmail(normalized) ? normalized : undefined;
}

const sameEmail = (email: string) => sql`lower(${users.email}) = ${email.toLowerCase()}`;

/** An invitation: a person of the organization with this email and no identity yet. Matched only by a verified email. */
function findInvitation(q: Queryable, organizationId: string, claims: VerifiedClaims): UserRow | undefined {
  const email = verifiedEmail(claims);
  if (!email) return undefined;
  const rows = q
    .select()
    .from(users)
    .where(and(eq(users.organizationId, organizationId), sameEmail(email), isNull(users.oidcIssuer), isNull(users.oidcSubject)))
    .all();
  return rows.length === 1 ? rows[0] : undefined;
}

/** A just-in-time user keeps the token's email only when it is verified and nobody in the organization has it. */
function unclaimedVerifiedEmail(q: Queryable, organizationId: string, claims: VerifiedClaims): string | null {
  const email = verifiedEmail(claims);
  if (!email) return null;
  const taken = q.select({ id: users.id }).from(users).where(and(eq(users.organizationId, organizationId), sameEmail(email))).get();
  return taken ? null : email;
}

function displayName(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const cleaned = value.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 200);
  return cleaned.length > 0 ? cleaned : null;
}

/** The role claim's values: a string, or the strings of an array; anything else maps nothing. */
function claimValues(claims: VerifiedClaims, roleClaim: string): string[] {
  const value = Object.hasOwn(claims, roleClaim) ? claims[roleClaim] : undefined;
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return [...new Set(value.filter((v): v is string => typeof v === "string"))].slice(0, MAX_CLAIM_VALUES);
  return [];
}

const scopeKey = (roleId: string, workspaceId: string | null) => `${roleId}\u0000${workspaceId ?? ""}`;

/**
 * True when this organization-wide binding of the built-in owner role is the last one held by a
 * live principal. A key owned by the person being demoted is no other owner: it acts with at
 * most that person's permissions.
 */
function isLastOwnerBinding(q: Queryable, organizationId: string, binding: { id: string; roleId: string }, userId: string, at: Date): boolean {
  const owner = q
    .select({ id: roles.id })
    .from(roles)
    .where(and(eq(roles.organizationId, organizationId), eq(roles.builtIn, true), eq(roles.name, "owner")))
    .get();
  if (!owner || owner.id !== binding.roleId) return false;
  return liveOwnerIds(q, organizationId, at, new Set([userId])).length === 0;
}
