import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_ROLES } from "../../src/auth/permission.js";
import { newId } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ASSIGN, CREATE_ROLE, DELETE_ROLE, REVOKE_BINDING, UPDATE_ROLE, identitySeed } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
});
afterAll(() => t.stop());

const ROLES = `{ roles { id name description permissions builtIn } }`;
const EXPLAIN = `query($p: ID, $perm: Permission!, $ws: ID) { explainAccess(principalId: $p, permission: $perm, workspaceId: $ws) { allowed reason matchedRoleBindings { id role { name } workspace { id } principalId } } }`;

describe("built-in roles", () => {
  it("exist with exactly the contract's permissions and cannot be changed or deleted (FORBIDDEN)", async () => {
    const owner = t.client(t.ownerKey);
    const roles = (await owner.data(ROLES)).roles;
    for (const [name, def] of Object.entries(BUILT_IN_ROLES)) {
      const role = roles.find((r: { name: string }) => r.name === name);
      expect(role, name).toMatchObject({ builtIn: true });
      expect([...role.permissions].sort()).toEqual([...def.permissions].sort());
      expect(await owner.errorCode(UPDATE_ROLE, { input: { id: role.id, name: "renamed" } })).toBe("FORBIDDEN");
      expect(await owner.errorCode(UPDATE_ROLE, { input: { id: role.id, permissions: ["ORGANIZATION_READ"] } })).toBe("FORBIDDEN");
      expect(await owner.errorCode(DELETE_ROLE, { id: role.id })).toBe("FORBIDDEN");
    }
  });

  it("are readable with ROLE_READ in any scope, and by no one without it", async () => {
    const ws = s.workspace();
    const viewer = s.apiKey("viewer", ws);
    expect((await t.client(viewer.token).data(ROLES)).roles.length).toBeGreaterThanOrEqual(5);
    const member = s.apiKey("member");
    expect(await t.client(member.token).errorCode(ROLES)).toBe("FORBIDDEN");
  });
});

describe("custom roles", () => {
  it("are created, renamed, changed and deleted; omitted fields stay as they were", async () => {
    const owner = t.client(t.ownerKey);
    const role = (await owner.data(CREATE_ROLE, { input: { name: "Auditor", description: "Reads the log", permissions: ["AUDIT_READ", "ORGANIZATION_READ", "AUDIT_READ"] } })).createRole;
    expect(role).toMatchObject({ name: "Auditor", description: "Reads the log", permissions: ["ORGANIZATION_READ", "AUDIT_READ"], builtIn: false });
    expect(await owner.errorCode(CREATE_ROLE, { input: { name: "Auditor", permissions: [] } })).toBe("CONFLICT");
    expect(await owner.errorCode(CREATE_ROLE, { input: { name: "owner", permissions: [] } })).toBe("CONFLICT");
    expect(await owner.errorCode(CREATE_ROLE, { input: { name: "Owner", permissions: [] } })).toBe("CONFLICT");
    const renamed = (await owner.data(UPDATE_ROLE, { input: { id: role.id, name: "Log reader", description: null, permissions: null } })).updateRole;
    expect(renamed).toMatchObject({ name: "Log reader", description: "Reads the log", permissions: ["ORGANIZATION_READ", "AUDIT_READ"] });
    const changed = (await owner.data(UPDATE_ROLE, { input: { id: role.id, permissions: ["USAGE_READ"] } })).updateRole;
    expect(changed).toMatchObject({ name: "Log reader", permissions: ["USAGE_READ"] });
    expect((await owner.data(`query($id: ID!) { node(id: $id) { ... on Role { name } } }`, { id: role.id })).node.name).toBe("Log reader");
    expect((await owner.data(DELETE_ROLE, { id: role.id })).deleteRole.deletedId).toBe(role.id);
    expect(await owner.errorCode(DELETE_ROLE, { id: role.id })).toBe("NOT_FOUND");
  });

  it("cannot be deleted while bound (CONFLICT)", async () => {
    const owner = t.client(t.ownerKey);
    const role = (await owner.data(CREATE_ROLE, { input: { name: "Bound role", permissions: ["USAGE_READ"] } })).createRole;
    const user = s.user();
    const binding = (await owner.data(ASSIGN, { input: { roleId: role.id, principalKind: "USER", principalId: user } })).assignRole;
    expect(await owner.errorCode(DELETE_ROLE, { id: role.id })).toBe("CONFLICT");
    await owner.data(REVOKE_BINDING, { id: binding.id });
    expect((await owner.data(DELETE_ROLE, { id: role.id })).deleteRole.deletedId).toBe(role.id);
  });

  it("changing a bound role takes effect on the next request of those who hold it", async () => {
    const owner = t.client(t.ownerKey);
    const role = (await owner.data(CREATE_ROLE, { input: { name: "Shifting", permissions: ["USAGE_READ"] } })).createRole;
    const key = s.apiKey("member");
    await owner.data(ASSIGN, { input: { roleId: role.id, principalKind: "API_KEY", principalId: key.id } });
    const c = t.client(key.token);
    expect((await c.data(`{ viewer { permissions } }`)).viewer.permissions).not.toContain("AUDIT_READ");
    await owner.data(UPDATE_ROLE, { input: { id: role.id, permissions: ["AUDIT_READ"] } });
    expect((await c.data(`{ viewer { permissions } }`)).viewer.permissions).toContain("AUDIT_READ");
  });
});

