import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

const CREATE = "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id name slug createdAt } }";
const LIST = "query($first: Int, $after: String) { workspaces(first: $first, after: $after) { nodes { id slug } pageInfo { hasNextPage endCursor } totalCount } }";

describe("workspaces", () => {
  it("creates a workspace with a slug made from its name, and audits it", async () => {
    const owner = t.client(t.ownerKey);
    const { createWorkspace: ws } = await owner.data(CREATE, { input: { name: "Data Science Team" } });
    expect(ws).toMatchObject({ name: "Data Science Team", slug: "data-science-team" });
    expect(ws.id).toMatch(/^ws_[0-9A-Za-z]{22}$/);
    expect(ws.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const { auditEvents } = await owner.data("{ auditEvents(filter: {action: \"createWorkspace\"}) { nodes { actorId actorKind targetKind targetId outcome workspaceId requestId } } }");
    expect(auditEvents.nodes.at(-1)).toMatchObject({ actorKind: "API_KEY", targetKind: "Workspace", targetId: ws.id, outcome: "SUCCESS", workspaceId: ws.id });
    expect(auditEvents.nodes.at(-1).actorId).toMatch(/^ak_/);
  });

  it("refuses a duplicate slug with CONFLICT and a bad slug with BAD_USER_INPUT", async () => {
    const owner = t.client(t.ownerKey);
    await owner.data(CREATE, { input: { name: "Dup", slug: "dup" } });
    expect(await owner.errorCode(CREATE, { input: { name: "Dup again", slug: "dup" } })).toBe("CONFLICT");
    for (const slug of ["Upper", "-lead", "a".repeat(64), "sp ace", "x'; DROP TABLE workspaces; --"]) {
      expect(await owner.errorCode(CREATE, { input: { name: "n", slug } })).toBe("BAD_USER_INPUT");
    }
    expect(await owner.errorCode(CREATE, { input: { name: "   " } })).toBe("BAD_USER_INPUT");
    for (const name of ["bad\u0000name", "invoice\u202egpj.exe", "zero\u200bwidth", "c1\u0085control"]) {
      expect(await owner.errorCode(CREATE, { input: { name } })).toBe("BAD_USER_INPUT");
    }
  });

  it("pages newest first with opaque cursors and a total count", async () => {
    const owner = t.client(t.ownerKey);
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1000);
      await owner.data(CREATE, { input: { name: `page ${i}` } });
    }
    const first = (await owner.data(LIST, { first: 2 })).workspaces;
    expect(first.nodes.map((n: { slug: string }) => n.slug)).toEqual(["page-4", "page-3"]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await owner.data(LIST, { first: 2, after: first.pageInfo.endCursor })).workspaces;
    expect(second.nodes.map((n: { slug: string }) => n.slug)).toEqual(["page-2", "page-1"]);
    expect(second.totalCount).toBe(first.totalCount);
    expect(await owner.errorCode(LIST, { first: 101 })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(LIST, { first: 0 })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(LIST, { after: "not-a-cursor" })).toBe("BAD_USER_INPUT");
  });

  it("refuses to delete a workspace that still scopes something (CONFLICT), then deletes it", async () => {
    const owner = t.client(t.ownerKey);
    const s = seed(t);
    const wsId = (await owner.data(CREATE, { input: { name: "Doomed" } })).createWorkspace.id;
    const key = s.apiKey("member", wsId);
    const res = await owner.query("mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }", { id: wsId });
    expect(res.body.errors?.[0].extensions.code).toBe("CONFLICT");
    t.server.database.sqlite.prepare("DELETE FROM role_bindings WHERE principal_id = ?").run(key.id);
    t.server.database.sqlite.prepare("DELETE FROM api_keys WHERE id = ?").run(key.id);
    const ok = await owner.data("mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }", { id: wsId });
    expect(ok.deleteWorkspace.deletedId).toBe(wsId);
    expect(await owner.errorCode("query($id: ID!) { node(id: $id) { id } }", { id: wsId })).toBe("NOT_FOUND");
    // The audit trail keeps the workspace ID.
    const { auditEvents } = await owner.data("query($id: ID!) { auditEvents(filter: {targetId: $id}) { nodes { action outcome workspaceId } } }", { id: wsId });
    expect(auditEvents.nodes.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`)).toEqual([
      "createWorkspace:SUCCESS",
      "deleteWorkspace:FAILURE",
      "deleteWorkspace:SUCCESS",
    ]);
  });

  it("shows a workspace-bound principal only its own workspace, through list, count and node", async () => {
    const s = seed(t);
    const mine = s.workspace("mine");
    const other = s.workspace("other");
    const member = t.client(s.apiKey("member", mine).token);
    const { workspaces } = await member.data(LIST, { first: 100 });
    expect(workspaces.nodes.map((n: { id: string }) => n.id)).toEqual([mine]);
    expect(workspaces.totalCount).toBe(1);
    expect((await member.data("query($id: ID!) { node(id: $id) { id ... on Workspace { slug } } }", { id: mine })).node.slug).toBe("mine");
    expect(await member.errorCode("query($id: ID!) { node(id: $id) { id } }", { id: other })).toBe("NOT_FOUND");
  });

  it("denies writes to roles without WORKSPACE_WRITE organization-wide, and audits the denial", async () => {
    const s = seed(t);
    const ws = s.workspace();
    for (const [role, scope] of [["viewer", null], ["member", null], ["manager", null], ["admin", ws]] as const) {
      const client = t.client(s.apiKey(role, scope).token);
      const res = await client.query(CREATE, { input: { name: `by ${role}` } });
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("FORBIDDEN");
    }
    const admin = t.client(s.apiKey("admin").token);
    expect((await admin.data(CREATE, { input: { name: "by admin" } })).createWorkspace.slug).toBe("by-admin");
    const { auditEvents } = await t.client(t.ownerKey).data("{ auditEvents(filter: {action: \"createWorkspace\", outcome: DENIED}) { nodes { actorKind actorId details } } }");
    expect(auditEvents.nodes.length).toBeGreaterThanOrEqual(4);
    expect(auditEvents.nodes[0].details).toEqual({ code: "FORBIDDEN" });
  });

  it("treats another organization's workspace as nonexistent", async () => {
    const other = t.createOrganization("Rival");
    const rival = t.client(other.ownerKey);
    const theirs = (await rival.data(CREATE, { input: { name: "Secret project" } })).createWorkspace.id;
    const owner = t.client(t.ownerKey);
    expect(await owner.errorCode("query($id: ID!) { node(id: $id) { id } }", { id: theirs })).toBe("NOT_FOUND");
    expect(await owner.errorCode("mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }", { id: theirs })).toBe("NOT_FOUND");
    expect(await owner.errorCode("query($id: ID!) { viewer { permissions(workspaceId: $id) } }", { id: theirs })).toBe("NOT_FOUND");
    const { workspaces } = await owner.data(LIST, { first: 100 });
    expect(workspaces.nodes.map((n: { id: string }) => n.id)).not.toContain(theirs);
    const { auditEvents } = await owner.data("query($id: ID!) { auditEvents(filter: {targetId: $id}) { nodes { id } } }", { id: theirs });
    expect(auditEvents.nodes.filter((e: { id: string }) => e.id)).toHaveLength(1); // only our own denied deleteWorkspace
    expect((await rival.data("{ viewer { organization { name } } }")).viewer.organization.name).toBe("Rival");
  });
});
