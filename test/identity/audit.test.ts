// Every identity mutation leaves its audit event: who, what, on which target, and how it
// ended, for successes as well as for denied and failed attempts. Secrets never appear.
import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ASSIGN, CREATE_KEY, CREATE_ROLE, DELETE_ROLE, DELETE_USER, INVITE, REVOKE_BINDING, REVOKE_KEY, ROTATE_KEY, SUSPEND, UPDATE_ROLE, identitySeed } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
let ownerKeyId: string;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
  ownerKeyId = (await t.client(t.ownerKey).data(`{ viewer { principalId } }`)).viewer.principalId;
});
afterAll(() => t.stop());

function lastOf(action: string, actorId: string) {
  return t.server.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.organizationId, t.organizationId), eq(auditEvents.action, action), eq(auditEvents.actorId, actorId)))
    .orderBy(desc(auditEvents.sequence))
    .limit(1)
    .get();
}

describe("audit events of identity mutations", () => {
  it("records each success with actor, action, target and outcome", async () => {
    const owner = t.client(t.ownerKey);
    const ws = s.workspace();
    const expectEvent = (action: string, targetKind: string, targetId: string, workspaceId: string | null = null) => {
      const e = lastOf(action, ownerKeyId);
      expect(e, action).toMatchObject({ actorKind: "API_KEY", actorId: ownerKeyId, action, targetKind, targetId, outcome: "SUCCESS", workspaceId });
      expect(e!.requestId).toMatch(/^req_/);
      expect(e!.ip).toBe("127.0.0.1");
      return e!;
    };

    const created = (await owner.data(CREATE_KEY, { input: { name: "audited", workspaceId: ws, roleIds: [s.roleId("viewer")] } })).createApiKey;
    const createdEvent = expectEvent("createApiKey", "ApiKey", created.apiKey.id, ws);
    expect(createdEvent.details).not.toContain(created.secret.slice(27));
    const rotated = (await owner.data(ROTATE_KEY, { id: created.apiKey.id, grace: 5 })).rotateApiKey;
    const rotatedEvent = expectEvent("rotateApiKey", "ApiKey", created.apiKey.id, ws);
    expect(rotatedEvent.details).not.toContain(rotated.secret.slice(27));
    expect(JSON.parse(rotatedEvent.details!)).toEqual({ gracePeriodSeconds: 5 });
    await owner.data(REVOKE_KEY, { id: created.apiKey.id });
    expectEvent("revokeApiKey", "ApiKey", created.apiKey.id, ws);

    const user = (await owner.data(INVITE, { input: { email: "audited@example.com" } })).inviteUser;
    expectEvent("inviteUser", "User", user.id);
    const role = (await owner.data(CREATE_ROLE, { input: { name: "Audited role", permissions: ["USAGE_READ"] } })).createRole;
    expectEvent("createRole", "Role", role.id);
    await owner.data(UPDATE_ROLE, { input: { id: role.id, description: "changed" } });
    expectEvent("updateRole", "Role", role.id);
    const binding = (await owner.data(ASSIGN, { input: { roleId: role.id, principalKind: "USER", principalId: user.id, workspaceId: ws } })).assignRole;
    expect(JSON.parse(expectEvent("assignRole", "RoleBinding", binding.id, ws).details!)).toEqual({ roleId: role.id, principalKind: "USER", principalId: user.id });
    await owner.data(REVOKE_BINDING, { id: binding.id });
    expectEvent("revokeRoleBinding", "RoleBinding", binding.id, ws);
    await owner.data(DELETE_ROLE, { id: role.id });
    expectEvent("deleteRole", "Role", role.id);
    await owner.data(SUSPEND, { id: user.id });
    expectEvent("suspendUser", "User", user.id);
    await owner.data(DELETE_USER, { id: user.id });
    expectEvent("deleteUser", "User", user.id);
  });

  it("records denied and failed attempts too", async () => {
    const member = s.apiKey("member");
    const m = t.client(member.token);
    const owner = t.client(t.ownerKey);
    const someKey = s.apiKey("viewer").id;
    const someUser = s.user("viewer");
    const denied: [string, string, Record<string, unknown>, string | null][] = [
      ["createApiKey", CREATE_KEY, { input: { name: "x", roleIds: [] } }, null],
      ["revokeApiKey", REVOKE_KEY, { id: someKey }, someKey],
      ["rotateApiKey", ROTATE_KEY, { id: someKey }, someKey],
      ["inviteUser", INVITE, { input: { email: "denied@example.com" } }, null],
      ["suspendUser", SUSPEND, { id: someUser }, someUser],
      ["deleteUser", DELETE_USER, { id: someUser }, someUser],
      ["createRole", CREATE_ROLE, { input: { name: "x", permissions: [] } }, null],
      ["assignRole", ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "API_KEY", principalId: someKey } }, null],
    ];
    for (const [action, doc, vars, targetId] of denied) {
      expect(await m.errorCode(doc, vars)).toBe("FORBIDDEN");
      expect(lastOf(action, member.id), action).toMatchObject({ outcome: "DENIED", actorKind: "API_KEY", targetId });
      expect(JSON.parse(lastOf(action, member.id)!.details!)).toEqual({ code: "FORBIDDEN" });
    }
    const missingRole = newId("Role");
    expect(await owner.errorCode(UPDATE_ROLE, { input: { id: missingRole, name: "x" } })).toBe("NOT_FOUND");
    expect(lastOf("updateRole", ownerKeyId)).toMatchObject({ outcome: "DENIED", targetId: missingRole });
    expect(await owner.errorCode(DELETE_ROLE, { id: s.roleId("owner") })).toBe("FORBIDDEN");
    expect(lastOf("deleteRole", ownerKeyId)).toMatchObject({ outcome: "DENIED", targetId: s.roleId("owner") });
    expect(await owner.errorCode(ROTATE_KEY, { id: someKey, grace: 604801 })).toBe("BAD_USER_INPUT");
    expect(lastOf("rotateApiKey", ownerKeyId)).toMatchObject({ outcome: "FAILURE", targetId: someKey });
    expect(await owner.errorCode(INVITE, { input: { email: "not an email" } })).toBe("BAD_USER_INPUT");
    const failedInvite = lastOf("inviteUser", ownerKeyId)!;
    expect(failedInvite.outcome).toBe("FAILURE");
    expect(failedInvite.details).not.toContain("not an email");
    expect(await owner.errorCode(REVOKE_BINDING, { id: newId("RoleBinding") })).toBe("NOT_FOUND");
    expect(lastOf("revokeRoleBinding", ownerKeyId)).toMatchObject({ outcome: "DENIED" });
    expect((await owner.data(`{ verifyAuditLog { valid } }`)).verifyAuditLog.valid).toBe(true);
  });
});
