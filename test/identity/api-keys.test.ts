import Database from "better-sqlite3";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, apiKeySecrets, policies, policyAttachments } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";
import { CREATE_KEY, KEY_FIELDS, REVOKE_KEY, ROTATE_KEY, identitySeed, outcome } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
});
afterAll(() => t.stop());

const VIEWER = `{ viewer { principalId kind } }`;

function policy(workspaceId: string | null = null, organizationId = t.organizationId): string {
  const id = newId("Policy");
  const at = t.clock.now();
  t.server.database.db.insert(policies).values({ id, organizationId, workspaceId, name: `policy ${id.slice(-4)}`, deniedModels: ["gpt-3*"], requestsPerMinute: 60, createdAt: at, updatedAt: at }).run();
  return id;
}

describe("createApiKey", () => {
  it("issues a key whose secret is shown once and stored only as an HMAC", async () => {
    const owner = t.client(t.ownerKey);
    const ws = s.workspace();
    const data = await owner.data(CREATE_KEY, { input: { name: "ci", workspaceId: ws, roleIds: [s.roleId("member")] } });
    const { secret, apiKey } = data.createApiKey;
    expect(secret).toMatch(/^pcl_[0-9A-Za-z]{22}_[0-9A-Za-z]{38}$/);
    expect(apiKey).toMatchObject({ name: "ci", status: "ACTIVE", workspace: { id: ws }, owner: null, createdByKind: "API_KEY", revokedAt: null });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.roleBindings).toEqual([expect.objectContaining({ role: { name: "member" }, workspace: { id: ws }, principalKind: "API_KEY", principalId: apiKey.id })]);
    const stored = t.server.database.db.select().from(apiKeySecrets).where(eq(apiKeySecrets.apiKeyId, apiKey.id)).all();
    expect(stored).toHaveLength(1);
    expect(stored[0].hash).toHaveLength(32);
    expect(stored[0].hash.toString("hex")).not.toContain(Buffer.from(secret).toString("hex"));
    // The secret never comes back: not from a read, not in a log line, not in an audit event.
    const read = await owner.query(`query($id: ID!) { node(id: $id) { ... on ApiKey { ${KEY_FIELDS} } } }`, { id: apiKey.id });
    expect(read.text).not.toContain(secret.slice(27));
    expect(t.logs.join("")).not.toContain(secret);
    expect(JSON.stringify(s.lastEvent("createApiKey"))).not.toContain(secret.slice(27));
    // And it works.
    expect((await t.client(secret).data(VIEWER)).viewer).toEqual({ principalId: apiKey.id, kind: "API_KEY" });
  });

  it("validates names, expiry in the future, roles and workspaces of the organization", async () => {
    const owner = t.client(t.ownerKey);
    const role = [s.roleId("viewer")];
    expect(await owner.errorCode(CREATE_KEY, { input: { name: " ", roleIds: role } })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: role, expiresAt: new Date(t.clock.now().getTime() - 1000).toISOString() } })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: [newId("Role")] } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: role, workspaceId: newId("Workspace") } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: role, policyIds: [newId("Policy")] } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: role, ownerUserId: newId("User") } })).toBe("NOT_FOUND");
  });

  it("attaches the policies named, and a key made by a key carries its creator's policies", async () => {
    const p1 = policy();
    const p2 = policy();
    const owner = t.client(t.ownerKey);
    const parent = (await owner.data(CREATE_KEY, { input: { name: "parent", roleIds: [s.roleId("admin")], policyIds: [p1] } })).createApiKey;
    expect(parent.apiKey.policies).toEqual([{ id: p1, name: expect.any(String) }]);
    const full = await owner.data(`query($id: ID!) { node(id: $id) { ... on ApiKey { policies { id workspace { id } deniedModels allowedModels rateLimit { requestsPerMinute tokensPerMinute } budget { limitUsd } allowedIpRanges createdAt updatedAt } } } }`, { id: parent.apiKey.id });
    expect(full.node.policies[0]).toMatchObject({ id: p1, workspace: null, deniedModels: ["gpt-3*"], allowedModels: null, rateLimit: { requestsPerMinute: 60, tokensPerMinute: null }, budget: null });
    const child = (await t.client(parent.secret).data(CREATE_KEY, { input: { name: "child", roleIds: [s.roleId("viewer")], policyIds: [p2] } })).createApiKey;
    expect(child.apiKey.policies.map((p: { id: string }) => p.id).sort()).toEqual([p1, p2].sort());
    expect(child.apiKey).toMatchObject({ createdByKind: "API_KEY", createdById: parent.apiKey.id, owner: null });
    const rows = t.server.database.db.select().from(policyAttachments).where(eq(policyAttachments.targetId, child.apiKey.id)).all();
    expect(rows.every((r) => r.targetKind === "ApiKey")).toBe(true);
  });

  it("refuses another organization's policy and role as NOT_FOUND", async () => {
    const other = t.createOrganization("Policy tenant");
    const foreignPolicy = policy(null, other.organizationId);
    const foreignRole = identitySeed(t, other.organizationId).roleId("viewer");
    const owner = t.client(t.ownerKey);
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: [s.roleId("viewer")], policyIds: [foreignPolicy] } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(CREATE_KEY, { input: { name: "x", roleIds: [foreignRole] } })).toBe("NOT_FOUND");
  });

  it("makes a person's key theirs by default, and one for another person only with USER_WRITE and dominance", async () => {
    const alice = s.user("admin");
    const aliceKey = s.userKey(alice, "admin");
    const made = (await t.client(aliceKey.token).data(CREATE_KEY, { input: { name: "alice child", roleIds: [s.roleId("viewer")] } })).createApiKey;
    // Made by Alice's key: it belongs to Alice, so it cannot outlive her.
    expect(made.apiKey.owner).toEqual({ id: alice });
    const bob = s.user("viewer");
    const forBob = (await t.client(aliceKey.token).data(CREATE_KEY, { input: { name: "for bob", roleIds: [s.roleId("viewer")], ownerUserId: bob } })).createApiKey;
    expect(forBob.apiKey.owner).toEqual({ id: bob });
    const boss = s.user("owner");
    expect(await t.client(aliceKey.token).errorCode(CREATE_KEY, { input: { name: "for boss", roleIds: [], ownerUserId: boss } })).toBe("FORBIDDEN");
    const manager = s.apiKey("manager");
    expect(await t.client(manager.token).errorCode(CREATE_KEY, { input: { name: "for bob", roleIds: [], ownerUserId: bob } })).toBe("FORBIDDEN");
  });

  it("a person's key acts with at most the person's current permissions", async () => {
    const carol = s.user("viewer");
    const key = s.userKey(carol, "admin");
    const c = t.client(key.token);
    expect((await c.data(`{ viewer { permissions } }`)).viewer.permissions).not.toContain("API_KEY_WRITE");
    expect(await c.errorCode(CREATE_KEY, { input: { name: "x", roleIds: [] } })).toBe("FORBIDDEN");
  });
});

