// The policy enforcer against a real database: which policies apply to a call, model and
// address checks, rate limits and budgets with the clock, all-or-nothing admission, settling
// and releasing, counting per target and per organization.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { budgetCounters } from "../../src/db/schema.js";
import { ChangeMark } from "../../src/db/change-mark.js";
import { GroupCommit } from "../../src/db/group-commit.js";
import { PolicyEnforcer } from "../../src/gateway/policy-enforcer.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { codeOf, enforcer, ONE_CALL, pairs, steps, targets, thrown } from "./helpers.js";
import { nextTurn } from "../harness/turn.js";

let t: TestServer;
let s: ReturnType<typeof steps>;
let e: PolicyEnforcer;
beforeAll(async () => {
  t = await startServer();
  s = steps(t);
});
afterAll(() => t.stop());
beforeEach(() => {
  e = enforcer(t);
});

function counters(policyId: string) {
  return t.server.database.db.select().from(budgetCounters).where(eq(budgetCounters.policyId, policyId)).all();
}

/** A key with one policy on it, and that policy's applied list. */
async function keyWith(input: Record<string, unknown>) {
  const key = seed(t).apiKey("member");
  const policyId = await s.policy(input, [key.id]);
  const applied = e.gather(targets(t, { apiKeyId: key.id }));
  return { key, policyId, applied };
}

describe("gather and forVirtualKey", () => {
  it("brings the policies of the API key, the route and the workspace, each naming its target", async () => {
    const ws = await s.workspace();
    const key = seed(t).apiKey("member", ws);
    const vk = await s.virtualKey(ws);
    const route = await s.route(vk, ws);
    const onKey = await s.policy({}, [key.id]);
    const onRoute = await s.policy({}, [route]);
    const onWs = await s.policy({}, [ws]);
    const onVk = await s.policy({}, [vk]);
    const everywhere = await s.policy({}, [key.id, ws]);
    await s.policy({}); // attached to nothing

    const applied = e.gather(targets(t, { apiKeyId: key.id, routeId: route, workspaceId: ws, userId: "usr_0000000000000000000000" }));
    // Grouped by target in that order; within a target, oldest policy first.
    expect(applied.map((a) => a.targetId)).toEqual([key.id, key.id, route, ws, ws]);
    expect(pairs(applied).sort()).toEqual(
      [
        [onKey, key.id],
        [everywhere, key.id],
        [onRoute, route],
        [onWs, ws],
        [everywhere, ws],
      ].sort(),
    );
    expect(applied.find((a) => a.policy.id === onKey)!.policy).toMatchObject({ organizationId: t.organizationId, deniedModels: [], budgetLimitUsd: null });
    expect(pairs(e.forVirtualKey(t.organizationId, vk))).toEqual([[onVk, vk]]);
    expect(e.gather(targets(t, {}))).toEqual([]);
  });

  it("finds nothing for another organization's targets, whatever the IDs", async () => {
    const key = seed(t).apiKey("member");
    const vk = await s.virtualKey();
    await s.policy({}, [key.id, vk]);
    const other = t.createOrganization("Gather elsewhere");
    expect(e.gather(targets(t, { organizationId: other.organizationId, apiKeyId: key.id }))).toEqual([]);
    expect(e.forVirtualKey(other.organizationId, vk)).toEqual([]);
  });

  it("sees every attach, detach and change at once, and one made by another connection from the next turn on", async () => {
    const key = seed(t).apiKey("member");
    const call = targets(t, { apiKeyId: key.id });
    expect(e.gather(call)).toEqual([]);
    const p = await s.policy({ allowedModels: ["gpt-4o*"] }, [key.id]);
    expect(pairs(e.gather(call))).toEqual([[p, key.id]]);
    expect(codeOf(() => e.checkModel(e.gather(call), "claude-3"))).toBe("MODEL_NOT_ALLOWED");
    await s.update({ id: p, removeAllowedModels: true });
    expect(codeOf(() => e.checkModel(e.gather(call), "claude-3"))).toBe("none");
    await s.detach(p, key.id);
    expect(e.gather(call)).toEqual([]);

    const Database = (await import("better-sqlite3")).default;
    const other = new Database(t.server.database.path);
    try {
      other.prepare("INSERT INTO policy_attachments (policy_id, organization_id, target_kind, target_id, created_at) VALUES (?, ?, 'ApiKey', ?, ?)").run(p, t.organizationId, key.id, Date.now());
    } finally {
      other.close();
    }
    await nextTurn();
    expect(pairs(e.gather(call))).toEqual([[p, key.id]]);
  });
});

