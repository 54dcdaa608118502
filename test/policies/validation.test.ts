// Every way a policy input can be refused: BAD_USER_INPUT with the field named, and never the
// value that was sent (it could be anything pasted, a secret included).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/ids.js";
import { MAX_BUDGET_USD, MAX_IP_RANGES, MAX_MODEL_PATTERNS, MAX_REQUESTS_PER_MINUTE, MAX_TOKENS_PER_MINUTE } from "../../src/modules/policies/policy.validation.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ATTACH, CREATE, UPDATE } from "./helpers.js";

let t: TestServer;
let policyId: string;
beforeAll(async () => {
  t = await startServer();
  policyId = (await t.client(t.ownerKey).data(CREATE, { input: { name: "valid" } })).createPolicy.id;
});
afterAll(() => t.stop());

const CANARY = "sk-canary9f8e7d";

/** The refusal of a create and of an update with the same fields, both BAD_USER_INPUT naming the field. */
async function expectRefused(fields: Record<string, unknown>, field: string) {
  const owner = t.client(t.ownerKey);
  for (const [doc, input] of [
    [CREATE, { name: "p", ...fields }],
    [UPDATE, { id: policyId, ...fields }],
  ] as const) {
    const res = await owner.query(doc, { input });
    const error = res.body.errors?.[0];
    expect(error?.extensions.code, res.text).toBe("BAD_USER_INPUT");
    expect(error?.extensions.field, res.text).toBe(field);
    expect(res.text).not.toContain("canary9f8e7d");
  }
}

describe("policy validation", () => {
  it("bounds names and descriptions", async () => {
    await expectRefused({ name: "   " }, "name");
    await expectRefused({ name: "x".repeat(201) }, "name");
    await expectRefused({ name: `bad\u0007${CANARY}` }, "name");
    await expectRefused({ description: "d".repeat(1001) }, "description");
    await expectRefused({ description: `bell\u0007${CANARY}` }, "description");
    await expectRefused({ description: `right-to-left \u202e${CANARY}` }, "description");
  });

  it("accepts only safe, bounded model globs", async () => {
    for (const field of ["allowedModels", "deniedModels"]) {
      await expectRefused({ [field]: [""] }, field);
      await expectRefused({ [field]: ["g".repeat(129)] }, field);
      await expectRefused({ [field]: [`gpt-4o ${CANARY}`] }, field);
      await expectRefused({ [field]: [`gpt-[4]o${CANARY}`] }, field);
      await expectRefused({ [field]: ["gpt?"] }, field);
      await expectRefused({ [field]: ["(a+)+$"] }, field);
      await expectRefused({ [field]: ["a*b*c*d*e*f*g*h*i*"] }, field);
      await expectRefused({ [field]: Array.from({ length: MAX_MODEL_PATTERNS + 1 }, (_, i) => `m${i}`) }, field);
    }
  });

  it("wants positive whole rate limits within their maxima, and at least one of them", async () => {
    await expectRefused({ rateLimit: {} }, "rateLimit");
    await expectRefused({ rateLimit: { requestsPerMinute: null, tokensPerMinute: null } }, "rateLimit");
    await expectRefused({ rateLimit: { requestsPerMinute: 0 } }, "rateLimit.requestsPerMinute");
    await expectRefused({ rateLimit: { requestsPerMinute: -5 } }, "rateLimit.requestsPerMinute");
    await expectRefused({ rateLimit: { requestsPerMinute: MAX_REQUESTS_PER_MINUTE + 1 } }, "rateLimit.requestsPerMinute");
    await expectRefused({ rateLimit: { tokensPerMinute: 0 } }, "rateLimit.tokensPerMinute");
    await expectRefused({ rateLimit: { tokensPerMinute: MAX_TOKENS_PER_MINUTE + 1 } }, "rateLimit.tokensPerMinute");
  });

  it("wants a budget above zero, finite and bounded", async () => {
    await expectRefused({ budget: { limitUsd: 0, period: "DAY" } }, "budget.limitUsd");
    await expectRefused({ budget: { limitUsd: -1, period: "DAY" } }, "budget.limitUsd");
    await expectRefused({ budget: { limitUsd: MAX_BUDGET_USD * 2, period: "DAY" } }, "budget.limitUsd");
    // An unknown period never reaches the service: GraphQL refuses the enum value, without echoing it.
    const res = await t.client(t.ownerKey).query(CREATE, { input: { name: "p", budget: { limitUsd: 1, period: CANARY } } });
    expect(res.body.errors?.[0].extensions.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect(res.text).not.toContain("canary9f8e7d");
  });

  it("accepts only real IPv4 and IPv6 addresses and CIDR ranges", async () => {
    for (const bad of [CANARY, "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/8/8", "10.1", "0x0a.0.0.1", "010.0.0.1", "256.0.0.1", "fe80::1%eth0", "10.0.0.0/-1", "example.com", "a".repeat(65)]) {
      await expectRefused({ allowedIpRanges: [bad] }, "allowedIpRanges");
    }
    await expectRefused({ allowedIpRanges: Array.from({ length: MAX_IP_RANGES + 1 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`) }, "allowedIpRanges");
  });

  it("refuses to set and remove the same restriction at once", async () => {
    const owner = t.client(t.ownerKey);
    for (const [field, value, flag] of [
      ["allowedModels", ["a"], "removeAllowedModels"],
      ["rateLimit", { requestsPerMinute: 1 }, "removeRateLimit"],
      ["budget", { limitUsd: 1, period: "DAY" }, "removeBudget"],
      ["allowedIpRanges", ["10.0.0.0/8"], "removeAllowedIpRanges"],
    ] as const) {
      const res = await owner.query(UPDATE, { input: { id: policyId, [field]: value, [flag]: true } });
      expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
  });

  it("wants targetId to name something a policy can be attached to", async () => {
    const owner = t.client(t.ownerKey);
    const userId = newId("User");
    for (const target of [CANARY, userId, newId("Role"), newId("Policy"), t.organizationId]) {
      const res = await owner.query(ATTACH, { p: policyId, t: target });
      expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "targetId" });
      expect(res.text).not.toContain("canary9f8e7d");
    }
  });

  it("attaches a workspace policy only within its own workspace", async () => {
    const s = seed(t);
    const a = s.workspace("scope-a");
    const b = s.workspace("scope-b");
    const owner = t.client(t.ownerKey);
    const inA = (await owner.data(CREATE, { input: { name: "in a", workspaceId: a } })).createPolicy.id;
    for (const target of [b, s.apiKey("viewer", b).id, s.apiKey("viewer").id]) {
      const res = await owner.query(ATTACH, { p: inA, t: target });
      expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "targetId" });
    }
    expect((await owner.data(ATTACH, { p: inA, t: s.apiKey("viewer", a).id })).attachPolicy.id).toBe(inA);
  });
});