describe("apiKeys list", () => {
  it("filters by workspace, status and name, and pages newest first", async () => {
    const owner = t.client(t.ownerKey);
    const ws = s.workspace();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1000);
      const k = (await owner.data(CREATE_KEY, { input: { name: `Batch-${i}`, workspaceId: ws, roleIds: [] } })).createApiKey.apiKey;
      ids.push(k.id);
    }
    await owner.data(REVOKE_KEY, { id: ids[0] });
    const LIST = `query($f: ApiKeyFilter, $first: Int, $after: String) { apiKeys(filter: $f, first: $first, after: $after) { totalCount nodes { id name status } pageInfo { hasNextPage endCursor } } }`;
    const page1 = (await owner.data(LIST, { f: { workspaceId: ws }, first: 2 })).apiKeys;
    expect(page1.totalCount).toBe(5);
    expect(page1.nodes.map((n: { id: string }) => n.id)).toEqual([ids[4], ids[3]]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await owner.data(LIST, { f: { workspaceId: ws }, first: 2, after: page1.pageInfo.endCursor })).apiKeys;
    expect(page2.nodes.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[1]]);
    const page3 = (await owner.data(LIST, { f: { workspaceId: ws }, first: 2, after: page2.pageInfo.endCursor })).apiKeys;
    expect(page3.nodes.map((n: { id: string }) => n.id)).toEqual([ids[0]]);
    expect(page3.pageInfo.hasNextPage).toBe(false);
    const revoked = (await owner.data(LIST, { f: { workspaceId: ws, status: "REVOKED" } })).apiKeys;
    expect(revoked.nodes).toEqual([{ id: ids[0], name: "Batch-0", status: "REVOKED" }]);
    const byName = (await owner.data(LIST, { f: { nameContains: "batch-3" } })).apiKeys;
    expect(byName.nodes.map((n: { id: string }) => n.id)).toEqual([ids[3]]);
    expect((await owner.data(LIST, { f: { nameContains: "%" } })).apiKeys.totalCount).toBe(0);
    expect(await owner.errorCode(LIST, { first: 101 })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(LIST, { after: "nonsense" })).toBe("BAD_USER_INPUT");
  });

  it("computes EXPIRED from the injected clock", async () => {
    const owner = t.client(t.ownerKey);
    const expiresAt = new Date(t.clock.now().getTime() + 60_000).toISOString();
    const { secret, apiKey } = (await owner.data(CREATE_KEY, { input: { name: "short-lived", roleIds: [s.roleId("viewer")], expiresAt } })).createApiKey;
    expect(apiKey.status).toBe("ACTIVE");
    expect((await t.client(secret).query(VIEWER)).status).toBe(200);
    t.clock.advance(60_000);
    const read = await owner.data(`query($id: ID!) { node(id: $id) { ... on ApiKey { status } } }`, { id: apiKey.id });
    expect(read.node.status).toBe("EXPIRED");
    const expired = await owner.data(`{ apiKeys(filter: { status: EXPIRED }, first: 100) { nodes { id } } }`);
    expect(expired.apiKeys.nodes.map((n: { id: string }) => n.id)).toContain(apiKey.id);
    expect((await t.client(secret).query(VIEWER)).status).toBe(401);
  });

  it("records lastUsedAt without writing on every request", async () => {
    const key = s.apiKey("viewer");
    const c = t.client(key.token);
    const lastUsed = () => t.server.database.db.select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, key.id)).get()!.at;
    await c.data(VIEWER);
    const first = lastUsed();
    expect(first?.getTime()).toBe(t.clock.now().getTime());
    t.clock.advance(1000);
    await c.data(VIEWER);
    expect(lastUsed()?.getTime()).toBe(first?.getTime());
    t.clock.advance(60_000);
    await c.data(VIEWER);
    expect(lastUsed()?.getTime()).toBe(t.clock.now().getTime());
  });
});

