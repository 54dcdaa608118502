// Who may do what with policies: each built-in role organization-wide and in one workspace,
// exact scopes for attach and detach, dominance over API keys, a key that tries to shed its
// own policies, another organization through every path, and the audit of each denial.
import { and, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuiltInRoleName } from "../../src/auth/permission.js";
import { auditEvents, roleBindings as bindingsTable, roles as rolesTable } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ATTACH, CREATE, customKey, DELETE, DETACH, insertRoute, KEY_POLICIES, lastEvent, LIST, NODE, UPDATE } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof seed>;
beforeAll(async () => {
  t = await startServer();
  s = seed(t);
});
afterAll(() => t.stop());

const owner = () => t.client(t.ownerKey);

async function code(token: string, doc: string, vars: Record<string, unknown>): Promise<string> {
  const res = await t.client(token).query(doc, vars);
  return res.body.errors?.[0]?.extensions.code ?? "OK";
}

async function policy(name: string, workspaceId: string | null = null): Promise<string> {
  return (await owner().data(CREATE, { input: { name, workspaceId } })).createPolicy.id;
}

const ROLES: BuiltInRoleName[] = ["owner", "admin", "manager", "member", "viewer"];
const WRITES = new Set<BuiltInRoleName>(["owner", "admin", "manager"]);

describe("policies: each built-in role", () => {
  it("organization-wide: every role reads, only owner, admin and manager write", async () => {
    const ws = s.workspace("roles-org");
    for (const role of ROLES) {
      const key = s.apiKey(role);
      const orgPolicy = await policy(`org ${role}`);
      const wsPolicy = await policy(`ws ${role}`, ws);
      const target = s.apiKey("viewer", ws).id;
      const expected = WRITES.has(role) ? "OK" : "FORBIDDEN";
      expect(await code(key.token, NODE, { id: orgPolicy }), role).toBe("OK");
      expect((await t.client(key.token).data(LIST, { first: 100 })).policies.nodes.map((n: { id: string }) => n.id), role).toEqual(expect.arrayContaining([orgPolicy, wsPolicy]));
      expect(await code(key.token, CREATE, { input: { name: "new" } }), role).toBe(expected);
      expect(await code(key.token, CREATE, { input: { name: "new", workspaceId: ws } }), role).toBe(expected);
      expect(await code(key.token, UPDATE, { input: { id: orgPolicy, name: "changed" } }), role).toBe(expected);
      expect(await code(key.token, ATTACH, { p: orgPolicy, t: target }), role).toBe(expected);
      expect(await code(key.token, ATTACH, { p: wsPolicy, t: ws }), role).toBe(expected);
      expect(await code(key.token, DETACH, { p: orgPolicy, t: target }), role).toBe(expected);
      expect(await code(key.token, DELETE, { id: wsPolicy }), role).toBe(expected);
    }
  });

  it("in one workspace: reads and writes that workspace's policies only; organization policies and other workspaces do not exist", async () => {
    const ws = s.workspace("roles-ws");
    const other = s.workspace("roles-other");
    for (const role of ROLES) {
      const key = s.apiKey(role, ws);
      const orgPolicy = await policy(`org ${role}`);
      const mine = await policy(`mine ${role}`, ws);
      const theirs = await policy(`theirs ${role}`, other);
      const list = (await t.client(key.token).data(LIST, { first: 100 })).policies;
      expect(list.nodes.map((n: { id: string }) => n.id), role).toContain(mine);
      expect(list.nodes.map((n: { id: string }) => n.id), role).not.toContain(orgPolicy);
      expect(list.nodes.map((n: { id: string }) => n.id), role).not.toContain(theirs);
      expect(list.nodes.every((n: { workspace: { id: string } | null }) => n.workspace?.id === ws), role).toBe(true);
      expect(await code(key.token, NODE, { id: orgPolicy }), role).toBe("NOT_FOUND");
      expect(await code(key.token, NODE, { id: theirs }), role).toBe("NOT_FOUND");
      expect(await code(key.token, NODE, { id: mine }), role).toBe("OK");
      expect(await code(key.token, LIST, { filter: { workspaceId: other } }), role).toBe("NOT_FOUND");

      const writes = WRITES.has(role);
      // The shield refuses roles without POLICY_WRITE anywhere, before the service is asked.
      const denied = writes ? "NOT_FOUND" : "FORBIDDEN";
      expect(await code(key.token, CREATE, { input: { name: "org" } }), role).toBe("FORBIDDEN");
      expect(await code(key.token, CREATE, { input: { name: "x", workspaceId: other } }), role).toBe(denied);
      expect(await code(key.token, UPDATE, { input: { id: orgPolicy, name: "x" } }), role).toBe(denied);
      expect(await code(key.token, UPDATE, { input: { id: theirs, name: "x" } }), role).toBe(denied);
      expect(await code(key.token, DELETE, { id: theirs }), role).toBe(denied);
      expect(await code(key.token, ATTACH, { p: mine, t: s.apiKey("viewer", other).id }), role).toBe(writes ? "NOT_FOUND" : "FORBIDDEN");

      const expected = writes ? "OK" : "FORBIDDEN";
      expect(await code(key.token, CREATE, { input: { name: "x", workspaceId: ws } }), role).toBe(expected);
      expect(await code(key.token, UPDATE, { input: { id: mine, name: "x" } }), role).toBe(expected);
      const target = s.apiKey("viewer", ws).id;
      expect(await code(key.token, ATTACH, { p: mine, t: target }), role).toBe(expected);
      expect(await code(key.token, DETACH, { p: mine, t: target }), role).toBe(expected);
      expect(await code(key.token, DELETE, { id: mine }), role).toBe(expected);
    }
  });
});

