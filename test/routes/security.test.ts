// Routes against their rules: permissions by role and scope, targets confined to the route's
// workspace, tenant isolation, and the deletions that routes block.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuiltInRoleName } from "../../src/auth/permission.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { identitySeed } from "../identity/helpers.js";
import { customKey } from "../secrets/helpers.js";
import { auditFor, CREATE_ROUTE, DELETE_ROUTE, DELETE_VK, DELETE_WS, LIST_ROUTES, NODE_ROUTE, UPDATE_ROUTE, virtualKey } from "./helpers.js";

type Ref = { id: string; slug: string };
let t: TestServer;
let w1: string;
let w2: string;
let orgKey: Ref, w1Key: Ref, w2Key: Ref;
let orgRoute: string, w1Route: string, w2Route: string;

const owner = () => t.client(t.ownerKey);
const input = (over: Record<string, unknown>) => ({ input: { name: `Route ${Math.random().toString(36).slice(2, 8)}`, strategy: "SINGLE", ...over } });

async function route(over: Record<string, unknown>, token = t.ownerKey): Promise<string> {
  return (await t.client(token).data(CREATE_ROUTE, input(over))).createRoute.id;
}

/** The code of a call that must fail, printing the response otherwise. */
async function code(token: string, document: string, variables: Record<string, unknown>): Promise<string> {
  const res = await t.client(token).query(document, variables);
  const c = res.body.errors?.[0]?.extensions.code;
  if (!c) throw new Error(`expected an error: ${res.text}`);
  return c;
}

const key = (role: BuiltInRoleName, workspaceId: string | null = null) => seed(t).apiKey(role, workspaceId).token;

beforeAll(async () => {
  t = await startServer();
  const s = seed(t);
  w1 = s.workspace("one");
  w2 = s.workspace("two");
  orgKey = await virtualKey(t, { slug: "org-wide-key" });
  w1Key = await virtualKey(t, { workspaceId: w1, slug: "w1-key" });
  w2Key = await virtualKey(t, { workspaceId: w2, slug: "w2-key" });
  orgRoute = await route({ targets: [{ virtualKey: orgKey.id }] });
  w1Route = await route({ workspaceId: w1, targets: [{ virtualKey: w1Key.id }] });
  w2Route = await route({ workspaceId: w2, targets: [{ virtualKey: w2Key.id }] });
});
afterAll(() => t.stop());

async function listed(token: string): Promise<{ ids: string[]; totalCount: number }> {
  const data = (await t.client(token).data(LIST_ROUTES, { first: 100 })).routes;
  return { ids: data.nodes.map((n: { id: string }) => n.id), totalCount: data.totalCount };
}