describe("checkModel", () => {
  it("needs every policy to allow the model, a denial winning, and never echoes the model", async () => {
    const ws = await s.workspace();
    const key = seed(t).apiKey("member", ws);
    const broad = await s.policy({ allowedModels: ["gpt-4o*", "claude-*"] }, [key.id]);
    const narrow = await s.policy({ deniedModels: ["gpt-4o-mini*"] }, [ws]);
    const applied = e.gather(targets(t, { apiKeyId: key.id, workspaceId: ws }));
    expect(codeOf(() => e.checkModel(applied, "gpt-4o"))).toBe("none");
    expect(codeOf(() => e.checkModel(applied, "claude-3-5-sonnet"))).toBe("none");
    const denied = thrown(() => e.checkModel(applied, "gpt-4o-mini-2024-07-18"));
    expect(denied).toMatchObject({ message: `The model is not allowed by policy ${narrow}`, extensions: { code: "MODEL_NOT_ALLOWED" } });
    const secretish = "sk-live-looks-like-a-secret";
    const refused = thrown(() => e.checkModel(applied, secretish));
    expect(refused.message).toBe(`The model is not allowed by policy ${broad}`);
    expect(JSON.stringify(refused)).not.toContain(secretish);
    expect(codeOf(() => e.checkModel(applied, "GPT-4O-MINI"))).toBe("MODEL_NOT_ALLOWED");
  });

  it("an empty allow list allows nothing", async () => {
    const { applied } = await keyWith({ allowedModels: [] });
    expect(codeOf(() => e.checkModel(applied, "gpt-4o"))).toBe("MODEL_NOT_ALLOWED");
  });
});

describe("checkAddress", () => {
  it("allows IPv4 and IPv6 callers inside the ranges and refuses the rest", async () => {
    const { policyId, applied } = await keyWith({ allowedIpRanges: ["203.0.113.0/24", "2001:db8::/32"] });
    for (const ip of ["203.0.113.7", "2001:db8::1", "2001:DB8:ffff::9", "::ffff:203.0.113.200", "::ffff:cb00:7105"]) {
      expect(codeOf(() => e.checkAddress(applied, ip)), ip).toBe("none");
    }
    for (const ip of ["203.0.114.1", "198.51.100.1", "2001:db9::1", "::ffff:198.51.100.1", "::1", "fe80::1", "64:ff9b::cb00:7107"]) {
      expect(codeOf(() => e.checkAddress(applied, ip)), ip).toBe("FORBIDDEN");
    }
    expect(thrown(() => e.checkAddress(applied, "198.51.100.1")).message).toBe(`The caller's address is not allowed by policy ${policyId}`);
  });

  it("refuses an unknown address when a policy restricts addresses, and lets it through when none does", async () => {
    const { applied } = await keyWith({ allowedIpRanges: ["0.0.0.0/0"] });
    expect(codeOf(() => e.checkAddress(applied, "192.0.2.1"))).toBe("none");
    for (const ip of [null, "unknown", "", "not an address"]) expect(codeOf(() => e.checkAddress(applied, ip)), String(ip)).toBe("FORBIDDEN");
    const free = await keyWith({});
    expect(codeOf(() => e.checkAddress(free.applied, null))).toBe("none");
  });

  it("matches an IPv4 caller against IPv4 ranges, given as mapped IPv6 too; an empty list allows nobody", async () => {
    const mapped = await keyWith({ allowedIpRanges: ["::ffff:192.0.2.0/120"] });
    expect(codeOf(() => e.checkAddress(mapped.applied, "192.0.2.55"))).toBe("none");
    expect(codeOf(() => e.checkAddress(mapped.applied, "::ffff:192.0.2.55"))).toBe("none");
    expect(codeOf(() => e.checkAddress(mapped.applied, "192.0.3.1"))).toBe("FORBIDDEN");
    const v6only = await keyWith({ allowedIpRanges: ["::/0"] });
    expect(codeOf(() => e.checkAddress(v6only.applied, "192.0.2.55"))).toBe("FORBIDDEN");
    expect(codeOf(() => e.checkAddress(v6only.applied, "2001:db8::5"))).toBe("none");
    const none = await keyWith({ allowedIpRanges: [] });
    expect(codeOf(() => e.checkAddress(none.applied, "192.0.2.55"))).toBe("FORBIDDEN");
  });
});