describe("policies: exact scopes", () => {
  it("attaching needs POLICY_WRITE where the target lives; detaching needs it where the policy lives", async () => {
    const ws = s.workspace("scopes");
    const orgPolicy = await policy("org scoped");
    // Reads everything involved, writes policies nowhere.
    const caller = customKey(t, ["POLICY_READ", "API_KEY_READ", "VIRTUAL_KEY_READ", "ROUTE_READ", "WORKSPACE_READ"]);
    const writer = customKeyWithWorkspaceWrite(ws);
    // Keys holding nothing: dominance over them is no obstacle here.
    const wsKey = customKey(t, [], ws).id;
    const orgKey = customKey(t, []).id;
    expect(await code(writer, ATTACH, { p: orgPolicy, t: wsKey })).toBe("OK");
    expect(await code(writer, ATTACH, { p: orgPolicy, t: ws })).toBe("OK");
    expect(await code(writer, ATTACH, { p: orgPolicy, t: insertRoute(t, ws) })).toBe("OK");
    expect(await code(writer, ATTACH, { p: orgPolicy, t: orgKey })).toBe("FORBIDDEN");
    expect(await code(writer, ATTACH, { p: orgPolicy, t: insertRoute(t) })).toBe("FORBIDDEN");
    expect(await code(writer, DETACH, { p: orgPolicy, t: wsKey })).toBe("FORBIDDEN");
    expect(await code(writer, UPDATE, { input: { id: orgPolicy, name: "x" } })).toBe("FORBIDDEN");
    expect(await code(writer, DELETE, { id: orgPolicy })).toBe("FORBIDDEN");
    expect(await code(caller.token, ATTACH, { p: orgPolicy, t: wsKey })).toBe("FORBIDDEN");
    expect((await owner().data(KEY_POLICIES, { id: wsKey })).node.policies).toEqual([{ id: orgPolicy, workspace: null }]);
  });

  it("a target the caller cannot read is NOT_FOUND, like one that does not exist", async () => {
    const p = await policy("unreadable targets");
    const blind = customKey(t, ["POLICY_READ", "POLICY_WRITE"]);
    const ws = s.workspace("blind");
    for (const target of [s.apiKey("viewer").id, insertRoute(t), ws]) {
      // The workspace is readable through POLICY_WRITE there; keys and routes need their own read permission.
      const expected = target === ws ? "OK" : "NOT_FOUND";
      expect(await code(blind.token, ATTACH, { p, t: target }), target).toBe(expected);
    }
    // Only in another workspace: the workspace named is NOT_FOUND, not a scope mismatch that would confirm it exists.
    const elsewhere = s.workspace("elsewhere");
    const local = customKey(t, ["POLICY_READ", "POLICY_WRITE"], elsewhere);
    const localPolicy = await policy("local", elsewhere);
    expect(await code(local.token, ATTACH, { p: localPolicy, t: ws })).toBe("NOT_FOUND");
    expect(await code(local.token, ATTACH, { p: localPolicy, t: newId("Workspace") })).toBe("NOT_FOUND");
    expect(await code(local.token, ATTACH, { p: localPolicy, t: elsewhere })).toBe("OK");
  });

  it("policies named when a key is created follow the same rules as attachPolicy", async () => {
    const a = s.workspace("create-a");
    const b = s.workspace("create-b");
    const inB = await policy("in b", b);
    const orgPolicy = await policy("org at creation");
    const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id policies { id } } } }`;
    const CREATE_VK = `mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id policies { id } } }`;
    const res = await owner().query(CREATE_KEY, { input: { name: "k", workspaceId: a, roleIds: [], policyIds: [inB] } });
    expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "policyIds" });
    const keyWriter = customKey(t, ["API_KEY_WRITE", "API_KEY_READ", "POLICY_READ", "VIRTUAL_KEY_WRITE", "VIRTUAL_KEY_READ"]);
    expect(await code(keyWriter.token, CREATE_KEY, { input: { name: "k", roleIds: [], policyIds: [orgPolicy] } })).toBe("FORBIDDEN");
    expect(await code(keyWriter.token, CREATE_VK, { input: { name: "v", provider: "OPENAI", secret: "sk-" + "z".repeat(40), policyIds: [orgPolicy] } })).toBe("FORBIDDEN");
    expect((await owner().data(CREATE_KEY, { input: { name: "k", workspaceId: b, roleIds: [], policyIds: [inB, orgPolicy] } })).createApiKey.apiKey.policies).toHaveLength(2);
  });

  it("attaching to or detaching from an API key needs every permission that key holds", async () => {
    const manager = s.apiKey("manager");
    const p = await policy("dominance");
    const ownerKey = s.apiKey("owner").id;
    const viewerKey = s.apiKey("viewer").id;
    expect(await code(manager.token, ATTACH, { p, t: ownerKey })).toBe("FORBIDDEN");
    await owner().data(ATTACH, { p, t: ownerKey });
    expect(await code(manager.token, DETACH, { p, t: ownerKey })).toBe("FORBIDDEN");
    expect(await code(manager.token, ATTACH, { p, t: viewerKey })).toBe("OK");
    expect(await code(manager.token, DETACH, { p, t: viewerKey })).toBe("OK");
  });
});

/** Reads policies and their targets organization-wide; POLICY_WRITE in one workspace only. */
function customKeyWithWorkspaceWrite(workspaceId: string): string {
  const key = customKey(t, ["POLICY_READ", "API_KEY_READ", "ROUTE_READ", "WORKSPACE_READ"]);
  const { db } = t.server.database;
  const at = t.clock.now();
  const roleId = newId("Role");
  db.insert(rolesTable).values({ id: roleId, organizationId: t.organizationId, name: `ws-writer-${roleId}`, description: null, permissions: ["POLICY_WRITE"], builtIn: false, createdAt: at, updatedAt: at }).run();
  db.insert(bindingsTable).values({ id: newId("RoleBinding"), organizationId: t.organizationId, roleId, principalKind: "API_KEY", principalId: key.id, workspaceId, createdAt: at }).run();
  return key.token;
}

describe("policies: a key cannot change the policies on itself", () => {
  it("cannot attach to itself, nor detach from itself or its workspace", async () => {
    const ws = s.workspace("self-ws");
    const key = s.apiKey("admin", ws);
    const orgKey = s.apiKey("admin");
    const p = await policy("self", ws);
    const q = await policy("org self");
    expect(await code(key.token, ATTACH, { p, t: key.id })).toBe("FORBIDDEN");
    expect(await code(orgKey.token, ATTACH, { p: q, t: orgKey.id })).toBe("FORBIDDEN");
    expect(await code(key.token, DETACH, { p, t: key.id })).toBe("FORBIDDEN");
    expect(await code(key.token, DETACH, { p, t: ws })).toBe("FORBIDDEN");
    // Restricting its own workspace further is allowed.
    expect(await code(key.token, ATTACH, { p, t: ws })).toBe("OK");
    expect(await code(key.token, DETACH, { p, t: ws })).toBe("FORBIDDEN");
    expect((await owner().data(DETACH, { p, t: ws })).detachPolicy.id).toBe(p);
  });

  it("cannot change, delete or detach anywhere a policy attached to itself or its workspace, even through a key it made", async () => {
    const ws = s.workspace("bound-ws");
    const key = s.apiKey("admin");
    const wsKey = s.apiKey("manager", ws);
    const onKey = await policy("on the key");
    const onWs = await policy("on the workspace", ws);
    await owner().data(ATTACH, { p: onKey, t: key.id });
    await owner().data(ATTACH, { p: onWs, t: ws });

    expect(await code(key.token, UPDATE, { input: { id: onKey, removeRateLimit: true } })).toBe("FORBIDDEN");
    expect(await code(key.token, DELETE, { id: onKey })).toBe("FORBIDDEN");
    expect(await code(wsKey.token, UPDATE, { input: { id: onWs, name: "looser" } })).toBe("FORBIDDEN");
    expect(await code(wsKey.token, DELETE, { id: onWs })).toBe("FORBIDDEN");

    // A key made by the key carries its policies; shedding them there is refused too.
    const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id policies { id } } } }`;
    const child = (await t.client(key.token).data(CREATE_KEY, { input: { name: "child", roleIds: [s.roleId("viewer")] } })).createApiKey.apiKey;
    expect(child.policies).toEqual([{ id: onKey }]);
    expect(await code(key.token, DETACH, { p: onKey, t: child.id })).toBe("FORBIDDEN");
    expect((await owner().data(KEY_POLICIES, { id: child.id })).node.policies).toEqual([{ id: onKey, workspace: null }]);

    // Someone else may.
    expect(await code(t.ownerKey, UPDATE, { input: { id: onKey, name: "owner renamed" } })).toBe("OK");
    expect(await code(t.ownerKey, DETACH, { p: onKey, t: child.id })).toBe("OK");
    expect(await code(t.ownerKey, DELETE, { id: onWs })).toBe("OK");
  });
});

