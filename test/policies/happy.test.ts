// Policies over HTTP: create, change, delete, attach and detach, lists and node, and the
// audit event each success leaves.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetCounters, policies, policyAttachments } from "../../src/db/schema.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ATTACH, CREATE, DELETE, DETACH, insertRoute, KEY_POLICIES, lastEvent, LIST, NODE, UPDATE } from "./helpers.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

const owner = () => t.client(t.ownerKey);

async function create(input: Record<string, unknown>) {
  return (await owner().data(CREATE, { input: { name: "Policy", ...input } })).createPolicy;
}

function details(action: string, targetId: string) {
  const e = lastEvent(t, action, targetId);
  expect(e, action).toBeDefined();
  return { event: e!, details: JSON.parse(e!.details ?? "null") };
}

describe("policies: create", () => {
  it("creates an organization policy with every restriction, normalised, and audits it", async () => {
    const p = await create({
      name: "  Production  ",
      description: "Only the big models\nfrom the office",
      allowedModels: ["gpt-4o*", "claude-3-5-sonnet-*", "gpt-4o*", "models/gemini-1.5-pro"],
      deniedModels: ["gpt-4o-mini**"],
      rateLimit: { requestsPerMinute: 60, tokensPerMinute: 100000 },
      budget: { limitUsd: 25.5, period: "MONTH" },
      allowedIpRanges: ["203.0.113.7/24", "2001:DB8:0:0::1/32", "198.51.100.4", "::ffff:192.0.2.1", "203.0.113.0/24"],
    });
    expect(p).toMatchObject({
      name: "Production",
      description: "Only the big models\nfrom the office",
      workspace: null,
      allowedModels: ["gpt-4o*", "claude-3-5-sonnet-*", "models/gemini-1.5-pro"],
      deniedModels: ["gpt-4o-mini*"],
      rateLimit: { requestsPerMinute: 60, tokensPerMinute: 100000 },
      budget: { limitUsd: 25.5, period: "MONTH" },
      allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32", "198.51.100.4/32", "192.0.2.1/32"],
    });
    expect(p.id).toMatch(/^pol_/);
    expect(p.createdAt).toBe(p.updatedAt);

    const { event, details: d } = details("createPolicy", p.id);
    expect(event).toMatchObject({ outcome: "SUCCESS", targetKind: "Policy", workspaceId: null, actorKind: "API_KEY" });
    expect(d).toMatchObject({ name: "Production", description: true, rateLimit: { rpm: 60, tpm: 100000 }, budget: { limitUsd: 25.5, period: "MONTH" } });
    expect(event.details).not.toContain("from the office");
  });

  it("creates a workspace policy with defaults: any model, nothing denied, no limits", async () => {
    const ws = seed(t).workspace("create-ws");
    const p = await create({ name: "Minimal", workspaceId: ws });
    expect(p).toMatchObject({ workspace: { id: ws }, description: null, allowedModels: null, deniedModels: [], rateLimit: null, budget: null, allowedIpRanges: null });
    expect(lastEvent(t, "createPolicy", p.id)!.workspaceId).toBe(ws);
    expect((await owner().data(NODE, { id: p.id })).node).toEqual(p);
  });

  it("keeps an empty allow list: it allows no model at all", async () => {
    const p = await create({ allowedModels: [], allowedIpRanges: [] });
    expect(p.allowedModels).toEqual([]);
    expect(p.allowedIpRanges).toEqual([]);
  });
});