describe("rate limits", () => {
  it("counts requests per minute and rolls the window over with the clock", async () => {
    t.clock.set(new Date("2026-03-02T10:00:00.000Z"));
    const { policyId, applied } = await keyWith({ rateLimit: { requestsPerMinute: 2 } });
    e.admit(applied, ONE_CALL);
    e.admit(applied, ONE_CALL);
    const refused = thrown(() => e.admit(applied, ONE_CALL));
    expect(refused).toMatchObject({ message: `Too many requests per minute under policy ${policyId}`, extensions: { code: "RATE_LIMITED", retryAfterSeconds: 90 } });
    // Half a minute into the next window half of the previous one still counts: 2 * 0.5 + 0 = 1.
    t.clock.set(new Date("2026-03-02T10:01:30.000Z"));
    e.admit(applied, ONE_CALL);
    expect(codeOf(() => e.admit(applied, ONE_CALL))).toBe("RATE_LIMITED");
    t.clock.set(new Date("2026-03-02T10:03:00.000Z"));
    e.admit(applied, ONE_CALL);
    e.admit(applied, ONE_CALL);
    expect(codeOf(() => e.admit(applied, ONE_CALL))).toBe("RATE_LIMITED");
  });

  it("counts tokens, corrected to the actual tokens on settle and given back on release", async () => {
    t.clock.set(new Date("2026-03-02T11:00:00.000Z"));
    const { policyId, applied } = await keyWith({ rateLimit: { tokensPerMinute: 1000 } });
    const a = e.admit(applied, { requests: 1, tokens: 600, costUsd: 0 });
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 600, costUsd: 0 }))).toBe("RATE_LIMITED");
    e.settle(a, { tokens: 100, costUsd: 0 });
    const b = e.admit(applied, { requests: 1, tokens: 900, costUsd: 0 });
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 1, costUsd: 0 }))).toBe("RATE_LIMITED");
    e.release(b);
    e.admit(applied, { requests: 1, tokens: 900, costUsd: 0 });
    expect(thrown(() => e.admit(applied, { requests: 1, tokens: 1001, costUsd: 0 }))).toMatchObject({
      message: `The call needs more tokens than policy ${policyId} allows per minute`,
      extensions: { code: "RATE_LIMITED" },
    });
    // Used up entirely: even a call estimated at no tokens waits.
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 0, costUsd: 0 }))).toBe("RATE_LIMITED");
  });

  it("a released call's request stays counted", async () => {
    t.clock.set(new Date("2026-03-02T12:00:00.000Z"));
    const { applied } = await keyWith({ rateLimit: { requestsPerMinute: 1, tokensPerMinute: 1000 } });
    e.release(e.admit(applied, ONE_CALL));
    expect(codeOf(() => e.admit(applied, ONE_CALL))).toBe("RATE_LIMITED");
  });

  it("gives the time until a call fits as retryAfterSeconds", async () => {
    t.clock.set(new Date("2026-03-02T13:00:45.000Z"));
    const { applied } = await keyWith({ rateLimit: { requestsPerMinute: 3 } });
    for (let i = 0; i < 3; i++) e.admit(applied, ONE_CALL);
    expect(thrown(() => e.admit(applied, ONE_CALL)).extensions.retryAfterSeconds).toBe(35);
    t.clock.set(new Date("2026-03-02T13:01:35.000Z"));
    e.admit(applied, ONE_CALL);
  });
});

