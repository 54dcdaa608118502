// Shared steps of the policies tests: documents, seeds for targets whose modules are built
// elsewhere (routes), and the audit events of a policy.
import { and, desc, eq } from "drizzle-orm";
import { auditEvents, roleBindings, roles, routes } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { issueApiKey } from "../../src/modules/api-keys/api-key.issue.js";
import type { TestServer } from "../harness/server.js";

export const POLICY_FIELDS = `id name description workspace { id } allowedModels deniedModels
  rateLimit { requestsPerMinute tokensPerMinute } budget { limitUsd period } allowedIpRanges createdAt updatedAt`;

export const CREATE = `mutation($input: CreatePolicyInput!) { createPolicy(input: $input) { ${POLICY_FIELDS} } }`;
export const UPDATE = `mutation($input: UpdatePolicyInput!) { updatePolicy(input: $input) { ${POLICY_FIELDS} } }`;
export const DELETE = `mutation($id: ID!) { deletePolicy(id: $id) { deletedId } }`;
export const ATTACH = `mutation($p: ID!, $t: ID!) { attachPolicy(policyId: $p, targetId: $t) { id name } }`;
export const DETACH = `mutation($p: ID!, $t: ID!) { detachPolicy(policyId: $p, targetId: $t) { id name } }`;
export const LIST = `query($filter: PolicyFilter, $first: Int, $after: String) {
  policies(filter: $filter, first: $first, after: $after) { nodes { id name workspace { id } } pageInfo { hasNextPage endCursor } totalCount } }`;
export const NODE = `query($id: ID!) { node(id: $id) { id ... on Policy { ${POLICY_FIELDS} } } }`;
export const KEY_POLICIES = `query($id: ID!) { node(id: $id) { ... on ApiKey { policies { id workspace { id } } } ... on VirtualKey { policies { id workspace { id } } } } }`;

/** An API key holding exactly these permissions, organization-wide or in one workspace (and living there). */
export function customKey(t: TestServer, permissions: string[], workspaceId: string | null = null, organizationId = t.organizationId): { id: string; token: string } {
  const { db } = t.server.database;
  const at = t.clock.now();
  const roleId = newId("Role");
  db.insert(roles).values({ id: roleId, organizationId, name: `custom-${roleId}`, description: null, permissions, builtIn: false, createdAt: at, updatedAt: at }).run();
  const issued = issueApiKey(db, t.server.services.keys.pepper(), { organizationId, workspaceId, name: "custom key", ownerUserId: null, createdBy: null, expiresAt: null }, at);
  db.insert(roleBindings).values({ id: newId("RoleBinding"), organizationId, roleId, principalKind: "API_KEY", principalId: issued.apiKeyId, workspaceId, createdAt: at }).run();
  return { id: issued.apiKeyId, token: issued.token };
}

/** A route as the routes module will store one (targets do not matter to policies). */
export function insertRoute(t: TestServer, workspaceId: string | null = null, organizationId = t.organizationId): string {
  const id = newId("Route");
  const at = t.clock.now();
  t.server.database.db
    .insert(routes)
    .values({ id, organizationId, workspaceId, name: `route ${id}`, slug: id.toLowerCase().replace("_", "-"), strategy: "SINGLE", retryAttempts: null, retryOnStatusCodes: null, timeoutMs: null, createdAt: at, updatedAt: at })
    .run();
  return id;
}

/** The newest audit event of an action on a policy. */
export function lastEvent(t: TestServer, action: string, targetId: string) {
  return t.server.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.organizationId, t.organizationId), eq(auditEvents.action, action), eq(auditEvents.targetId, targetId)))
    .orderBy(desc(auditEvents.sequence))
    .limit(1)
    .get();
}

/** A policy made by the owner over HTTP; its ID. */
export async function ownerPolicy(t: TestServer, input: Record<string, unknown>): Promise<string> {
  return (await t.client(t.ownerKey).data(CREATE, { input: { name: `p-${Math.random()}`, ...input } })).createPolicy.id;
}

export function ownerAttach(t: TestServer, policyId: string, targetId: string) {
  return t.client(t.ownerKey).data(ATTACH, { p: policyId, t: targetId });
}

export function ownerDetach(t: TestServer, policyId: string, targetId: string) {
  return t.client(t.ownerKey).data(DETACH, { p: policyId, t: targetId });
}
