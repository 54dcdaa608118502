// Two organizations: every object of one does not exist for the other, whatever path names
// it (an ID argument, node, a filter, a role or policy argument), and the answer is the same
// NOT_FOUND a made-up ID of the same kind gets, so nothing tells that it exists.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { auditEvents, policies } from "../../src/db/schema.js";
import { newId, type IdKind } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ASSIGN, CREATE_KEY, CREATE_ROLE, DELETE_ROLE, DELETE_USER, INVITE, REVOKE_BINDING, REVOKE_KEY, ROTATE_KEY, SUSPEND, UPDATE_ROLE, identitySeed } from "./helpers.js";

let t: TestServer;
let other: { organizationId: string; ownerKey: string };
const theirs = {} as Record<"workspace" | "user" | "role" | "binding" | "apiKey" | "auditEvent" | "policy", string>;

beforeAll(async () => {
  t = await startServer();
  other = t.createOrganization("Tenant B");
  const b = identitySeed(t, other.organizationId);
  const c = t.client(other.ownerKey);
  theirs.workspace = b.workspace("their-ws");
  theirs.user = (await c.data(INVITE, { input: { email: "them@example.com" } })).inviteUser.id;
  theirs.role = (await c.data(CREATE_ROLE, { input: { name: "Their role", permissions: ["USAGE_READ"] } })).createRole.id;
  theirs.binding = (await c.data(ASSIGN, { input: { roleId: theirs.role, principalKind: "USER", principalId: theirs.user, workspaceId: theirs.workspace } })).assignRole.id;
  theirs.apiKey = (await c.data(CREATE_KEY, { input: { name: "their key", workspaceId: theirs.workspace, roleIds: [b.roleId("viewer")] } })).createApiKey.apiKey.id;
  theirs.auditEvent = b.lastEvent("createApiKey")!.id;
  const at = t.clock.now();
  theirs.policy = newId("Policy");
  t.server.database.db.insert(policies).values({ id: theirs.policy, organizationId: other.organizationId, name: "their policy", deniedModels: [], createdAt: at, updatedAt: at }).run();
});
afterAll(() => t.stop());

const KIND: Record<keyof typeof theirs, IdKind> = {
  workspace: "Workspace",
  user: "User",
  role: "Role",
  binding: "RoleBinding",
  apiKey: "ApiKey",
  auditEvent: "AuditEvent",
  policy: "Policy",
};

/** The error of a call, without its request ID, for comparing two answers. */
async function errorOf(q: string, v: Record<string, unknown>) {
  const res = await t.client(t.ownerKey).query(q, v);
  const e = res.body.errors?.[0];
  expect(e, res.text).toBeDefined();
  return { code: e!.extensions.code, message: e!.message, data: res.body.data ?? null };
}

/** The foreign ID and a made-up one of the same kind get the same NOT_FOUND. */
async function expectInvisible(q: string, vars: (id: string) => Record<string, unknown>, what: keyof typeof theirs) {
  const foreign = await errorOf(q, vars(theirs[what]));
  const madeUp = await errorOf(q, vars(newId(KIND[what])));
  expect(foreign.code, q).toBe("NOT_FOUND");
  expect(foreign).toEqual(madeUp);
}

