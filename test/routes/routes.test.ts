// Routes over HTTP: the happy path, every validation error, listing, node and audit events.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes, routeTargets } from "../../src/db/schema.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { auditFor, CREATE_ROUTE, DELETE_ROUTE, LIST_ROUTES, NODE_ROUTE, UPDATE_ROUTE, virtualKey } from "./helpers.js";

let t: TestServer;
let orgKey: { id: string; slug: string };
let orgKey2: { id: string; slug: string };
beforeAll(async () => {
  t = await startServer();
  orgKey = await virtualKey(t, { slug: "openai-main" });
  orgKey2 = await virtualKey(t, { slug: "openai-backup" });
});
afterAll(() => t.stop());

const owner = () => t.client(t.ownerKey);

async function create(input: Record<string, unknown>) {
  return (await owner().data(CREATE_ROUTE, { input: { name: "Chat", strategy: "SINGLE", targets: [{ virtualKey: orgKey.id }], ...input } })).createRoute;
}

/** A mutation that must fail with BAD_USER_INPUT; returns the error for further checks. */
async function refused(document: string, input: Record<string, unknown>) {
  const res = await owner().query(document, { input });
  const error = res.body.errors?.[0];
  expect(error?.extensions.code, res.text).toBe("BAD_USER_INPUT");
  return error!;
}

