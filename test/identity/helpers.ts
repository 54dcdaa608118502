// Seeds and documents shared by the identity tests. People cannot sign in until SSO exists,
// so a person acts through a key they own.
import { and, desc, eq } from "drizzle-orm";
import type { BuiltInRoleName } from "../../src/auth/permission.js";
import { auditEvents, roleBindings, users } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { issueApiKey } from "../../src/modules/api-keys/api-key.issue.js";
import { seed } from "../harness/factories.js";
import type { TestServer } from "../harness/server.js";

export const KEY_FIELDS = `id name prefix status expiresAt lastUsedAt revokedAt createdAt createdById createdByKind
  workspace { id } owner { id } roleBindings { id role { name } workspace { id } principalId principalKind } policies { id name }`;

export const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`;
export const REVOKE_KEY = `mutation($id: ID!) { revokeApiKey(id: $id) { id status revokedAt } }`;
export const ROTATE_KEY = `mutation($id: ID!, $grace: Int) { rotateApiKey(id: $id, gracePeriodSeconds: $grace) { secret apiKey { id status } } }`;
export const ASSIGN = `mutation($input: AssignRoleInput!) { assignRole(input: $input) { id role { id name } principalId principalKind workspace { id } createdAt } }`;
export const REVOKE_BINDING = `mutation($id: ID!) { revokeRoleBinding(id: $id) { deletedId } }`;
export const INVITE = `mutation($input: InviteUserInput!) { inviteUser(input: $input) { id email name status createdAt roleBindings { id } } }`;
export const SUSPEND = `mutation($id: ID!) { suspendUser(id: $id) { id status } }`;
export const DELETE_USER = `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId revokedApiKeyIds } }`;
export const CREATE_ROLE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { id name description permissions builtIn } }`;
export const UPDATE_ROLE = `mutation($input: UpdateRoleInput!) { updateRole(input: $input) { id name description permissions builtIn } }`;
export const DELETE_ROLE = `mutation($id: ID!) { deleteRole(id: $id) { deletedId } }`;

export function identitySeed(t: TestServer, organizationId = t.organizationId) {
  const base = seed(t, organizationId);
  const { db } = t.server.database;
  return {
    ...base,
    /** A person, optionally holding a built-in role organization-wide or in one workspace. */
    user(role?: BuiltInRoleName, workspaceId: string | null = null, status: "ACTIVE" | "SUSPENDED" = "ACTIVE"): string {
      const id = newId("User");
      db.insert(users).values({ id, organizationId, email: `${id.toLowerCase()}@example.com`, name: "Test Person", status, createdAt: t.clock.now() }).run();
      if (role) this.bind(id, "USER", role, workspaceId);
      return id;
    },
    bind(principalId: string, kind: "USER" | "API_KEY", role: BuiltInRoleName, workspaceId: string | null = null): string {
      const id = newId("RoleBinding");
      db.insert(roleBindings).values({ id, organizationId, roleId: base.roleId(role), principalKind: kind, principalId, workspaceId, createdAt: t.clock.now() }).run();
      return id;
    },
    /** A key the person owns, bound to a role (by default the same as the person's). */
    userKey(ownerUserId: string, role: BuiltInRoleName, workspaceId: string | null = null): { id: string; token: string } {
      const issued = issueApiKey(
        db,
        t.server.services.keys.pepper(),
        { organizationId, workspaceId, name: "personal key", ownerUserId, createdBy: { kind: "USER", id: ownerUserId }, expiresAt: null },
        t.clock.now(),
      );
      this.bind(issued.apiKeyId, "API_KEY", role, workspaceId);
      return { id: issued.apiKeyId, token: issued.token };
    },
    /** The newest audit event of an action. */
    lastEvent(action: string) {
      return db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.organizationId, organizationId), eq(auditEvents.action, action)))
        .orderBy(desc(auditEvents.sequence))
        .limit(1)
        .get();
    },
  };
}

/** The first error's code, or "OK" when the call succeeded. */
export async function outcome(client: { query: (q: string, v?: Record<string, unknown>) => Promise<{ body: { errors?: { extensions: { code: string } }[] } }> }, q: string, v?: Record<string, unknown>): Promise<string> {
  const res = await client.query(q, v);
  return res.body.errors?.[0]?.extensions?.code ?? "OK";
}
