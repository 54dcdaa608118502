// The rules every action on a principal obeys (the contract's dominance and last-owner rules),
// shared by API keys, role bindings and users.
import { and, eq, isNull } from "drizzle-orm";
import { loadAccess } from "../../auth/access-loader.js";
import type { RequestMeta } from "../../context.js";
import { apiKeys, roleBindings, roles, users } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { conflict, forbidden } from "../../errors.js";

export interface PrincipalRef {
  kind: "USER" | "API_KEY";
  id: string;
  /** For an API key owned by a person: acting on the key is acting on that person too. */
  ownerUserId?: string | null;
}

/**
 * Dominance: the caller holds every permission the target holds, wherever it holds it, and
 * for a key owned by a person every permission that person holds too. A key's own bindings
 * count as held even where its owner no longer holds them (stricter). A principal acting on
 * itself needs nothing more; with `revokingOwnKey`, neither does a person (or one of their
 * keys) revoking a key of theirs: revocation only ever takes power away. Anything else on a
 * sibling key is checked, since rotating it would hand a weaker key a stronger key's secret.
 */
export function assertDominates(tx: Queryable, meta: RequestMeta, target: PrincipalRef, opts: { revokingOwnKey?: boolean } = {}): void {
  const me = meta.principal;
  if (target.id === me.id) return;
  const ownId = me.kind === "USER" ? me.id : (me.apiKey?.ownerUserId ?? null);
  if (opts.revokingOwnKey && target.kind === "API_KEY" && target.ownerUserId && target.ownerUserId === ownId) return;
  const checks = [target.id];
  if (target.ownerUserId && target.ownerUserId !== me.id) checks.push(target.ownerUserId);
  for (const id of checks) {
    if (!me.access.dominates(loadAccess(tx, me.organizationId, id))) {
      throw forbidden("This principal holds permissions that you do not hold; you cannot act on it");
    }
  }
}

/** No principal changes its own roles, nor a key those of the person it belongs to. */
export function assertNotSelf(meta: RequestMeta, principalId: string): void {
  const me = meta.principal;
  if (principalId === me.id || (me.apiKey?.ownerUserId && principalId === me.apiKey.ownerUserId)) {
    throw forbidden("You cannot change your own roles");
  }
}

/**
 * Principals that hold the built-in owner role organization-wide and can still act: active
 * people, and keys that are neither revoked nor expired whose owner (if any) is such a person.
 */
export function liveOwnerIds(tx: Queryable, organizationId: string, now: Date, removed: ReadonlySet<string> = new Set()): string[] {
  const bound = tx
    .select({ kind: roleBindings.principalKind, id: roleBindings.principalId })
    .from(roleBindings)
    .innerJoin(roles, eq(roles.id, roleBindings.roleId))
    .where(and(eq(roleBindings.organizationId, organizationId), isNull(roleBindings.workspaceId), eq(roles.builtIn, true), eq(roles.name, "owner")))
    .all()
    .filter((b) => !removed.has(b.id));
  const ownerUsers = new Set<string>();
  for (const b of bound) {
    if (b.kind !== "USER") continue;
    const u = tx.select({ status: users.status }).from(users).where(and(eq(users.organizationId, organizationId), eq(users.id, b.id))).get();
    if (u?.status === "ACTIVE") ownerUsers.add(b.id);
  }
  const live = [...ownerUsers];
  for (const b of bound) {
    if (b.kind !== "API_KEY") continue;
    const k = tx.select().from(apiKeys).where(and(eq(apiKeys.organizationId, organizationId), eq(apiKeys.id, b.id))).get();
    if (!k || k.revokedAt || (k.expiresAt && k.expiresAt.getTime() <= now.getTime())) continue;
    if (k.ownerUserId && !ownerUsers.has(k.ownerUserId)) continue;
    live.push(b.id);
  }
  return live;
}

/** The last principal holding owner organization-wide cannot be removed, revoked, suspended or demoted. */
export function assertOwnerRemains(tx: Queryable, organizationId: string, now: Date, removed: ReadonlySet<string>): void {
  const before = liveOwnerIds(tx, organizationId, now);
  if (before.length === 0 || !before.some((id) => removed.has(id))) return;
  if (liveOwnerIds(tx, organizationId, now, removed).length === 0) {
    throw conflict("This would leave the organization without an owner; make another principal owner first");
  }
}