describe("routes: happy path", () => {
  it("creates a SINGLE organization route, naming its key by slug; the target shows the key", async () => {
    const route = await create({ name: "Chat default", targets: [{ virtualKey: "openai-main", model: "gpt-4o" }] });
    expect(route).toMatchObject({
      name: "Chat default",
      slug: "chat-default",
      strategy: "SINGLE",
      workspace: null,
      retry: null,
      timeoutMs: null,
      targets: [{ model: "gpt-4o", weight: null, virtualKey: { id: orgKey.id, slug: "openai-main", workspace: null } }],
    });
    expect(route.id).toMatch(/^rt_/);
    const [event] = await auditFor(t, route.id);
    expect(event).toMatchObject({ action: "createRoute", outcome: "SUCCESS", targetKind: "Route", workspaceId: null });
    expect(event.details).toEqual({
      name: "Chat default",
      slug: "chat-default",
      strategy: "SINGLE",
      targets: [{ virtualKeyId: orgKey.id, model: "gpt-4o", weight: null }],
      retry: null,
      timeoutMs: null,
    });
  });

  it("keeps FALLBACK targets in order, with a retry policy (default status codes) and a timeout", async () => {
    const route = await create({
      name: "Fallback",
      strategy: "FALLBACK",
      targets: [{ virtualKey: orgKey2.id, model: "gpt-4o-mini" }, { virtualKey: orgKey.slug }, { virtualKey: orgKey2.slug, model: "gpt-4o" }],
      retry: { attempts: 2 },
      timeoutMs: 30000,
    });
    expect(route.targets.map((x: { virtualKey: { id: string }; model: string | null }) => [x.virtualKey.id, x.model])).toEqual([
      [orgKey2.id, "gpt-4o-mini"],
      [orgKey.id, null],
      [orgKey2.id, "gpt-4o"],
    ]);
    expect(route.retry).toEqual({ attempts: 2, onStatusCodes: [429, 500, 502, 503, 504] });
    expect(route.timeoutMs).toBe(30000);
  });

  it("spreads LOADBALANCE by weight; an omitted weight is 1; status codes are deduplicated and sorted", async () => {
    const route = await create({
      name: "Spread",
      strategy: "LOADBALANCE",
      targets: [{ virtualKey: orgKey.id, weight: 3 }, { virtualKey: orgKey2.id }, { virtualKey: orgKey2.id, weight: 0.5, model: "gpt-4o-mini" }],
      retry: { attempts: 0, onStatusCodes: [503, 429, 503] },
    });
    expect(route.targets.map((x: { weight: number }) => x.weight)).toEqual([3, 1, 0.5]);
    expect(route.retry).toEqual({ attempts: 0, onStatusCodes: [429, 503] });
  });

  it("creates a workspace route targeting keys of its workspace and organization-wide ones", async () => {
    const ws = seed(t).workspace("route-home");
    const wsKey = await virtualKey(t, { workspaceId: ws });
    const route = await create({ name: "Workspace route", workspaceId: ws, strategy: "FALLBACK", targets: [{ virtualKey: wsKey.slug }, { virtualKey: orgKey.id }] });
    expect(route.workspace).toEqual({ id: ws });
    expect(route.targets.map((x: { virtualKey: { id: string; workspace: { id: string } | null } }) => x.virtualKey)).toEqual([
      { id: wsKey.id, slug: wsKey.slug, workspace: { id: ws } },
      { id: orgKey.id, slug: orgKey.slug, workspace: null },
    ]);
    expect((await auditFor(t, route.id))[0].workspaceId).toBe(ws);
  });

  it("updates only what is given; null leaves a field; targets are replaced as a whole", async () => {
    const route = await create({ name: "Updatable", strategy: "FALLBACK", targets: [{ virtualKey: orgKey.id }, { virtualKey: orgKey2.id }], retry: { attempts: 1 }, timeoutMs: 5000 });
    t.clock.advance(1000);
    const renamed = (await owner().data(UPDATE_ROUTE, { input: { id: route.id, name: "Renamed", strategy: null, targets: null, retry: null, timeoutMs: null } })).updateRoute;
    expect(renamed).toMatchObject({ name: "Renamed", slug: "updatable", strategy: "FALLBACK", retry: { attempts: 1 }, timeoutMs: 5000 });
    expect(renamed.targets).toEqual(route.targets);
    expect(new Date(renamed.updatedAt).getTime()).toBeGreaterThan(new Date(route.updatedAt).getTime());

    const replaced = (await owner().data(UPDATE_ROUTE, { input: { id: route.id, targets: [{ virtualKey: orgKey2.slug, model: "o3" }], retry: { attempts: 4, onStatusCodes: [500] }, timeoutMs: 100 } }))
      .updateRoute;
    expect(replaced).toMatchObject({ name: "Renamed", strategy: "FALLBACK", retry: { attempts: 4, onStatusCodes: [500] }, timeoutMs: 100 });
    expect(replaced.targets).toEqual([{ model: "o3", weight: null, virtualKey: { id: orgKey2.id, slug: orgKey2.slug, workspace: null } }]);
    const rows = t.server.database.db.select().from(routeTargets).where(eq(routeTargets.routeId, route.id)).all();
    expect(rows).toEqual([{ routeId: route.id, position: 0, virtualKeyId: orgKey2.id, model: "o3", weight: null }]);

    const events = await auditFor(t, route.id);
    expect(events.map((e) => e.action)).toEqual(["createRoute", "updateRoute", "updateRoute"]);
    expect(events[1].details).toEqual({ name: "Renamed" });
    expect(events[2].details).toEqual({ targets: [{ virtualKeyId: orgKey2.id, model: "o3", weight: null }], retry: { attempts: 4, onStatusCodes: [500] }, timeoutMs: 100 });
  });

  it("keeps the targets when only the strategy changes: weights follow it, and SINGLE still needs one target", async () => {
    const route = await create({ name: "Switching", strategy: "FALLBACK", targets: [{ virtualKey: orgKey.id }, { virtualKey: orgKey2.id }] });
    const spread = (await owner().data(UPDATE_ROUTE, { input: { id: route.id, strategy: "LOADBALANCE" } })).updateRoute;
    expect(spread.targets.map((x: { weight: number }) => x.weight)).toEqual([1, 1]);
    const error = await refused(UPDATE_ROUTE, { id: route.id, strategy: "SINGLE" });
    expect(error.message).toMatch(/SINGLE needs exactly one target/);
    const back = (await owner().data(UPDATE_ROUTE, { input: { id: route.id, strategy: "FALLBACK" } })).updateRoute;
    expect(back.targets.map((x: { weight: number | null; virtualKey: { id: string } }) => [x.virtualKey.id, x.weight])).toEqual([
      [orgKey.id, null],
      [orgKey2.id, null],
    ]);
    const single = (await owner().data(UPDATE_ROUTE, { input: { id: route.id, strategy: "SINGLE", targets: [{ virtualKey: orgKey.id }] } })).updateRoute;
    expect(single).toMatchObject({ strategy: "SINGLE", targets: [{ virtualKey: { id: orgKey.id } }] });
  });

  it("deletes a route with its targets; then it is NOT_FOUND everywhere", async () => {
    const route = await create({ name: "Doomed route" });
    expect((await owner().data(DELETE_ROUTE, { id: route.id })).deleteRoute).toEqual({ deletedId: route.id });
    const { db } = t.server.database;
    expect(db.select().from(routes).where(eq(routes.id, route.id)).get()).toBeUndefined();
    expect(db.select().from(routeTargets).where(eq(routeTargets.routeId, route.id)).all()).toEqual([]);
    expect(await owner().errorCode(NODE_ROUTE, { id: route.id })).toBe("NOT_FOUND");
    expect(await owner().errorCode(DELETE_ROUTE, { id: route.id })).toBe("NOT_FOUND");
    expect(await owner().errorCode(UPDATE_ROUTE, { input: { id: route.id, name: "x" } })).toBe("NOT_FOUND");
    const events = await auditFor(t, route.id);
    // Acting on a route that no longer exists is recorded as denied (NOT_FOUND).
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual(["createRoute:SUCCESS", "deleteRoute:SUCCESS", "deleteRoute:DENIED", "updateRoute:DENIED"]);
    expect(events[1].details).toEqual({ slug: "doomed-route" });
  });

  it("answers node(id) with the route, its targets and retry policy", async () => {
    const route = await create({ name: "Node route", retry: { attempts: 3, onStatusCodes: [429] }, timeoutMs: 1000 });
    expect((await owner().data(NODE_ROUTE, { id: route.id })).node).toEqual(route);
  });
});

