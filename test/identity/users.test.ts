import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditEvents, roleBindings, users } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ASSIGN, DELETE_USER, INVITE, SUSPEND, identitySeed } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
});
afterAll(() => t.stop());

const USERS = `query($first: Int, $after: String) { users(first: $first, after: $after) { totalCount nodes { id email status } pageInfo { hasNextPage endCursor } } }`;

describe("inviteUser", () => {
  it("creates an active person with a normalised email", async () => {
    const owner = t.client(t.ownerKey);
    const user = (await owner.data(INVITE, { input: { email: "  Ada.Lovelace@Example.COM ", name: "Ada" } })).inviteUser;
    expect(user).toMatchObject({ email: "ada.lovelace@example.com", name: "Ada", status: "ACTIVE", roleBindings: [] });
    expect(user.id).toMatch(/^usr_/);
    // The audit event names the person by ID only, so that erasure leaves the chain intact.
    const event = s.lastEvent("inviteUser")!;
    expect(event).toMatchObject({ targetId: user.id, targetKind: "User", outcome: "SUCCESS" });
    // IDs and hashes are left out of the search: random hex and base62 spell "ada" now and then.
    const { id: _id, organizationId: _o, actorId: _a, targetId: _t, requestId: _r, previousHash: _p, hash: _h, ...described } = event as Record<string, unknown>;
    expect(JSON.stringify(described)).not.toMatch(/ada|lovelace|example\.com/i);
  });

  it("refuses a duplicate email in the organization with CONFLICT, but not in another one", async () => {
    const owner = t.client(t.ownerKey);
    await owner.data(INVITE, { input: { email: "dup@example.com" } });
    expect(await owner.errorCode(INVITE, { input: { email: "DUP@example.com" } })).toBe("CONFLICT");
    const other = t.createOrganization("Other people");
    expect((await t.client(other.ownerKey).data(INVITE, { input: { email: "dup@example.com" } })).inviteUser.email).toBe("dup@example.com");
  });

  it("refuses invalid emails without echoing them", async () => {
    const owner = t.client(t.ownerKey);
    for (const email of ["", "plain", "a@b", "a b@example.com", "x@-example.com", `${"a".repeat(250)}@example.com`, "a@exa\nmple.com"]) {
      const res = await owner.query(INVITE, { input: { email } });
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("BAD_USER_INPUT");
      if (email.length > 3) expect(res.text).not.toContain(email.trim());
    }
  });
});

describe("users list", () => {
  it("pages newest first with a total", async () => {
    const owner = t.client(t.ownerKey);
    const org = t.createOrganization("Paging");
    const c = t.client(org.ownerKey);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      t.clock.advance(1000);
      ids.push((await c.data(INVITE, { input: { email: `p${i}@example.com` } })).inviteUser.id);
    }
    const p1 = (await c.data(USERS, { first: 2 })).users;
    expect(p1.totalCount).toBe(3);
    expect(p1.nodes.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[1]]);
    const p2 = (await c.data(USERS, { first: 2, after: p1.pageInfo.endCursor })).users;
    expect(p2.nodes.map((n: { id: string }) => n.id)).toEqual([ids[0]]);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    expect(await owner.errorCode(USERS, { first: 0 })).toBe("BAD_USER_INPUT");
  });

  it("shows a person's role bindings", async () => {
    const owner = t.client(t.ownerKey);
    const ws = s.workspace();
    const user = (await owner.data(INVITE, { input: { email: "bound@example.com" } })).inviteUser;
    const binding = (await owner.data(ASSIGN, { input: { roleId: s.roleId("member"), principalKind: "USER", principalId: user.id, workspaceId: ws } })).assignRole;
    const read = await owner.data(`query($id: ID!) { node(id: $id) { ... on User { roleBindings { id role { name } workspace { id } } } } }`, { id: user.id });
    expect(read.node.roleBindings).toEqual([{ id: binding.id, role: { name: "member" }, workspace: { id: ws } }]);
  });
});

describe("suspendUser and deleteUser", () => {
  it("suspends a person and is idempotent", async () => {
    const owner = t.client(t.ownerKey);
    const u = s.user("member");
    expect((await owner.data(SUSPEND, { id: u })).suspendUser.status).toBe("SUSPENDED");
    expect((await owner.data(SUSPEND, { id: u })).suspendUser.status).toBe("SUSPENDED");
    expect(await owner.errorCode(SUSPEND, { id: newId("User") })).toBe("NOT_FOUND");
  });

  it("erases the person: row, bindings and personal data go, keys are revoked, audit keeps the ID only", async () => {
    const owner = t.client(t.ownerKey);
    const db = t.server.database.db;
    const user = (await owner.data(INVITE, { input: { email: "erase.me@example.com", name: "Erase Me" } })).inviteUser;
    await owner.data(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "USER", principalId: user.id } });
    const k1 = s.userKey(user.id, "viewer");
    const k2 = s.userKey(user.id, "viewer");
    // The person acts once, so that audit events name them.
    await t.client(k1.token).query(`mutation { revokeApiKey(id: "${k2.id}") { id } }`);
    const result = (await owner.data(DELETE_USER, { id: user.id })).deleteUser;
    expect(result.deletedUserId).toBe(user.id);
    expect(result.revokedApiKeyIds.sort()).toEqual([k1.id, k2.id].sort());
    expect(db.select().from(users).where(eq(users.id, user.id)).get()).toBeUndefined();
    expect(db.select().from(roleBindings).where(eq(roleBindings.principalId, user.id)).all()).toEqual([]);
    const keys = db.select().from(apiKeys).where(eq(apiKeys.id, k1.id)).all();
    expect(keys[0].revokedAt).not.toBeNull();
    const audit = JSON.stringify(db.select().from(auditEvents).all());
    expect(audit).not.toContain("erase.me");
    expect(audit).not.toContain("Erase Me");
    expect(audit).toContain(user.id);
    expect(await owner.errorCode(`query($id: ID!) { node(id: $id) { id } }`, { id: user.id })).toBe("NOT_FOUND");
    expect(await owner.errorCode(DELETE_USER, { id: user.id })).toBe("NOT_FOUND");
    const verified = await owner.data(`{ verifyAuditLog { valid } }`);
    expect(verified.verifyAuditLog.valid).toBe(true);
  });

  it("the last owner cannot be suspended or deleted", async () => {
    const org = t.createOrganization("Owner person");
    const os = identitySeed(t, org.organizationId);
    const boss = os.user("owner");
    const ownerKeyId = t.server.database.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.organizationId, org.organizationId)).get()!.id;
    const c = t.client(org.ownerKey);
    // Two owners: the person can be suspended, after which the key is the last.
    expect((await c.data(SUSPEND, { id: boss })).suspendUser.status).toBe("SUSPENDED");
    expect(await c.errorCode(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: ownerKeyId })).toBe("CONFLICT");
    const boss2 = os.user("owner");
    const bossKey = os.userKey(boss2, "owner");
    // With the bootstrap key gone, boss2 (and their key) are the only owners left.
    expect((await t.client(bossKey.token).data(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: ownerKeyId })).revokeApiKey.status).toBe("REVOKED");
    expect(await t.client(bossKey.token).errorCode(SUSPEND, { id: boss2 })).toBe("CONFLICT");
    expect(await t.client(bossKey.token).errorCode(DELETE_USER, { id: boss2 })).toBe("CONFLICT");
  });
});