describe("policies: update", () => {
  it("leaves omitted and null fields unchanged", async () => {
    const p = await create({ name: "Stable", description: "d", allowedModels: ["a*"], deniedModels: ["b"], rateLimit: { requestsPerMinute: 5 }, budget: { limitUsd: 1, period: "DAY" }, allowedIpRanges: ["10.0.0.0/8"] });
    t.clock.advance(1000);
    const same = (await owner().data(UPDATE, { input: { id: p.id, name: null, description: null, allowedModels: null, rateLimit: null, budget: null } })).updatePolicy;
    expect(same).toEqual(p);
    expect(details("updatePolicy", p.id).details).toEqual({ changed: {} });
  });

  it("changes what is given, merges a partial rate limit, and moves updatedAt", async () => {
    const p = await create({ name: "Mutable", rateLimit: { requestsPerMinute: 5, tokensPerMinute: 1000 } });
    t.clock.advance(1000);
    const u = (
      await owner().data(UPDATE, {
        input: { id: p.id, name: "Renamed", description: "now described", allowedModels: ["gpt-4o"], deniedModels: ["o1*"], rateLimit: { tokensPerMinute: 2000 }, budget: { limitUsd: 3, period: "WEEK" }, allowedIpRanges: ["fe80::1/10"] },
      })
    ).updatePolicy;
    expect(u).toMatchObject({
      name: "Renamed",
      description: "now described",
      allowedModels: ["gpt-4o"],
      deniedModels: ["o1*"],
      rateLimit: { requestsPerMinute: 5, tokensPerMinute: 2000 },
      budget: { limitUsd: 3, period: "WEEK" },
      allowedIpRanges: ["fe80::/10"],
      createdAt: p.createdAt,
    });
    expect(new Date(u.updatedAt).getTime()).toBeGreaterThan(new Date(p.updatedAt).getTime());
    const { details: d } = details("updatePolicy", p.id);
    expect(d.changed).toMatchObject({ name: "Renamed", description: true, rateLimit: { rpm: 5, tpm: 2000 }, allowedIpRanges: ["fe80::/10"] });
    expect((await owner().data(NODE, { id: p.id })).node).toEqual(u);
  });

  it("lifts restrictions with the remove flags, and an empty description clears it", async () => {
    const p = await create({ description: "x", allowedModels: ["a"], rateLimit: { requestsPerMinute: 1 }, budget: { limitUsd: 1, period: "TOTAL" }, allowedIpRanges: ["10.0.0.1"], deniedModels: ["z"] });
    const u = (
      await owner().data(UPDATE, { input: { id: p.id, description: "", removeAllowedModels: true, removeRateLimit: true, removeBudget: true, removeAllowedIpRanges: true, deniedModels: [] } })
    ).updatePolicy;
    expect(u).toMatchObject({ description: null, allowedModels: null, rateLimit: null, budget: null, allowedIpRanges: null, deniedModels: [] });
    const row = t.server.database.db.select().from(policies).where(eq(policies.id, p.id)).get()!;
    expect(row).toMatchObject({ requestsPerMinute: null, tokensPerMinute: null, budgetLimitUsd: null, budgetPeriod: null, allowedModels: null, allowedIpRanges: null });
    const removeFalse = (await owner().data(UPDATE, { input: { id: u.id, removeBudget: false } })).updatePolicy;
    expect(removeFalse.budget).toBeNull();
  });
});