describe("budgets", () => {
  it("refuses a call that would take spent + reserved over the limit, and frees the reservation on settle", async () => {
    t.clock.set(new Date("2026-03-04T09:00:00.000Z"));
    const { key, policyId, applied } = await keyWith({ budget: { limitUsd: 3, period: "DAY" } });
    const a = e.admit(applied, ONE_CALL);
    const b = e.admit(applied, ONE_CALL);
    e.admit(applied, ONE_CALL);
    expect(thrown(() => e.admit(applied, ONE_CALL))).toMatchObject({ message: `The budget of policy ${policyId} does not allow this call`, extensions: { code: "BUDGET_EXCEEDED" } });
    expect(counters(policyId)).toEqual([{ policyId, targetId: key.id, periodStart: new Date("2026-03-04T00:00:00.000Z"), spentUsd: 0, reservedUsd: 3 }]);
    e.settle(a, { tokens: 10, costUsd: 0.25 });
    e.release(b);
    expect(counters(policyId)[0]).toMatchObject({ spentUsd: 0.25, reservedUsd: 1 });
    e.admit(applied, { requests: 1, tokens: 1, costUsd: 1.75 });
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 1, costUsd: 0.01 }))).toBe("BUDGET_EXCEEDED");
    // Nothing left at all: a call estimated at zero is refused too.
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 1, costUsd: 0 }))).toBe("BUDGET_EXCEEDED");
  });

  it("lets float noise fit: three calls of 0.1 in a budget of 0.3", async () => {
    const { applied } = await keyWith({ budget: { limitUsd: 0.3, period: "TOTAL" } });
    for (let i = 0; i < 3; i++) e.settle(e.admit(applied, { requests: 1, tokens: 1, costUsd: 0.1 }), { tokens: 1, costUsd: 0.1 });
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 1, costUsd: 0 }))).toBe("BUDGET_EXCEEDED");
  });

  it.each([
    ["DAY", "2026-03-04T23:59:59.999Z", "2026-03-04T00:00:00.000Z", "2026-03-05T00:00:00.000Z"],
    ["WEEK", "2026-03-08T23:59:59.999Z", "2026-03-02T00:00:00.000Z", "2026-03-09T00:00:00.000Z"],
    ["MONTH", "2026-02-28T23:59:59.999Z", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
  ])("a %s budget starts again at the UTC boundary", async (period, last, start, next) => {
    t.clock.set(new Date(last));
    const { key, policyId, applied } = await keyWith({ budget: { limitUsd: 1, period } });
    e.settle(e.admit(applied, ONE_CALL), { tokens: 1, costUsd: 1 });
    expect(codeOf(() => e.admit(applied, ONE_CALL))).toBe("BUDGET_EXCEEDED");
    t.clock.set(new Date(next));
    e.admit(applied, ONE_CALL);
    expect(counters(policyId).map((c) => [c.targetId, c.periodStart.toISOString(), c.spentUsd, c.reservedUsd])).toEqual([
      [key.id, start, 1, 0],
      [key.id, next, 0, 1],
    ]);
  });

  it("a TOTAL budget never starts again", async () => {
    t.clock.set(new Date("2026-01-01T00:00:00.000Z"));
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 1, period: "TOTAL" } });
    e.settle(e.admit(applied, ONE_CALL), { tokens: 1, costUsd: 1 });
    t.clock.set(new Date("2031-06-15T00:00:00.000Z"));
    expect(codeOf(() => e.admit(applied, ONE_CALL))).toBe("BUDGET_EXCEEDED");
    expect(counters(policyId).map((c) => c.periodStart.getTime())).toEqual([0]);
  });

  it("keeps a call's cost in the period it was admitted in, when it settles after the boundary", async () => {
    t.clock.set(new Date("2026-03-04T23:59:59.000Z"));
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 5, period: "DAY" } });
    const a = e.admit(applied, ONE_CALL);
    t.clock.set(new Date("2026-03-05T00:00:01.000Z"));
    e.settle(a, { tokens: 1, costUsd: 2 });
    expect(counters(policyId).map((c) => [c.periodStart.toISOString(), c.spentUsd, c.reservedUsd])).toEqual([["2026-03-04T00:00:00.000Z", 2, 0]]);
  });

  it("counts each API key, virtual key and workspace its own spend", async () => {
    t.clock.set(new Date("2026-03-04T09:00:00.000Z"));
    const ws = await s.workspace();
    const k1 = seed(t).apiKey("member", ws);
    const k2 = seed(t).apiKey("member", ws);
    const vk1 = await s.virtualKey(ws);
    const vk2 = await s.virtualKey(ws);
    const p = await s.policy({ budget: { limitUsd: 1, period: "DAY" } }, [k1.id, k2.id, vk1, vk2, ws]);
    const viaK1 = e.gather(targets(t, { apiKeyId: k1.id }));
    const viaK2 = e.gather(targets(t, { apiKeyId: k2.id }));
    e.admit(viaK1, ONE_CALL);
    expect(codeOf(() => e.admit(viaK1, ONE_CALL))).toBe("BUDGET_EXCEEDED");
    e.admit(viaK2, ONE_CALL);
    e.admit(e.forVirtualKey(t.organizationId, vk1), ONE_CALL);
    e.admit(e.forVirtualKey(t.organizationId, vk2), ONE_CALL);
    expect(codeOf(() => e.admit(e.forVirtualKey(t.organizationId, vk2), ONE_CALL))).toBe("BUDGET_EXCEEDED");
    e.admit(e.gather(targets(t, { workspaceId: ws })), ONE_CALL);
    // Through key 1 and its workspace at once: both totals are used up.
    expect(codeOf(() => e.admit(e.gather(targets(t, { apiKeyId: k1.id, workspaceId: ws })), { requests: 1, tokens: 1, costUsd: 0 }))).toBe("BUDGET_EXCEEDED");
    expect(new Set(counters(p).map((c) => c.targetId))).toEqual(new Set([k1.id, k2.id, vk1, vk2, ws]));
  });

  it("counts rate limits per target too", async () => {
    t.clock.set(new Date("2026-03-04T09:10:00.000Z"));
    const k1 = seed(t).apiKey("member");
    const k2 = seed(t).apiKey("member");
    await s.policy({ rateLimit: { requestsPerMinute: 1 } }, [k1.id, k2.id]);
    e.admit(e.gather(targets(t, { apiKeyId: k1.id })), ONE_CALL);
    expect(codeOf(() => e.admit(e.gather(targets(t, { apiKeyId: k1.id })), ONE_CALL))).toBe("RATE_LIMITED");
    e.admit(e.gather(targets(t, { apiKeyId: k2.id })), ONE_CALL);
  });

  it("never shares counters between organizations", async () => {
    t.clock.set(new Date("2026-03-04T09:20:00.000Z"));
    const other = t.createOrganization("Budget elsewhere");
    const theirs = steps(t, other.ownerKey);
    const ourKey = seed(t).apiKey("member");
    const theirKey = seed(t, other.organizationId).apiKey("member");
    const input = { budget: { limitUsd: 1, period: "DAY" }, rateLimit: { requestsPerMinute: 1 } };
    const ours = await s.policy(input, [ourKey.id]);
    const theirsId = await theirs.policy(input, [theirKey.id]);
    e.settle(e.admit(e.gather(targets(t, { apiKeyId: ourKey.id })), ONE_CALL), { tokens: 1, costUsd: 1 });
    const theirApplied = e.gather(targets(t, { organizationId: other.organizationId, apiKeyId: theirKey.id }));
    expect(pairs(theirApplied)).toEqual([[theirsId, theirKey.id]]);
    e.admit(theirApplied, ONE_CALL);
    expect(counters(ours)).toHaveLength(1);
    expect(counters(theirsId)).toMatchObject([{ targetId: theirKey.id, spentUsd: 0, reservedUsd: 1 }]);
  });
});