describe("assignRole and revokeRoleBinding", () => {
  it("bind org-wide or in a workspace, refuse duplicates and unknown parts", async () => {
    const owner = t.client(t.ownerKey);
    const ws = s.workspace();
    const user = s.user();
    const input = { roleId: s.roleId("manager"), principalKind: "USER", principalId: user, workspaceId: ws };
    const b = (await owner.data(ASSIGN, { input })).assignRole;
    expect(b).toMatchObject({ role: { name: "manager" }, principalKind: "USER", principalId: user, workspace: { id: ws } });
    expect(await owner.errorCode(ASSIGN, { input })).toBe("CONFLICT");
    const orgWide = (await owner.data(ASSIGN, { input: { ...input, workspaceId: null } })).assignRole;
    expect(orgWide.workspace).toBeNull();
    expect(await owner.errorCode(ASSIGN, { input: { ...input, workspaceId: null } })).toBe("CONFLICT");
    expect(await owner.errorCode(ASSIGN, { input: { ...input, principalId: newId("User") } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(ASSIGN, { input: { ...input, principalKind: "API_KEY" } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(ASSIGN, { input: { ...input, roleId: newId("Role") } })).toBe("NOT_FOUND");
    expect(await owner.errorCode(ASSIGN, { input: { ...input, workspaceId: newId("Workspace") } })).toBe("NOT_FOUND");
    expect((await owner.data(`query($id: ID!) { node(id: $id) { ... on RoleBinding { id } } }`, { id: b.id })).node.id).toBe(b.id);
    expect((await owner.data(REVOKE_BINDING, { id: b.id })).revokeRoleBinding.deletedId).toBe(b.id);
    expect(await owner.errorCode(REVOKE_BINDING, { id: b.id })).toBe("NOT_FOUND");
  });

  it("keeps a workspace key inside its workspace", async () => {
    const owner = t.client(t.ownerKey);
    const ws = s.workspace();
    const key = s.apiKey("viewer", ws);
    expect(await owner.errorCode(ASSIGN, { input: { roleId: s.roleId("member"), principalKind: "API_KEY", principalId: key.id } })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(ASSIGN, { input: { roleId: s.roleId("member"), principalKind: "API_KEY", principalId: key.id, workspaceId: s.workspace() } })).toBe("BAD_USER_INPUT");
    const ok = (await owner.data(ASSIGN, { input: { roleId: s.roleId("member"), principalKind: "API_KEY", principalId: key.id, workspaceId: ws } })).assignRole;
    expect(ok.workspace).toEqual({ id: ws });
  });

  it("a revoked binding stops granting at once", async () => {
    const owner = t.client(t.ownerKey);
    const key = s.apiKey("member");
    const b = (await owner.data(ASSIGN, { input: { roleId: s.roleId("viewer"), principalKind: "API_KEY", principalId: key.id } })).assignRole;
    const c = t.client(key.token);
    expect((await c.data(`{ viewer { permissions } }`)).viewer.permissions).toContain("API_KEY_READ");
    await owner.data(REVOKE_BINDING, { id: b.id });
    expect((await c.data(`{ viewer { permissions } }`)).viewer.permissions).not.toContain("API_KEY_READ");
  });

  it("refuses to demote the last owner (CONFLICT)", async () => {
    const org = t.createOrganization("Demotion");
    const os = identitySeed(t, org.organizationId);
    const c = t.client(org.ownerKey);
    const ownerBinding = (await c.data(`{ viewer { apiKey { roleBindings { id role { name } } } } }`)).viewer.apiKey.roleBindings[0];
    // Someone who holds every permission without the owner role: dominance alone would let it act.
    const all = (await c.data(ROLES)).roles.find((r: { name: string }) => r.name === "owner").permissions;
    const superRole = (await c.data(CREATE_ROLE, { input: { name: "Everything", permissions: all } })).createRole;
    const su = os.apiKey("member");
    await c.data(ASSIGN, { input: { roleId: superRole.id, principalKind: "API_KEY", principalId: su.id } });
    const suClient = t.client(su.token);
    expect(await suClient.errorCode(REVOKE_BINDING, { id: ownerBinding.id })).toBe("CONFLICT");
    // The bootstrap key cannot drop its own role either.
    expect(await c.errorCode(REVOKE_BINDING, { id: ownerBinding.id })).toBe("FORBIDDEN");
    // With a second owner, the first can be demoted; then the second is the last.
    const person = os.user("owner");
    expect((await suClient.data(REVOKE_BINDING, { id: ownerBinding.id })).revokeRoleBinding.deletedId).toBe(ownerBinding.id);
    const personBinding = (await suClient.data(`query($id: ID!) { node(id: $id) { ... on User { roleBindings { id } } } }`, { id: person })).node.roleBindings[0];
    expect(await suClient.errorCode(REVOKE_BINDING, { id: personBinding.id })).toBe("CONFLICT");
    expect(await suClient.errorCode(`mutation($id: ID!) { suspendUser(id: $id) { id } }`, { id: person })).toBe("CONFLICT");
    expect(await suClient.errorCode(`mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`, { id: person })).toBe("CONFLICT");
  });
});

describe("explainAccess", () => {
  it("explains the caller's own access with the bindings that decided it", async () => {
    const ws = s.workspace();
    const key = s.apiKey("manager", ws);
    const c = t.client(key.token);
    const yes = (await c.data(EXPLAIN, { perm: "API_KEY_WRITE", ws })).explainAccess;
    expect(yes.allowed).toBe(true);
    expect(yes.matchedRoleBindings).toEqual([expect.objectContaining({ role: { name: "manager" }, workspace: { id: ws }, principalId: key.id })]);
    expect(yes.reason).toMatch(/Granted in workspace/);
    const no = (await c.data(EXPLAIN, { perm: "API_KEY_WRITE" })).explainAccess;
    expect(no).toMatchObject({ allowed: false, matchedRoleBindings: [] });
    expect(no.reason).toMatch(/No role binding grants API_KEY_WRITE organization-wide/);
  });

  it("explains another principal with USER_READ, says why a person's key is refused", async () => {
    const owner = t.client(t.ownerKey);
    const person = s.user("viewer");
    const key = s.userKey(person, "admin");
    const d = (await owner.data(EXPLAIN, { p: key.id, perm: "API_KEY_WRITE" })).explainAccess;
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/person who owns it does not hold it/);
    const r = (await owner.data(EXPLAIN, { p: key.id, perm: "API_KEY_READ" })).explainAccess;
    expect(r.allowed).toBe(true);
    expect(r.matchedRoleBindings.map((b: { principalId: string }) => b.principalId).sort()).toEqual([key.id, person].sort());
    const member = s.apiKey("member");
    expect(await t.client(member.token).errorCode(EXPLAIN, { p: person, perm: "API_KEY_READ" })).toBe("FORBIDDEN");
    expect(await owner.errorCode(EXPLAIN, { p: newId("User"), perm: "API_KEY_READ" })).toBe("NOT_FOUND");
    expect(await owner.errorCode(EXPLAIN, { p: "nonsense", perm: "API_KEY_READ" })).toBe("NOT_FOUND");
    expect(await owner.errorCode(EXPLAIN, { perm: "API_KEY_READ", ws: newId("Workspace") })).toBe("NOT_FOUND");
    const other = t.createOrganization("Explain other");
    expect(await t.client(other.ownerKey).errorCode(EXPLAIN, { p: person, perm: "API_KEY_READ" })).toBe("NOT_FOUND");
  });
});

describe("viewer.permissions", () => {
  it("lists organization-wide permissions plus those of the workspace asked", async () => {
    const ws = s.workspace();
    const key = s.apiKey("member");
    s.bind(key.id, "API_KEY", "manager", ws);
    const c = t.client(key.token);
    const org = (await c.data(`{ viewer { permissions } }`)).viewer.permissions;
    const inWs = (await c.data(`query($ws: ID) { viewer { permissions(workspaceId: $ws) } }`, { ws })).viewer.permissions;
    expect(org).not.toContain("API_KEY_WRITE");
    expect(inWs).toContain("API_KEY_WRITE");
    expect(inWs).toEqual(expect.arrayContaining(org));
  });
});