describe("policies: attach, detach, delete", () => {
  it("attaches to an API key, a virtual key, a route and a workspace; the keys show it with its workspace", async () => {
    const s = seed(t);
    const ws = s.workspace("attach-ws");
    const key = s.apiKey("member", ws);
    const vk = (await owner().data(`mutation($i: CreateVirtualKeyInput!) { createVirtualKey(input: $i) { id } }`, { i: { name: "vk", provider: "OPENAI", secret: "sk-" + "x".repeat(40), workspaceId: ws } })).createVirtualKey.id;
    const route = insertRoute(t, ws);
    const orgPolicy = await create({ name: "org-wide" });
    t.clock.advance(10);
    const wsPolicy = await create({ name: "in ws", workspaceId: ws });
    for (const target of [key.id, vk, route, ws]) {
      for (const policy of [orgPolicy, wsPolicy]) {
        expect((await owner().data(ATTACH, { p: policy.id, t: target })).attachPolicy).toEqual({ id: policy.id, name: policy.name });
      }
    }
    const rows = t.server.database.db.select().from(policyAttachments).where(eq(policyAttachments.policyId, wsPolicy.id)).all();
    expect(rows.map((r) => [r.targetKind, r.targetId]).sort()).toEqual(
      [
        ["ApiKey", key.id],
        ["VirtualKey", vk],
        ["Route", route],
        ["Workspace", ws],
      ].sort(),
    );
    for (const id of [key.id, vk]) {
      const seen = (await owner().data(KEY_POLICIES, { id })).node.policies;
      expect(seen).toEqual([
        { id: wsPolicy.id, workspace: { id: ws } },
        { id: orgPolicy.id, workspace: null },
      ]);
    }
    const { event, details: d } = details("attachPolicy", wsPolicy.id);
    expect(event).toMatchObject({ outcome: "SUCCESS", targetKind: "Policy", workspaceId: ws });
    expect(d).toEqual({ targetKind: "Workspace", targetId: ws, alreadyAttached: false });
  });

  it("treats a second attach and a detach of what is not attached as no-ops, and says so in the audit", async () => {
    const key = seed(t).apiKey("viewer");
    const p = await create({ name: "twice" });
    await owner().data(ATTACH, { p: p.id, t: key.id });
    await owner().data(ATTACH, { p: p.id, t: key.id });
    expect(details("attachPolicy", p.id).details).toMatchObject({ alreadyAttached: true });
    expect(t.server.database.db.select().from(policyAttachments).where(eq(policyAttachments.policyId, p.id)).all()).toHaveLength(1);
    await owner().data(DETACH, { p: p.id, t: key.id });
    expect(details("detachPolicy", p.id).details).toEqual({ targetKind: "ApiKey", targetId: key.id, wasAttached: true });
    expect((await owner().data(KEY_POLICIES, { id: key.id })).node.policies).toEqual([]);
    await owner().data(DETACH, { p: p.id, t: key.id });
    expect(details("detachPolicy", p.id).details).toMatchObject({ wasAttached: false });
  });

  it("deletes a policy with its attachments and budget counters", async () => {
    const s = seed(t);
    const key = s.apiKey("viewer");
    const ws = s.workspace("del-ws");
    const p = await create({ name: "doomed", budget: { limitUsd: 10, period: "DAY" } });
    await owner().data(ATTACH, { p: p.id, t: key.id });
    await owner().data(ATTACH, { p: p.id, t: ws });
    const { db } = t.server.database;
    db.insert(budgetCounters).values({ policyId: p.id, targetId: key.id, periodStart: t.clock.now(), spentUsd: 1, reservedUsd: 0 }).run();
    expect((await owner().data(DELETE, { id: p.id })).deletePolicy).toEqual({ deletedId: p.id });
    expect(db.select().from(policies).where(eq(policies.id, p.id)).get()).toBeUndefined();
    expect(db.select().from(policyAttachments).where(eq(policyAttachments.policyId, p.id)).all()).toEqual([]);
    expect(db.select().from(budgetCounters).where(eq(budgetCounters.policyId, p.id)).all()).toEqual([]);
    expect(details("deletePolicy", p.id).details).toEqual({ name: "doomed", detachedFrom: expect.arrayContaining([key.id, ws]) });
    expect(await owner().errorCode(NODE, { id: p.id })).toBe("NOT_FOUND");
    expect(await owner().errorCode(DELETE, { id: p.id })).toBe("NOT_FOUND");
    // The workspace it was attached to can now go: nothing of the policy is left behind.
    expect((await owner().data(`mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }`, { id: ws })).deleteWorkspace.deletedId).toBe(ws);
  });


  it("drops an organization policy's attachment to a workspace when the workspace is deleted", async () => {
    const ws = seed(t).workspace("going");
    const p = await create({ name: "outlives the workspace" });
    await owner().data(ATTACH, { p: p.id, t: ws });
    await owner().data(`mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }`, { id: ws });
    expect(t.server.database.db.select().from(policyAttachments).where(eq(policyAttachments.targetId, ws)).all()).toEqual([]);
    expect((await owner().data(NODE, { id: p.id })).node.id).toBe(p.id);
  });
});

describe("policies: lists", () => {
  it("pages newest first, filters by workspace and name, and counts what matches", async () => {
    const ws = seed(t).workspace("list-ws");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.advance(10);
      made.push((await create({ name: `Listed ${i}`, workspaceId: ws })).id);
    }
    const first = (await owner().data(LIST, { filter: { workspaceId: ws }, first: 2 })).policies;
    expect(first.totalCount).toBe(5);
    expect(first.nodes.map((n: { id: string }) => n.id)).toEqual([made[4], made[3]]);
    expect(first.nodes[0].workspace).toEqual({ id: ws });
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await owner().data(LIST, { filter: { workspaceId: ws }, first: 2, after: first.pageInfo.endCursor })).policies;
    expect(second.nodes.map((n: { id: string }) => n.id)).toEqual([made[2], made[1]]);
    const last = (await owner().data(LIST, { filter: { workspaceId: ws }, first: 2, after: second.pageInfo.endCursor })).policies;
    expect(last.nodes.map((n: { id: string }) => n.id)).toEqual([made[0]]);
    expect(last.pageInfo.hasNextPage).toBe(false);

    const named = (await owner().data(LIST, { filter: { workspaceId: ws, nameContains: "LISTED 3" } })).policies;
    expect(named.nodes.map((n: { id: string }) => n.id)).toEqual([made[3]]);
    expect(named.totalCount).toBe(1);
    const all = (await owner().data(LIST, { first: 100 })).policies;
    expect(all.totalCount).toBeGreaterThanOrEqual(5);
    expect(all.nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining(made));
    expect((await owner().data(LIST, {})).policies.nodes.length).toBeLessThanOrEqual(20);
  });

  it("refuses a page size over 100 and a forged cursor", async () => {
    expect(await owner().errorCode(LIST, { first: 101 })).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(LIST, { first: 0 })).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(LIST, { after: "not-a-cursor" })).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(LIST, { filter: { nameContains: "x".repeat(201) } })).toBe("BAD_USER_INPUT");
  });
});