describe("routes: listing", () => {
  it("lists newest first with cursors and totalCount; first is bounded", async () => {
    // A fresh organization, so that the count is exactly what this test made.
    const other = t.createOrganization("Listing");
    const client = t.client(other.ownerKey);
    const key = await virtualKey(t, { token: other.ownerKey });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1000);
      ids.push((await client.data(CREATE_ROUTE, { input: { name: `List ${i}`, strategy: "SINGLE", targets: [{ virtualKey: key.id }] } })).createRoute.id);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await client.data(LIST_ROUTES, { first: 2, after })).routes;
      expect(page.totalCount).toBe(5);
      expect(page.nodes.length).toBeLessThanOrEqual(2);
      seen.push(...page.nodes.map((n: { id: string }) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const all = (await client.data(LIST_ROUTES, {})).routes;
    expect(all.nodes[0].targets).toEqual([{ virtualKey: { id: key.id } }]);
    expect(await client.errorCode(LIST_ROUTES, { first: 101 })).toBe("BAD_USER_INPUT");
    expect(await client.errorCode(LIST_ROUTES, { first: 0 })).toBe("BAD_USER_INPUT");
    expect(await client.errorCode(LIST_ROUTES, { after: "garbage" })).toBe("BAD_USER_INPUT");
  });
});