describe("admission is all or nothing", () => {
  it("a budget refused by a later policy leaves no reservation or request counted by an earlier one", async () => {
    t.clock.set(new Date("2026-03-06T10:00:00.000Z"));
    const ws = await s.workspace();
    const key = seed(t).apiKey("member", ws);
    const generous = await s.policy({ rateLimit: { requestsPerMinute: 2, tokensPerMinute: 250 }, budget: { limitUsd: 10, period: "DAY" } }, [key.id]);
    const tight = await s.policy({ budget: { limitUsd: 1.5, period: "DAY" } }, [ws]);
    const applied = e.gather(targets(t, { apiKeyId: key.id, workspaceId: ws }));
    expect(pairs(applied)).toEqual([
      [generous, key.id],
      [tight, ws],
    ]);
    for (let i = 0; i < 5; i++) expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 100, costUsd: 2 }))).toBe("BUDGET_EXCEEDED");
    expect(counters(generous).map((c) => c.reservedUsd)).toEqual([]);
    // Had any refused call counted its request or tokens, these two would not both fit.
    e.admit(applied, { requests: 1, tokens: 100, costUsd: 0.5 });
    e.admit(applied, { requests: 1, tokens: 100, costUsd: 0.5 });
    expect(counters(generous)[0].reservedUsd).toBe(1);
    expect(counters(tight)[0].reservedUsd).toBe(1);
  });

  it("a rate limit refused by a later policy gives back what earlier policies counted", async () => {
    t.clock.set(new Date("2026-03-06T11:00:00.000Z"));
    const ws = await s.workspace();
    const key = seed(t).apiKey("member", ws);
    await s.policy({ rateLimit: { requestsPerMinute: 3, tokensPerMinute: 300 } }, [key.id]);
    const strict = await s.policy({ rateLimit: { requestsPerMinute: 1 } }, [ws]);
    const both = e.gather(targets(t, { apiKeyId: key.id, workspaceId: ws }));
    const keyOnly = e.gather(targets(t, { apiKeyId: key.id }));
    e.admit(both, ONE_CALL);
    for (let i = 0; i < 4; i++) expect(thrown(() => e.admit(both, ONE_CALL)).message).toContain(strict);
    e.admit(keyOnly, ONE_CALL);
    e.admit(keyOnly, ONE_CALL);
    expect(codeOf(() => e.admit(keyOnly, ONE_CALL))).toBe("RATE_LIMITED");
  });

  it("counts the same policy through the same target once, however often the caller lists it", async () => {
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 2, period: "TOTAL" } });
    e.admit([...applied, ...applied, ...applied], ONE_CALL);
    expect(counters(policyId)[0].reservedUsd).toBe(1);
  });
});