describe("revokeApiKey", () => {
  it("stops the key at once, is idempotent, and keeps the key listed as REVOKED", async () => {
    const owner = t.client(t.ownerKey);
    const { secret, apiKey } = (await owner.data(CREATE_KEY, { input: { name: "to revoke", roleIds: [s.roleId("viewer")] } })).createApiKey;
    expect((await t.client(secret).query(VIEWER)).status).toBe(200);
    const revoked = (await owner.data(REVOKE_KEY, { id: apiKey.id })).revokeApiKey;
    expect(revoked).toMatchObject({ id: apiKey.id, status: "REVOKED", revokedAt: t.clock.now().toISOString() });
    expect((await t.client(secret).query(VIEWER)).status).toBe(401);
    t.clock.advance(1000);
    expect((await owner.data(REVOKE_KEY, { id: apiKey.id })).revokeApiKey.revokedAt).toBe(revoked.revokedAt);
    expect(await owner.errorCode(ROTATE_KEY, { id: apiKey.id })).toBe("CONFLICT");
  });

  it("refuses to revoke the last owner key", async () => {
    const other = t.createOrganization("Lonely owner");
    const keyId = t.server.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.organizationId, other.organizationId)).get()!.id;
    expect(await t.client(other.ownerKey).errorCode(REVOKE_KEY, { id: keyId })).toBe("CONFLICT");
    expect((await t.client(other.ownerKey).query(VIEWER)).status).toBe(200);
  });
});

