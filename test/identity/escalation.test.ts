// Every role tries to get above itself: a key, a binding or a role update carrying what it
// does not hold, and rotating, revoking, demoting, suspending or deleting a principal that
// holds more. Every attempt answers FORBIDDEN and changes nothing.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuiltInRoleName } from "../../src/auth/permission.js";
import { apiKeys, roleBindings, users } from "../../src/db/schema.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ASSIGN, CREATE_KEY, CREATE_ROLE, DELETE_USER, REVOKE_BINDING, REVOKE_KEY, ROTATE_KEY, SUSPEND, UPDATE_ROLE, identitySeed, outcome } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
});
afterAll(() => t.stop());

const VIEWER = `{ viewer { principalId } }`;

describe.each(["admin", "manager", "member", "viewer"] as BuiltInRoleName[])("%s", (role) => {
  it("cannot create a key, a binding or a role update above itself", async () => {
    const owner = t.client(t.ownerKey);
    const me = s.apiKey(role);
    const c = t.client(me.token);
    expect(await c.errorCode(CREATE_KEY, { input: { name: "up", roleIds: [s.roleId("owner")] } })).toBe("FORBIDDEN");
    const target = s.apiKey("member");
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("owner"), principalKind: "API_KEY", principalId: target.id } })).toBe("FORBIDDEN");
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("owner"), principalKind: "API_KEY", principalId: me.id } })).toBe("FORBIDDEN");
    expect(await c.errorCode(CREATE_ROLE, { input: { name: `${role} up`, permissions: ["MASTER_KEY_ROTATE"] } })).toBe("FORBIDDEN");
    const custom = (await owner.data(CREATE_ROLE, { input: { name: `${role} custom`, permissions: ["USAGE_READ"] } })).createRole;
    expect(await c.errorCode(UPDATE_ROLE, { input: { id: custom.id, permissions: ["USAGE_READ", "MASTER_KEY_ROTATE"] } })).toBe("FORBIDDEN");
    // Nothing changed.
    expect(t.server.database.db.select().from(roleBindings).where(eq(roleBindings.principalId, target.id)).all()).toHaveLength(1);
    expect((await owner.data(`query($id: ID!) { node(id: $id) { ... on Role { permissions } } }`, { id: custom.id })).node.permissions).toEqual(["USAGE_READ"]);
  });

  it("cannot rotate, revoke, demote, suspend or delete a principal above itself", async () => {
    const c = t.client(s.apiKey(role).token);
    const boss = s.user("owner");
    const bossBinding = t.server.database.db.select().from(roleBindings).where(eq(roleBindings.principalId, boss)).get()!;
    const bossKey = s.userKey(boss, "owner");
    const bossViewerKey = s.userKey(boss, "viewer");
    const serviceOwner = s.apiKey("owner");
    for (const id of [bossKey.id, bossViewerKey.id, serviceOwner.id]) {
      expect(await c.errorCode(ROTATE_KEY, { id, grace: 0 }), id).toBe("FORBIDDEN");
      expect(await c.errorCode(REVOKE_KEY, { id }), id).toBe("FORBIDDEN");
    }
    expect(await c.errorCode(REVOKE_BINDING, { id: bossBinding.id })).toBe("FORBIDDEN");
    expect(await c.errorCode(SUSPEND, { id: boss })).toBe("FORBIDDEN");
    expect(await c.errorCode(DELETE_USER, { id: boss })).toBe("FORBIDDEN");
    expect(await c.errorCode(CREATE_KEY, { input: { name: "in the boss's name", roleIds: [], ownerUserId: boss } })).toBe("FORBIDDEN");
    // Nothing changed.
    for (const k of [bossKey, bossViewerKey, serviceOwner]) expect((await t.client(k.token).query(VIEWER)).status).toBe(200);
    expect(t.server.database.db.select().from(users).where(eq(users.id, boss)).get()?.status).toBe("ACTIVE");
    expect(t.server.database.db.select().from(roleBindings).where(eq(roleBindings.id, bossBinding.id)).get()).toBeDefined();
  });
});