describe("policies: another organization", () => {
  it("is NOT_FOUND through every path, exactly like a made-up ID", async () => {
    const other = t.createOrganization("Policy tenant");
    const b = seed(t, other.organizationId);
    const them = t.client(other.ownerKey);
    const theirWs = b.workspace("their-ws");
    const theirs = {
      policy: (await them.data(CREATE, { input: { name: "their policy", workspaceId: null } })).createPolicy.id,
      apiKey: b.apiKey("viewer").id,
      virtualKey: (await them.data(`mutation($i: CreateVirtualKeyInput!) { createVirtualKey(input: $i) { id } }`, { i: { name: "vk", provider: "OPENAI", secret: "sk-" + "y".repeat(40) } })).createVirtualKey.id,
      route: insertRoute(t, null, other.organizationId),
      workspace: theirWs,
    };
    const madeUp = { policy: newId("Policy"), apiKey: newId("ApiKey"), virtualKey: newId("VirtualKey"), route: newId("Route"), workspace: newId("Workspace") };
    const mine = await policy("mine");

    async function same(doc: string, vars: (id: string) => Record<string, unknown>, what: keyof typeof theirs) {
      const answer = async (id: string) => {
        const res = await owner().query(doc, vars(id));
        const e = res.body.errors?.[0];
        expect(e, res.text).toBeDefined();
        return { code: e!.extensions.code, message: e!.message };
      };
      const foreign = await answer(theirs[what]);
      expect(foreign.code, `${what}: ${doc}`).toBe("NOT_FOUND");
      expect(foreign).toEqual(await answer(madeUp[what]));
    }
    await same(NODE, (id) => ({ id }), "policy");
    await same(UPDATE, (id) => ({ input: { id, name: "mine now" } }), "policy");
    await same(DELETE, (id) => ({ id }), "policy");
    await same(ATTACH, (p) => ({ p, t: s.apiKey("viewer").id }), "policy");
    await same(DETACH, (p) => ({ p, t: s.apiKey("viewer").id }), "policy");
    for (const target of ["apiKey", "virtualKey", "route", "workspace"] as const) {
      await same(ATTACH, (id) => ({ p: mine, t: id }), target);
      await same(DETACH, (id) => ({ p: mine, t: id }), target);
    }
    await same(LIST, (ws) => ({ filter: { workspaceId: ws } }), "workspace");
    await same(CREATE, (ws) => ({ input: { name: "x", workspaceId: ws } }), "workspace");
    const list = (await owner().data(LIST, { first: 100 })).policies;
    expect(list.nodes.map((n: { id: string }) => n.id)).not.toContain(theirs.policy);
    // Their side is untouched, and they cannot reach ours either.
    expect((await them.data(NODE, { id: theirs.policy })).node.name).toBe("their policy");
    expect(await t.client(other.ownerKey).errorCode(NODE, { id: mine })).toBe("NOT_FOUND");
    expect(await t.client(other.ownerKey).errorCode(ATTACH, { p: theirs.policy, t: s.apiKey("viewer").id })).toBe("NOT_FOUND");
  });
});