describe("routes: permissions by role and scope", () => {
  it("admin and manager organization-wide write organization and workspace routes", async () => {
    for (const role of ["admin", "manager"] as const) {
      const token = key(role);
      const org = await route({ targets: [{ virtualKey: orgKey.slug }] }, token);
      const ws = await route({ workspaceId: w2, targets: [{ virtualKey: w2Key.slug }] }, token);
      expect((await t.client(token).data(UPDATE_ROUTE, { input: { id: w1Route, timeoutMs: 2000 } })).updateRoute.timeoutMs).toBe(2000);
      for (const id of [org, ws]) expect((await t.client(token).data(DELETE_ROUTE, { id })).deleteRoute.deletedId).toBe(id);
    }
  });

  it("a manager in one workspace writes there only, with keys it can read, and sees nothing else", async () => {
    const token = key("manager", w1);
    const own = await route({ workspaceId: w1, targets: [{ virtualKey: w1Key.slug, model: "gpt-4o" }] }, token);
    // The organization-wide key is not readable from a workspace binding: it does not exist for this key.
    expect(await code(token, CREATE_ROUTE, input({ workspaceId: w1, targets: [{ virtualKey: orgKey.id }] }))).toBe("NOT_FOUND");
    expect(await code(token, CREATE_ROUTE, input({ workspaceId: w1, targets: [{ virtualKey: w2Key.slug }] }))).toBe("NOT_FOUND");
    expect(await code(token, CREATE_ROUTE, input({ targets: [{ virtualKey: w1Key.id }] }))).toBe("FORBIDDEN");
    expect(await code(token, CREATE_ROUTE, input({ workspaceId: w2, targets: [{ virtualKey: w1Key.id }] }))).toBe("NOT_FOUND");
    expect((await t.client(token).data(UPDATE_ROUTE, { input: { id: w1Route, name: "Renamed by w1 manager" } })).updateRoute.name).toBe("Renamed by w1 manager");
    for (const id of [orgRoute, w2Route]) {
      expect(await code(token, UPDATE_ROUTE, { input: { id, name: "x" } })).toBe("NOT_FOUND");
      expect(await code(token, DELETE_ROUTE, { id })).toBe("NOT_FOUND");
      expect(await code(token, NODE_ROUTE, { id })).toBe("NOT_FOUND");
    }
    const { ids, totalCount } = await listed(token);
    expect(ids.sort()).toEqual([own, w1Route].sort());
    expect(totalCount).toBe(2);
    expect((await t.client(token).data(DELETE_ROUTE, { id: own })).deleteRoute.deletedId).toBe(own);
  });

  it("members and viewers read where they hold ROUTE_READ and write nowhere", async () => {
    for (const role of ["member", "viewer"] as const) {
      const orgWide = key(role);
      expect((await listed(orgWide)).ids).toEqual(expect.arrayContaining([orgRoute, w1Route, w2Route]));
      expect((await t.client(orgWide).data(NODE_ROUTE, { id: orgRoute })).node.id).toBe(orgRoute);
      expect(await code(orgWide, CREATE_ROUTE, input({ targets: [{ virtualKey: orgKey.id }] }))).toBe("FORBIDDEN");
      expect(await code(orgWide, UPDATE_ROUTE, { input: { id: orgRoute, name: "x" } })).toBe("FORBIDDEN");
      expect(await code(orgWide, DELETE_ROUTE, { id: w1Route })).toBe("FORBIDDEN");

      const inW1 = key(role, w1);
      const { ids, totalCount } = await listed(inW1);
      expect(ids).toEqual([w1Route]);
      expect(totalCount).toBe(1);
      expect(await code(inW1, NODE_ROUTE, { id: orgRoute })).toBe("NOT_FOUND");
      expect(await code(inW1, NODE_ROUTE, { id: w2Route })).toBe("NOT_FOUND");
      expect(await code(inW1, UPDATE_ROUTE, { input: { id: w1Route, name: "x" } })).toBe("FORBIDDEN");
    }
  });

  it("a key without ROUTE_READ cannot list routes, and node() does not find them", async () => {
    const token = customKey(t, ["VIRTUAL_KEY_READ", "WORKSPACE_READ"]);
    expect(await code(token, LIST_ROUTES, {})).toBe("FORBIDDEN");
    expect(await code(token, NODE_ROUTE, { id: orgRoute })).toBe("NOT_FOUND");
  });

  it("ROUTE_WRITE in one workspace with read elsewhere: FORBIDDEN where it reads, BAD_USER_INPUT for a readable key of another workspace", async () => {
    const manager = seed(t).apiKey("manager", w1);
    identitySeed(t).bind(manager.id, "API_KEY", "member");
    expect(await code(manager.token, UPDATE_ROUTE, { input: { id: orgRoute, name: "x" } })).toBe("FORBIDDEN");
    expect(await code(manager.token, DELETE_ROUTE, { id: w2Route })).toBe("FORBIDDEN");
    expect(await code(manager.token, CREATE_ROUTE, input({ targets: [{ virtualKey: orgKey.id }] }))).toBe("FORBIDDEN");
    expect(await code(manager.token, CREATE_ROUTE, input({ workspaceId: w1, targets: [{ virtualKey: w2Key.id }] }))).toBe("BAD_USER_INPUT");
    // Organization-wide keys are readable now, so a workspace route may target them.
    expect(await route({ workspaceId: w1, targets: [{ virtualKey: orgKey.slug }] }, manager.token)).toMatch(/^rt_/);
  });

  it("records denied and refused writes in the audit log", async () => {
    const member = seed(t).apiKey("member");
    await code(member.token, DELETE_ROUTE, { id: w1Route });
    const events = await auditFor(t, w1Route);
    expect(events.at(-1)).toMatchObject({ action: "deleteRoute", outcome: "DENIED", targetKind: "Route", targetId: w1Route });
    const denied = await owner().data(`query($f: AuditFilter) { auditEvents(filter: $f, first: 5) { nodes { actorId outcome details } } }`, {
      f: { action: "createRoute", actorId: member.id },
    });
    expect(denied.auditEvents.nodes).toEqual([]);
    await code(member.token, CREATE_ROUTE, input({ targets: [{ virtualKey: orgKey.id }] }));
    const after = await owner().data(`query($f: AuditFilter) { auditEvents(filter: $f, first: 5) { nodes { actorId outcome details } } }`, {
      f: { action: "createRoute", actorId: member.id },
    });
    expect(after.auditEvents.nodes).toMatchObject([{ actorId: member.id, outcome: "DENIED", details: { code: "FORBIDDEN" } }]);
  });
});