describe("finer escalation paths", () => {
  it("a workspace manager grants at most what it holds, and only in its workspace", async () => {
    const ws = s.workspace();
    const elsewhere = s.workspace();
    const c = t.client(s.apiKey("manager", ws).token);
    expect(await c.errorCode(CREATE_KEY, { input: { name: "admin key", workspaceId: ws, roleIds: [s.roleId("admin")] } })).toBe("FORBIDDEN");
    expect(await c.errorCode(CREATE_KEY, { input: { name: "org key", roleIds: [s.roleId("viewer")] } })).toBe("FORBIDDEN");
    expect(await c.errorCode(CREATE_KEY, { input: { name: "other ws", workspaceId: elsewhere, roleIds: [] } })).toBe("NOT_FOUND");
    const made = (await c.data(CREATE_KEY, { input: { name: "ok", workspaceId: ws, roleIds: [s.roleId("manager")] } })).createApiKey.apiKey;
    const person = s.user();
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("manager"), principalKind: "USER", principalId: person } })).toBe("FORBIDDEN");
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("admin"), principalKind: "USER", principalId: person, workspaceId: ws } })).toBe("FORBIDDEN");
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "USER", principalId: person, workspaceId: elsewhere } })).toBe("NOT_FOUND");
    expect(await outcome(c, ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "USER", principalId: person, workspaceId: ws } })).toBe("OK");
    expect(await outcome(c, ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "API_KEY", principalId: made.id, workspaceId: ws } })).toBe("OK");
    // Roles are organization objects: defining them needs ROLE_WRITE organization-wide.
    expect(await c.errorCode(CREATE_ROLE, { input: { name: "ws role", permissions: [] } })).toBe("FORBIDDEN");
  });

  it("no principal changes its own roles", async () => {
    const ownerClient = t.client(t.ownerKey);
    const person = s.user("admin");
    const key = s.userKey(person, "admin");
    const c = t.client(key.token);
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "API_KEY", principalId: key.id } })).toBe("FORBIDDEN");
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "USER", principalId: person } })).toBe("FORBIDDEN");
    const own = t.server.database.db.select().from(roleBindings).where(eq(roleBindings.principalId, key.id)).get()!;
    expect(await c.errorCode(REVOKE_BINDING, { id: own.id })).toBe("FORBIDDEN");
    const held = (await ownerClient.data(CREATE_ROLE, { input: { name: "held by admin", permissions: ["USAGE_READ"] } })).createRole;
    await ownerClient.data(ASSIGN, { input: { roleId: held.id, principalKind: "USER", principalId: person } });
    expect(await c.errorCode(UPDATE_ROLE, { input: { id: held.id, permissions: ["USAGE_READ", "AUDIT_READ"] } })).toBe("FORBIDDEN");
  });

  it("changing a role held by someone above needs dominance over them", async () => {
    const ownerClient = t.client(t.ownerKey);
    const role = (await ownerClient.data(CREATE_ROLE, { input: { name: "Reporter", permissions: ["USAGE_READ"] } })).createRole;
    await ownerClient.data(ASSIGN, { input: { roleId: role.id, principalKind: "USER", principalId: s.user("owner") } });
    const admin = t.client(s.apiKey("admin").token);
    expect(await admin.errorCode(UPDATE_ROLE, { input: { id: role.id, permissions: [] } })).toBe("FORBIDDEN");
    // A rename changes nobody's permissions.
    expect(await outcome(admin, UPDATE_ROLE, { input: { id: role.id, name: "Usage reporter" } })).toBe("OK");
  });

  it("a person's weaker key cannot take over the person's stronger key, but may revoke it", async () => {
    const person = s.user("admin");
    const weak = s.userKey(person, "manager");
    const strong = s.userKey(person, "admin");
    const c = t.client(weak.token);
    expect(await c.errorCode(ROTATE_KEY, { id: strong.id, grace: 0 })).toBe("FORBIDDEN");
    expect((await t.client(strong.token).query(VIEWER)).status).toBe(200);
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "API_KEY", principalId: strong.id } })).toBe("FORBIDDEN");
    expect(await outcome(c, REVOKE_KEY, { id: strong.id })).toBe("OK");
    // Rotating itself hands it nothing new.
    expect(await outcome(c, ROTATE_KEY, { id: weak.id, grace: 0 })).toBe("OK");
  });

  it("a person's key cannot grant what the person has lost", async () => {
    const person = s.user("viewer");
    const key = s.userKey(person, "admin");
    const c = t.client(key.token);
    expect(await c.errorCode(CREATE_KEY, { input: { name: "x", roleIds: [s.roleId("viewer")] } })).toBe("FORBIDDEN");
    expect(await c.errorCode(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "API_KEY", principalId: s.apiKey("member").id } })).toBe("FORBIDDEN");
  });

  it("an admin can act on those it dominates", async () => {
    const admin = t.client(s.apiKey("admin").token);
    const person = s.user("manager");
    const key = s.userKey(person, "manager");
    expect(await outcome(admin, ROTATE_KEY, { id: key.id, grace: 60 })).toBe("OK");
    expect(await outcome(admin, SUSPEND, { id: person })).toBe("OK");
    expect(await outcome(admin, DELETE_USER, { id: person })).toBe("OK");
    expect(t.server.database.db.select().from(apiKeys).where(eq(apiKeys.id, key.id)).get()?.revokedAt).not.toBeNull();
  });
});