describe("rotateApiKey", () => {
  it("keeps the old secret for the grace period, then never again", async () => {
    const owner = t.client(t.ownerKey);
    const { secret: first, apiKey } = (await owner.data(CREATE_KEY, { input: { name: "rotating", roleIds: [s.roleId("viewer")] } })).createApiKey;
    const second = (await owner.data(ROTATE_KEY, { id: apiKey.id, grace: 3600 })).rotateApiKey.secret;
    expect(second).not.toBe(first);
    expect(second.slice(0, 27)).toBe(first.slice(0, 27));
    expect((await t.client(first).query(VIEWER)).status).toBe(200);
    expect((await t.client(second).query(VIEWER)).status).toBe(200);
    t.clock.advance(3599_000);
    expect((await t.client(first).query(VIEWER)).status).toBe(200);
    t.clock.advance(1000);
    expect((await t.client(first).query(VIEWER)).status).toBe(401);
    expect((await t.client(second).query(VIEWER)).status).toBe(200);
  });

  it("stops the old secret at once by default", async () => {
    const owner = t.client(t.ownerKey);
    const { secret: first, apiKey } = (await owner.data(CREATE_KEY, { input: { name: "rotating now", roleIds: [s.roleId("viewer")] } })).createApiKey;
    const second = (await owner.data(ROTATE_KEY, { id: apiKey.id })).rotateApiKey.secret;
    expect((await t.client(first).query(VIEWER)).status).toBe(401);
    expect((await t.client(second).query(VIEWER)).status).toBe(200);
  });

  it("never has more than two live secrets", async () => {
    const owner = t.client(t.ownerKey);
    const { secret: s1, apiKey } = (await owner.data(CREATE_KEY, { input: { name: "twice", roleIds: [s.roleId("viewer")] } })).createApiKey;
    const s2 = (await owner.data(ROTATE_KEY, { id: apiKey.id, grace: 604800 })).rotateApiKey.secret;
    const s3 = (await owner.data(ROTATE_KEY, { id: apiKey.id, grace: 604800 })).rotateApiKey.secret;
    expect((await t.client(s1).query(VIEWER)).status).toBe(401);
    expect((await t.client(s2).query(VIEWER)).status).toBe(200);
    expect((await t.client(s3).query(VIEWER)).status).toBe(200);
    const rows = t.server.database.db.select().from(apiKeySecrets).where(eq(apiKeySecrets.apiKeyId, apiKey.id)).all();
    expect(rows).toHaveLength(2);
  });

  it("refuses a grace period below 0 or above 604800", async () => {
    const owner = t.client(t.ownerKey);
    const { apiKey } = (await owner.data(CREATE_KEY, { input: { name: "bad grace", roleIds: [] } })).createApiKey;
    expect(await owner.errorCode(ROTATE_KEY, { id: apiKey.id, grace: 604801 })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(ROTATE_KEY, { id: apiKey.id, grace: -1 })).toBe("BAD_USER_INPUT");
  });
});

describe("people's keys", () => {
  it("a key stops when its owner is suspended or deleted", async () => {
    const owner = t.client(t.ownerKey);
    const dave = s.user("admin");
    const erin = s.user("admin");
    const daveKey = s.userKey(dave, "admin");
    const erinKey = s.userKey(erin, "admin");
    expect((await t.client(daveKey.token).query(VIEWER)).status).toBe(200);
    await owner.data(`mutation($id: ID!) { suspendUser(id: $id) { id } }`, { id: dave });
    expect((await t.client(daveKey.token).query(VIEWER)).status).toBe(401);
    const deleted = (await owner.data(`mutation($id: ID!) { deleteUser(id: $id) { revokedApiKeyIds } }`, { id: erin })).deleteUser;
    expect(deleted.revokedApiKeyIds).toEqual([erinKey.id]);
    expect((await t.client(erinKey.token).query(VIEWER)).status).toBe(401);
    expect(await outcome(owner, `query($id: ID!) { node(id: $id) { ... on ApiKey { status owner { id } } } }`, { id: erinKey.id })).toBe("OK");
  });
});

describe("changes made by another process", () => {
  it("take effect on the next request: revocation, suspension and role changes", async () => {
    const person = s.user("admin");
    const personal = s.userKey(person, "admin");
    const service = s.apiKey("viewer");
    const other = new Database(t.server.database.path);
    try {
      const c = t.client(service.token);
      // Warm whatever the server caches.
      for (let i = 0; i < 3; i++) expect((await c.query(VIEWER)).status).toBe(200);
      expect((await t.client(personal.token).query(VIEWER)).status).toBe(200);
      other.prepare("DELETE FROM role_bindings WHERE principal_id = ?").run(service.id);
      expect((await c.data(`{ viewer { permissions } }`)).viewer.permissions).toEqual([]);
      other.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").run(t.clock.now().getTime(), service.id);
      expect((await c.query(VIEWER)).status).toBe(401);
      other.prepare("UPDATE users SET status = 'SUSPENDED' WHERE id = ?").run(person);
      expect((await t.client(personal.token).query(VIEWER)).status).toBe(401);
    } finally {
      other.close();
    }
  });
});