describe("routes: targets stay within the route's scope", () => {
  it("refuses a key of another workspace, by ID or slug, on create and update", async () => {
    for (const reference of [w2Key.id, w2Key.slug]) {
      const res = await owner().query(CREATE_ROUTE, input({ workspaceId: w1, strategy: "FALLBACK", targets: [{ virtualKey: w1Key.id }, { virtualKey: reference }] }));
      expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "targets[1].virtualKey" });
      expect(res.body.errors?.[0].message).toMatch(/own workspace or organization-wide/);
    }
    expect(await code(t.ownerKey, CREATE_ROUTE, input({ targets: [{ virtualKey: w1Key.id }] }))).toBe("BAD_USER_INPUT");
    expect(await code(t.ownerKey, UPDATE_ROUTE, { input: { id: w1Route, targets: [{ virtualKey: w2Key.slug }] } })).toBe("BAD_USER_INPUT");
    expect(await code(t.ownerKey, UPDATE_ROUTE, { input: { id: orgRoute, targets: [{ virtualKey: w1Key.slug }] } })).toBe("BAD_USER_INPUT");
    const node = (await owner().data(NODE_ROUTE, { id: w1Route })).node;
    expect(node.targets.map((x: { virtualKey: { id: string } }) => x.virtualKey.id)).toEqual([w1Key.id]);
  });

  it("a target's key follows its route; the nullable workspaces need their own read permission", async () => {
    const token = customKey(t, ["ROUTE_READ"]);
    const node = (await t.client(token).data(NODE_ROUTE, { id: w1Route })).node;
    expect(node.workspace).toBeNull();
    expect(node.targets).toEqual([{ model: null, weight: null, virtualKey: { id: w1Key.id, slug: w1Key.slug, workspace: null } }]);
    const withWorkspace = (await t.client(customKey(t, ["ROUTE_READ", "WORKSPACE_READ"])).data(NODE_ROUTE, { id: w1Route })).node;
    expect(withWorkspace.workspace).toEqual({ id: w1 });
    expect(withWorkspace.targets[0].virtualKey.workspace).toEqual({ id: w1 });
  });
});

describe("routes: two organizations", () => {
  it("another organization finds none of them, by ID, node, or a target's ID or slug", async () => {
    const other = t.createOrganization("Tenant B");
    const b = other.ownerKey;
    for (const id of [orgRoute, w1Route]) {
      expect(await code(b, NODE_ROUTE, { id })).toBe("NOT_FOUND");
      expect(await code(b, UPDATE_ROUTE, { input: { id, name: "hijacked" } })).toBe("NOT_FOUND");
      expect(await code(b, UPDATE_ROUTE, { input: { id, targets: [{ virtualKey: orgKey.id }] } })).toBe("NOT_FOUND");
      expect(await code(b, DELETE_ROUTE, { id })).toBe("NOT_FOUND");
    }
    for (const reference of [orgKey.id, orgKey.slug, w1Key.id]) {
      const res = await t.client(b).query(CREATE_ROUTE, input({ targets: [{ virtualKey: reference }] }));
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("NOT_FOUND");
    }
    expect(await code(b, CREATE_ROUTE, input({ workspaceId: w1, targets: [{ virtualKey: orgKey.id }] }))).toBe("NOT_FOUND");
    expect(await code(b, DELETE_VK, { id: orgKey.id })).toBe("NOT_FOUND");

    // Slugs are per organization: B's own key of the same slug is the one B's route names.
    const bKey = await virtualKey(t, { token: b, slug: orgKey.slug });
    const bRoute = (await t.client(b).data(CREATE_ROUTE, input({ targets: [{ virtualKey: orgKey.slug }] }))).createRoute;
    expect(bRoute.targets[0].virtualKey.id).toBe(bKey.id);
    expect(await listed(b)).toEqual({ ids: [bRoute.id], totalCount: 1 });
    expect(await code(t.ownerKey, NODE_ROUTE, { id: bRoute.id })).toBe("NOT_FOUND");
    expect((await listed(t.ownerKey)).ids).not.toContain(bRoute.id);
    expect((await owner().data(NODE_ROUTE, { id: orgRoute })).node.name).not.toBe("hijacked");
  });
});

describe("routes block the deletions that would break them", () => {
  it("deleteVirtualKey is CONFLICT while a route targets the key, in any position", async () => {
    const a = await virtualKey(t);
    const b = await virtualKey(t);
    const r = await route({ strategy: "FALLBACK", targets: [{ virtualKey: a.id }, { virtualKey: b.id }] });
    for (const id of [a.id, b.id]) {
      const res = await owner().query(DELETE_VK, { id });
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("CONFLICT");
    }
    await owner().data(UPDATE_ROUTE, { input: { id: r, targets: [{ virtualKey: b.id }] } });
    expect((await owner().data(DELETE_VK, { id: a.id })).deleteVirtualKey.deletedId).toBe(a.id);
    expect(await code(t.ownerKey, DELETE_VK, { id: b.id })).toBe("CONFLICT");
    await owner().data(DELETE_ROUTE, { id: r });
    expect((await owner().data(DELETE_VK, { id: b.id })).deleteVirtualKey.deletedId).toBe(b.id);
  });

  it("deleteWorkspace is CONFLICT while a route is scoped to it", async () => {
    const ws = seed(t).workspace("doomed-ws");
    const r = await route({ workspaceId: ws, targets: [{ virtualKey: orgKey.id }] });
    const res = await owner().query(DELETE_WS, { id: ws });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("CONFLICT");
    expect(res.body.errors?.[0].message).toMatch(/1 routes/);
    await owner().data(DELETE_ROUTE, { id: r });
    expect((await owner().data(DELETE_WS, { id: ws })).deleteWorkspace.deletedId).toBe(ws);
  });
});
