// Attaching a policy needs POLICY_WRITE where the target lives (the contract's Policy rule),
// also when the policy is named at createApiKey.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { apiKeys, policies, roleBindings, roles } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { issueApiKey } from "../../src/modules/api-keys/api-key.issue.js";
import { startServer, type TestServer } from "../harness/server.js";
import { CREATE_KEY, identitySeed, outcome } from "../identity/helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
});
afterAll(() => t.stop());

function policy(workspaceId: string | null = null): string {
  const id = newId("Policy");
  const at = t.clock.now();
  t.server.database.db.insert(policies).values({ id, organizationId: t.organizationId, workspaceId, name: `policy ${id.slice(-4)}`, deniedModels: [], createdAt: at, updatedAt: at }).run();
  return id;
}

/** A service key holding custom roles, each organization-wide or in one workspace. */
function keyWith(...grants: [permissions: string[], workspaceId: string | null][]): string {
  const db = t.server.database.db;
  const at = t.clock.now();
  const issued = issueApiKey(db, t.server.services.keys.pepper(), { organizationId: t.organizationId, workspaceId: null, name: "custom", ownerUserId: null, createdBy: null, expiresAt: null }, at);
  for (const [permissions, workspaceId] of grants) {
    const roleId = newId("Role");
    db.insert(roles).values({ id: roleId, organizationId: t.organizationId, name: `custom ${roleId.slice(-6)}`, description: null, permissions, builtIn: false, createdAt: at, updatedAt: at }).run();
    db.insert(roleBindings).values({ id: newId("RoleBinding"), organizationId: t.organizationId, roleId, principalKind: "API_KEY", principalId: issued.apiKeyId, workspaceId, createdAt: at }).run();
  }
  return issued.token;
}

it("refuses to attach a policy without POLICY_WRITE where the new key lives", async () => {
  const p = policy();
  const c = t.client(keyWith([["API_KEY_READ", "API_KEY_WRITE", "POLICY_READ"], null]));
  const before = t.server.database.db.select().from(apiKeys).all().length;
  expect(await c.errorCode(CREATE_KEY, { input: { name: "with policy", roleIds: [], policyIds: [p] } })).toBe("FORBIDDEN");
  expect(t.server.database.db.select().from(apiKeys).all()).toHaveLength(before);
  expect(await outcome(c, CREATE_KEY, { input: { name: "without policy", roleIds: [] } })).toBe("OK");
});

it("POLICY_WRITE held in another workspace does not count", async () => {
  const ws = s.workspace();
  const other = s.workspace();
  const c = t.client(keyWith([["API_KEY_READ", "API_KEY_WRITE", "POLICY_READ"], ws], [["POLICY_WRITE"], other]));
  const p = policy(ws);
  expect(await c.errorCode(CREATE_KEY, { input: { name: "in ws", workspaceId: ws, roleIds: [], policyIds: [p] } })).toBe("FORBIDDEN");
  const manager = t.client(s.apiKey("manager", ws).token);
  expect(await outcome(manager, CREATE_KEY, { input: { name: "by manager", workspaceId: ws, roleIds: [], policyIds: [p] } })).toBe("OK");
  expect(t.server.database.db.select().from(apiKeys).where(eq(apiKeys.name, "by manager")).all()).toHaveLength(1);
});