describe("settling inside a grouped transaction that rolls back", () => {
  /** An enforcer whose settlements commit with a group, as a model call's do. */
  function grouped() {
    const sqlite = t.server.database.sqlite;
    const group = new GroupCommit(sqlite, new ChangeMark(sqlite));
    return { group, grouped: new PolicyEnforcer(t.server.database.db, t.clock, { group }) };
  }
  /** A write that breaks a deferred foreign key: it passes, and the group's COMMIT then fails. */
  const breaksCommit = () => {
    t.server.database.sqlite.pragma("defer_foreign_keys = ON");
    t.server.database.sqlite
      .prepare("INSERT INTO usage_texts (usage_record_id, organization_id, prompt_text, completion_text, created_at) VALUES ('use_0000000000000000000000', ?, NULL, NULL, 0)")
      .run(t.organizationId);
  };

  it("settles again on its own when the COMMIT fails: the reservation is not held until the period ends", async () => {
    const { group, grouped: g } = grouped();
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 2, period: "TOTAL" } });
    const a = g.admit(applied, ONE_CALL);
    expect(counters(policyId)[0]).toMatchObject({ spentUsd: 0, reservedUsd: 1 });
    const settled = group.run(() => g.settle(a, { tokens: 1, costUsd: 0.25 }));
    const broken = group.run(breaksCommit);
    await expect(settled).rejects.toThrow(/FOREIGN KEY constraint failed/);
    await expect(broken).rejects.toThrow(/FOREIGN KEY constraint failed/);
    await nextTurn();
    expect(counters(policyId)[0]).toMatchObject({ spentUsd: 0.25, reservedUsd: 0 });
    expect(g.openAdmissions).toBe(0);
    // The budget has its room back: 1.75 left.
    g.settle(g.admit(applied, { requests: 1, tokens: 1, costUsd: 1.75 }), { tokens: 1, costUsd: 1.75 });
    expect(counters(policyId)[0]).toMatchObject({ spentUsd: 2, reservedUsd: 0 });
  });

  it("settles again on its own when its own savepoint rolls back, and leaves the other writes of the group committed", async () => {
    const { group, grouped: g } = grouped();
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 5, period: "TOTAL" } });
    const a = g.admit(applied, ONE_CALL);
    const b = g.admit(applied, ONE_CALL);
    const failing = group.run(() => {
      g.settle(a, { tokens: 1, costUsd: 0.5 });
      throw new Error("the write failed after settling");
    });
    const fine = group.run(() => g.settle(b, { tokens: 1, costUsd: 0.25 }));
    await expect(failing).rejects.toThrow("the write failed after settling");
    await fine;
    await nextTurn();
    expect(counters(policyId)[0]).toMatchObject({ spentUsd: 0.75, reservedUsd: 0 });
    expect(g.openAdmissions).toBe(0);
  });
});