describe("routes: validation", () => {
  const base = () => ({ name: "Valid", strategy: "SINGLE", targets: [{ virtualKey: orgKey.id }] });
  const target = (over: Record<string, unknown> = {}) => ({ virtualKey: orgKey.id, ...over });

  it("refuses each bad create input with a clear message that never echoes the value", async () => {
    const marker = "ECHO-ME-NOT";
    const cases: [Record<string, unknown>, RegExp, string][] = [
      [{ name: "   " }, /name must have 1 to 200 characters/, "name"],
      [{ name: `${marker}\u0007` }, /name must not contain control or formatting characters/, "name"],
      [{ slug: `Bad ${marker}` }, /slug must match/, "slug"],
      [{ strategy: "SINGLE", targets: [] }, /SINGLE needs exactly one target/, "targets"],
      [{ strategy: "SINGLE", targets: [target(), target()] }, /SINGLE needs exactly one target/, "targets"],
      [{ strategy: "FALLBACK", targets: [] }, /FALLBACK needs at least one target/, "targets"],
      [{ strategy: "LOADBALANCE", targets: [] }, /LOADBALANCE needs at least one target/, "targets"],
      [{ strategy: "FALLBACK", targets: Array.from({ length: 11 }, () => target()) }, /at most 10 targets/, "targets"],
      [{ strategy: "LOADBALANCE", targets: [target({ weight: 0 })] }, /targets\[0\]\.weight must be a positive number/, "targets[0].weight"],
      [{ strategy: "LOADBALANCE", targets: [target(), target({ weight: -2 })] }, /targets\[1\]\.weight must be a positive number/, "targets[1].weight"],
      [{ strategy: "LOADBALANCE", targets: [target({ weight: 1e7 })] }, /at most 1000000/, "targets[0].weight"],
      [{ strategy: "FALLBACK", targets: [target({ weight: 2 })] }, /applies only under LOADBALANCE/, "targets[0].weight"],
      [{ strategy: "SINGLE", targets: [target({ weight: 1 })] }, /applies only under LOADBALANCE/, "targets[0].weight"],
      [{ targets: [target({ model: "" })] }, /targets\[0\]\.model must have 1 to 200 characters/, "targets[0].model"],
      [{ targets: [target({ model: marker + "x".repeat(200) })] }, /targets\[0\]\.model must have 1 to 200/, "targets[0].model"],
      [{ targets: [target({ model: `gpt-4o\r\nX-${marker}: 1` })] }, /targets\[0\]\.model must not contain control or formatting characters/, "targets[0].model"],
      [{ retry: { attempts: -1 } }, /retry\.attempts must be between 0 and 5/, "retry.attempts"],
      [{ retry: { attempts: 6 } }, /retry\.attempts must be between 0 and 5/, "retry.attempts"],
      [{ retry: { attempts: 1, onStatusCodes: [] } }, /at least one status code/, "retry.onStatusCodes"],
      [{ retry: { attempts: 1, onStatusCodes: [429, 399] } }, /from 400 to 599/, "retry.onStatusCodes"],
      [{ retry: { attempts: 1, onStatusCodes: [600] } }, /from 400 to 599/, "retry.onStatusCodes"],
      [{ timeoutMs: 99 }, /timeoutMs must be between 100 and 300000/, "timeoutMs"],
      [{ timeoutMs: 300001 }, /timeoutMs must be between 100 and 300000/, "timeoutMs"],
      [{ timeoutMs: 0 }, /timeoutMs must be between 100 and 300000/, "timeoutMs"],
    ];
    for (const [over, message, field] of cases) {
      const error = await refused(CREATE_ROUTE, { ...base(), ...over });
      expect(error.message, JSON.stringify(over)).toMatch(message);
      expect(error.extensions.field, JSON.stringify(over)).toBe(field);
      expect(error.message).not.toContain(marker);
    }
    expect(t.server.database.db.select().from(routes).where(eq(routes.name, "Valid")).all()).toEqual([]);
  });

  it("accepts the bounds themselves", async () => {
    const route = await create({
      name: "Bounds",
      strategy: "LOADBALANCE",
      targets: Array.from({ length: 10 }, (_, i) => target({ weight: i === 0 ? 1e6 : 1e-9, model: i === 0 ? "m".repeat(200) : null })),
      retry: { attempts: 5, onStatusCodes: [400, 599] },
      timeoutMs: 300000,
    });
    expect(route.targets).toHaveLength(10);
    expect(route.retry).toEqual({ attempts: 5, onStatusCodes: [400, 599] });
    const low = await create({ name: "Bounds low", timeoutMs: 100, retry: { attempts: 0 } });
    expect(low.timeoutMs).toBe(100);
  });

  it("refuses a target naming no readable virtual key of the organization: NOT_FOUND without the reference", async () => {
    for (const reference of ["no-such-key", "vk_0000000000000000000000", "x".repeat(5000), "NOT A SLUG ECHO-ME-NOT", "rt_0000000000000000000000"]) {
      const res = await owner().query(CREATE_ROUTE, { input: { ...base(), targets: [{ virtualKey: reference }] } });
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("NOT_FOUND");
      expect(res.body.errors?.[0].message).toBe("The virtual key of targets[0] not found");
    }
    const second = await owner().query(CREATE_ROUTE, { input: { ...base(), strategy: "FALLBACK", targets: [target(), { virtualKey: "missing" }] } });
    expect(second.body.errors?.[0].message).toBe("The virtual key of targets[1] not found");
  });

  it("keeps slugs unique in the organization (CONFLICT) and names a workspace that exists", async () => {
    await create({ name: "Taken", slug: "taken-slug" });
    const res = await owner().query(CREATE_ROUTE, { input: { ...base(), name: "Other", slug: "taken-slug" } });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("CONFLICT");
    expect(await owner().errorCode(CREATE_ROUTE, { input: { ...base(), name: "!!!" } })).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(CREATE_ROUTE, { input: { ...base(), workspaceId: "ws_0000000000000000000000" } })).toBe("NOT_FOUND");
    expect(await owner().errorCode(CREATE_ROUTE, { input: { ...base(), workspaceId: "not-an-id" } })).toBe("NOT_FOUND");
  });

  it("validates updates the same way, against the route's current strategy", async () => {
    const route = await create({ name: "Update validation", strategy: "FALLBACK", targets: [target()] });
    expect((await refused(UPDATE_ROUTE, { id: route.id, name: "" })).extensions.field).toBe("name");
    expect((await refused(UPDATE_ROUTE, { id: route.id, targets: [] })).message).toMatch(/FALLBACK needs at least one target/);
    expect((await refused(UPDATE_ROUTE, { id: route.id, targets: [target({ weight: 2 })] })).message).toMatch(/applies only under LOADBALANCE/);
    expect((await refused(UPDATE_ROUTE, { id: route.id, strategy: "LOADBALANCE", targets: [target({ weight: 0 })] })).extensions.field).toBe("targets[0].weight");
    expect((await refused(UPDATE_ROUTE, { id: route.id, retry: { attempts: 9 } })).extensions.field).toBe("retry.attempts");
    expect((await refused(UPDATE_ROUTE, { id: route.id, timeoutMs: 50 })).extensions.field).toBe("timeoutMs");
    expect(await owner().errorCode(UPDATE_ROUTE, { input: { id: route.id, targets: [{ virtualKey: "missing" }] } })).toBe("NOT_FOUND");
    expect((await owner().data(NODE_ROUTE, { id: route.id })).node).toMatchObject({ name: "Update validation", strategy: "FALLBACK", updatedAt: route.updatedAt });
    const events = (await auditFor(t, route.id)).map((e) => `${e.action}:${e.outcome}`);
    expect(events).toEqual(["createRoute:SUCCESS", ...Array(6).fill("updateRoute:FAILURE"), "updateRoute:DENIED"]);
  });
});
