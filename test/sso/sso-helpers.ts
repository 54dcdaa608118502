// Shared steps of the SSO tests: configuring a connection, presenting a token, seeding people.
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import type { Permission } from "../../src/auth/permission.js";
import { auditEvents, roleBindings, roles, users } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { issueApiKey } from "../../src/modules/api-keys/api-key.issue.js";
import type { GraphQLClient } from "../harness/client.js";
import type { TestServer } from "../harness/server.js";

export const PRIVATE_NETWORK = { PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true" };

export const CONFIGURE_SSO = `mutation Configure($input: ConfigureSsoInput!) {
  configureSso(input: $input) {
    issuer audience roleClaim jitProvisioning updatedAt
    roleMappings { claimValue role { id name } workspace { id } }
  }
}`;

export interface MappingInput {
  claimValue: string;
  roleId: string;
  workspaceId?: string | null;
}

export interface SsoInput {
  issuer: string;
  audience: string;
  roleClaim?: string | null;
  roleMappings?: MappingInput[];
  jitProvisioning?: boolean | null;
}

export async function configureSso(client: GraphQLClient, input: SsoInput) {
  return (await client.data(CONFIGURE_SSO, { input: { roleMappings: [], ...input } })).configureSso;
}

export interface Attempt {
  status: number;
  /** The body with its requestId removed, as text: failures must all be identical. */
  bodyWithoutRequestId: string;
  body: any;
}

export interface PresentOptions {
  query?: string;
  variables?: Record<string, unknown>;
  /** Believed through the trusted proxy when the server trusts 127.0.0.1. */
  ip?: string;
}

/** Presents a bearer token over HTTP. */
export async function present(t: TestServer, token: string, { query = "{ viewer { principalId kind } }", variables, ip }: PresentOptions = {}): Promise<Attempt> {
  const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${token}` };
  if (ip) headers["x-forwarded-for"] = ip;
  const res = await fetch(`${t.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  const copy = structuredClone(body);
  if (copy.errors?.[0]?.extensions) {
    expect(copy.errors[0].extensions.requestId).toBe(res.headers.get("x-request-id"));
    delete copy.errors[0].extensions.requestId;
  }
  return { status: res.status, body, bodyWithoutRequestId: JSON.stringify(copy) };
}

export const UNAUTHENTICATED_BODY = JSON.stringify({ errors: [{ message: "Authentication required", extensions: { code: "UNAUTHENTICATED" } }] });

export function db(t: TestServer) {
  return t.server.database.db;
}

/** An invitation as inviteUser leaves it: a person with an email and no OIDC identity. */
export function invite(t: TestServer, email: string, organizationId = t.organizationId): string {
  const id = newId("User");
  db(t).insert(users).values({ id, organizationId, email, name: null, status: "ACTIVE", createdAt: t.clock.now() }).run();
  return id;
}

export function userRow(t: TestServer, id: string) {
  return db(t).select().from(users).where(eq(users.id, id)).get();
}

export function userBySubject(t: TestServer, subject: string, organizationId = t.organizationId) {
  return db(t).select().from(users).where(and(eq(users.organizationId, organizationId), eq(users.oidcSubject, subject))).get();
}

export function suspend(t: TestServer, userId: string): void {
  db(t).update(users).set({ status: "SUSPENDED" }).where(eq(users.id, userId)).run();
}

export function bindingsOf(t: TestServer, principalId: string) {
  return db(t)
    .select({ roleId: roleBindings.roleId, workspaceId: roleBindings.workspaceId, source: roleBindings.source })
    .from(roleBindings)
    .where(eq(roleBindings.principalId, principalId))
    .all();
}

export function bindManually(t: TestServer, userId: string, roleId: string, workspaceId: string | null = null, organizationId = t.organizationId): void {
  db(t)
    .insert(roleBindings)
    .values({ id: newId("RoleBinding"), organizationId, roleId, principalKind: "USER", principalId: userId, workspaceId, createdAt: t.clock.now() })
    .run();
}

/** A custom role, as createRole would store it. */
export function customRole(t: TestServer, name: string, permissions: Permission[], organizationId = t.organizationId): string {
  const id = newId("Role");
  const at = t.clock.now();
  db(t).insert(roles).values({ id, organizationId, name, description: null, permissions, builtIn: false, createdAt: at, updatedAt: at }).run();
  return id;
}

export function authenticationEvents(t: TestServer, organizationId = t.organizationId) {
  return db(t)
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.organizationId, organizationId), eq(auditEvents.action, "authenticate")))
    .all()
    .map((e) => ({ ...e, details: e.details ? JSON.parse(e.details) : null }));
}

/** A service API key holding the given roles, each organization-wide or in a workspace. */
export function keyWithRoles(t: TestServer, grants: { roleId: string; workspaceId?: string | null }[], organizationId = t.organizationId): string {
  const at = t.clock.now();
  const issued = issueApiKey(db(t), t.server.services.keys.pepper(), { organizationId, workspaceId: null, name: "test key", ownerUserId: null, createdBy: null, expiresAt: null }, at);
  for (const g of grants) {
    db(t)
      .insert(roleBindings)
      .values({ id: newId("RoleBinding"), organizationId, roleId: g.roleId, principalKind: "API_KEY", principalId: issued.apiKeyId, workspaceId: g.workspaceId ?? null, createdAt: at })
      .run();
  }
  return issued.token;
}