describe("settle and release", () => {
  it("do their work once: a second settle or release, in any order, changes nothing", async () => {
    t.clock.set(new Date("2026-03-07T10:00:00.000Z"));
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 10, period: "DAY" }, rateLimit: { tokensPerMinute: 1000 } });
    const a = e.admit(applied, { requests: 1, tokens: 400, costUsd: 2 });
    const b = e.admit(applied, { requests: 1, tokens: 400, costUsd: 3 });
    expect(e.openAdmissions).toBe(2);
    e.settle(a, { tokens: 100, costUsd: 1.5 });
    e.settle(a, { tokens: 100, costUsd: 1.5 });
    e.release(a);
    e.release(b);
    e.release(b);
    e.settle(b, { tokens: 900, costUsd: 9 });
    expect(e.openAdmissions).toBe(0);
    expect(counters(policyId)).toMatchObject([{ spentUsd: 1.5, reservedUsd: 0 }]);
    // 100 tokens used: 900 fit, 901 do not.
    expect(codeOf(() => e.admit(applied, { requests: 1, tokens: 901, costUsd: 0 }))).toBe("RATE_LIMITED");
    e.admit(applied, { requests: 1, tokens: 900, costUsd: 0 });
  });

  it("an admission with no limits to count is free and settles as a no-op", async () => {
    const { applied } = await keyWith({ allowedModels: ["gpt-4o"] });
    const a = e.admit(applied, ONE_CALL);
    e.settle(a, { tokens: 1, costUsd: 1 });
    e.release(e.admit([], ONE_CALL));
    expect(e.openAdmissions).toBe(0);
  });

  it("refuses nonsense numbers before counting anything", async () => {
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 10, period: "TOTAL" } });
    for (const bad of [{ requests: 1, tokens: 1, costUsd: -1 }, { requests: 1, tokens: Number.NaN, costUsd: 1 }, { requests: Infinity, tokens: 1, costUsd: 1 }]) {
      expect(() => e.admit(applied, bad)).toThrow(TypeError);
    }
    expect(counters(policyId)).toEqual([]);
    const a = e.admit(applied, ONE_CALL);
    expect(() => e.settle(a, { tokens: 1, costUsd: Number.NaN })).toThrow(TypeError);
    e.settle(a, { tokens: 1, costUsd: 1 });
    expect(counters(policyId)).toMatchObject([{ spentUsd: 1, reservedUsd: 0 }]);
  });

  it("a reservation whose target or policy was deleted meanwhile settles without error", async () => {
    const { policyId, applied } = await keyWith({ budget: { limitUsd: 10, period: "TOTAL" } });
    const a = e.admit(applied, ONE_CALL);
    await t.client(t.ownerKey).data(`mutation($id: ID!) { deletePolicy(id: $id) { deletedId } }`, { id: policyId });
    e.settle(a, { tokens: 1, costUsd: 1 });
    expect(counters(policyId)).toEqual([]);
    // Admitting against a policy deleted since it was gathered skips its budget.
    e.settle(e.admit(applied, ONE_CALL), { tokens: 1, costUsd: 1 });
    expect(counters(policyId)).toEqual([]);
  });
});