describe("another organization's objects", () => {
  it("are NOT_FOUND through node", async () => {
    for (const what of Object.keys(theirs) as (keyof typeof theirs)[]) {
      await expectInvisible(`query($id: ID!) { node(id: $id) { id } }`, (id) => ({ id }), what);
    }
  });

  it("are NOT_FOUND as the ID argument of every identity mutation", async () => {
    await expectInvisible(REVOKE_KEY, (id) => ({ id }), "apiKey");
    await expectInvisible(ROTATE_KEY, (id) => ({ id, grace: 60 }), "apiKey");
    await expectInvisible(SUSPEND, (id) => ({ id }), "user");
    await expectInvisible(DELETE_USER, (id) => ({ id }), "user");
    await expectInvisible(UPDATE_ROLE, (id) => ({ input: { id, name: "mine now" } }), "role");
    await expectInvisible(DELETE_ROLE, (id) => ({ id }), "role");
    await expectInvisible(REVOKE_BINDING, (id) => ({ id }), "binding");
    await expectInvisible(`mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }`, (id) => ({ id }), "workspace");
  });

  it("are NOT_FOUND as a role, principal, workspace, owner or policy argument", async () => {
    const a = identitySeed(t);
    const mine = a.apiKey("member");
    await expectInvisible(ASSIGN, (roleId) => ({ input: { roleId, principalKind: "API_KEY", principalId: mine.id } }), "role");
    await expectInvisible(ASSIGN, (principalId) => ({ input: { roleId: a.roleId("viewer"), principalKind: "USER", principalId } }), "user");
    await expectInvisible(ASSIGN, (principalId) => ({ input: { roleId: a.roleId("viewer"), principalKind: "API_KEY", principalId } }), "apiKey");
    await expectInvisible(ASSIGN, (workspaceId) => ({ input: { roleId: a.roleId("viewer"), principalKind: "API_KEY", principalId: mine.id, workspaceId } }), "workspace");
    await expectInvisible(CREATE_KEY, (workspaceId) => ({ input: { name: "x", workspaceId, roleIds: [] } }), "workspace");
    await expectInvisible(CREATE_KEY, (roleId) => ({ input: { name: "x", roleIds: [roleId] } }), "role");
    await expectInvisible(CREATE_KEY, (policyId) => ({ input: { name: "x", roleIds: [], policyIds: [policyId] } }), "policy");
    await expectInvisible(CREATE_KEY, (ownerUserId) => ({ input: { name: "x", roleIds: [], ownerUserId } }), "user");
    const EXPLAIN = `query($p: ID, $ws: ID) { explainAccess(principalId: $p, permission: USAGE_READ, workspaceId: $ws) { allowed } }`;
    await expectInvisible(EXPLAIN, (p) => ({ p }), "user");
    await expectInvisible(EXPLAIN, (p) => ({ p }), "apiKey");
    await expectInvisible(EXPLAIN, (ws) => ({ ws }), "workspace");
    await expectInvisible(`query($ws: ID) { viewer { permissions(workspaceId: $ws) } }`, (ws) => ({ ws }), "workspace");
  });

  it("are NOT_FOUND inside filters, and absent from every list and count", async () => {
    await expectInvisible(`query($ws: ID) { apiKeys(filter: { workspaceId: $ws }) { totalCount } }`, (ws) => ({ ws }), "workspace");
    const owner = t.client(t.ownerKey);
    const lists = [
      await owner.data(`{ apiKeys(first: 30) { totalCount nodes { id workspace { id } owner { id } } } }`),
      await owner.data(`{ users(first: 50) { totalCount nodes { id } } }`),
      await owner.data(`{ roles { id } workspaces(first: 50) { totalCount nodes { id } } }`),
      await owner.data(`{ auditEvents(first: 100) { nodes { id } } }`),
    ];
    expect(lists[0].apiKeys.totalCount).toBe(lists[0].apiKeys.nodes.length);
    const text = JSON.stringify(lists);
    for (const id of Object.values(theirs)) expect(text).not.toContain(id);
    const filtered = await owner.data(`query($t: ID, $a: ID) { auditEvents(filter: { targetId: $t }) { nodes { id } } byActor: auditEvents(filter: { actorId: $a }) { nodes { id } } }`, { t: theirs.apiKey, a: theirs.user });
    // Our own denied attempts on their IDs are our events; none of theirs may show.
    const theirEvents = new Set(t.server.database.db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.organizationId, other.organizationId)).all().map((e) => e.id));
    expect(theirEvents.size).toBeGreaterThan(0);
    for (const e of [...filtered.auditEvents.nodes, ...filtered.byActor.nodes]) expect(theirEvents.has(e.id)).toBe(false);
  });

  it("an API key works only for its own organization's objects", async () => {
    const theirKey = (await t.client(other.ownerKey).data(`{ viewer { principalId organization { id } } }`)).viewer;
    expect(theirKey.organization.id).toBe(other.organizationId);
    const mine = await t.client(t.ownerKey).data(`{ viewer { organization { id } } }`);
    expect(mine.viewer.organization.id).toBe(t.organizationId);
  });
});