describe("policies: audit of denials", () => {
  it("records a denied or failed attempt with its code and the policy as target", async () => {
    const key = s.apiKey("admin");
    const p = await policy("audited");
    await owner().data(ATTACH, { p, t: key.id });
    expect(await code(key.token, DETACH, { p, t: key.id })).toBe("FORBIDDEN");
    const denied = lastEvent(t, "detachPolicy", p)!;
    expect(denied).toMatchObject({ outcome: "DENIED", actorId: key.id, targetKind: "Policy", targetId: p });
    expect(JSON.parse(denied.details!)).toEqual({ code: "FORBIDDEN" });

    const viewer = s.apiKey("viewer");
    expect(await code(viewer.token, UPDATE, { input: { id: p, name: "x" } })).toBe("FORBIDDEN");
    expect(lastEvent(t, "updatePolicy", p)).toMatchObject({ outcome: "DENIED", actorId: viewer.id });

    expect(await code(t.ownerKey, UPDATE, { input: { id: p, budget: { limitUsd: -1, period: "DAY" } } })).toBe("BAD_USER_INPUT");
    expect(lastEvent(t, "updatePolicy", p)).toMatchObject({ outcome: "FAILURE" });
    expect(JSON.parse(lastEvent(t, "updatePolicy", p)!.details!)).toEqual({ code: "BAD_USER_INPUT" });

    const ghost = newId("Policy");
    expect(await code(t.ownerKey, DELETE, { id: ghost })).toBe("NOT_FOUND");
    expect(lastEvent(t, "deletePolicy", ghost)).toMatchObject({ outcome: "DENIED" });

    const create = t.server.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, t.organizationId), eq(auditEvents.action, "createPolicy"), eq(auditEvents.actorId, viewer.id)))
      .orderBy(desc(auditEvents.sequence))
      .get();
    expect(create).toBeUndefined();
    expect(await code(viewer.token, CREATE, { input: { name: "x" } })).toBe("FORBIDDEN");
    expect(
      t.server.database.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.organizationId, t.organizationId), eq(auditEvents.action, "createPolicy"), eq(auditEvents.actorId, viewer.id)))
        .get(),
    ).toMatchObject({ outcome: "DENIED", targetId: null });
  });
});
