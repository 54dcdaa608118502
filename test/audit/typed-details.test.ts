// Typed audit events: each action's details keep the fields its schema names and nothing else,
// so a value passed along in an object never reaches the log by accident, and a harmless field
// is no longer dropped for its name (a policy's tokensPerMinute).
import { readFileSync } from "node:fs";
import { buildSchema, type GraphQLObjectType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_DETAILS, AuditDetailsError, auditDetails, isAuditAction } from "../../src/modules/audit/audit-details.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { PRIVATE_NETWORK, providerKey } from "../invoke/helpers.js";
import { startServer, type TestServer } from "../harness/server.js";

const CANARY = "sk-canary-TYPED-AUDIT-0f3a9c";
const EVENTS = `query($a: String) { auditEvents(first: 100, filter: {action: $a}) { nodes { action outcome details } } }`;

let t: TestServer;
let mock: MockProvider;
beforeAll(async () => {
  mock = await startMockProvider();
  t = await startServer({ env: PRIVATE_NETWORK });
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});

async function events(action: string): Promise<{ outcome: string; details: Record<string, any> | null }[]> {
  return (await t.client(t.ownerKey).data(EVENTS, { a: action })).auditEvents.nodes;
}

describe("audit details", () => {
  it("has a schema for every mutation of the API, so that every change and every refusal is recorded by one", () => {
    const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));
    const mutations = Object.keys((schema.getMutationType() as GraphQLObjectType).getFields());
    expect(mutations.length).toBeGreaterThan(20);
    expect(mutations.filter((m) => !isAuditAction(m))).toEqual([]);
  });

  it("records a policy's token rate limit, and of its description only that there is one", async () => {
    const input = { name: "tpm", description: `call ${CANARY} if paged`, rateLimit: { requestsPerMinute: 60, tokensPerMinute: 90_000 } };
    await t.client(t.ownerKey).data("mutation($input: CreatePolicyInput!) { createPolicy(input: $input) { id } }", { input });
    const [created] = await events("createPolicy");
    expect(created.details).toMatchObject({ name: "tpm", description: true, rateLimit: { rpm: 60, tpm: 90_000 } });
    expect(JSON.stringify(created)).not.toContain(CANARY);
  });

  it("a refused mutation records its error code only, none of its hostile arguments", async () => {
    const code = await t.client(t.ownerKey).errorCode("mutation($n: String!) { createRole(input: {name: $n, permissions: [MODEL_INVOKE]}) { id } }", { n: `${CANARY}\r\n\u001b[31m`.repeat(200) });
    expect(code).toBe("BAD_USER_INPUT");
    const [refused] = await events("createRole");
    expect(refused).toEqual({ action: "createRole", outcome: "FAILURE", details: { code: "BAD_USER_INPUT" } });
  });

  it("keeps a model call's labels but drops any label that names a secret, at any depth", async () => {
    const owner = t.client(t.ownerKey);
    const vk = await providerKey(t, mock.url, { secret: "sk-provider-secret-typed-0123456789" });
    const metadata = { team: "search", apiKey: CANARY, nested: { password: CANARY, region: "eu" }, list: [{ bearer: CANARY, n: 1 }] };
    await owner.data("mutation($i: InvokeModelInput!) { invokeModel(input: $i) { id } }", {
      i: { virtualKey: vk.id, model: "gpt-4o", messages: [{ role: "USER", content: "hi" }], metadata },
    });
    const [call] = await events("invokeModel");
    expect(call.details!.metadata).toEqual({ team: "search", nested: { region: "eu" }, list: [{ n: 1 }] });
    expect(JSON.stringify(await events("createVirtualKey"))).not.toContain("sk-provider-secret-typed-0123456789");
  });
});

describe("auditDetails", () => {
  it("keeps the fields the action's schema names and drops every other", () => {
    const given = { name: "a", slug: "a", provider: "OPENAI", baseUrl: null, providerOptions: null, version: 1, policyIds: [], secret: CANARY, sealed: { key: CANARY } };
    const kept = auditDetails("createVirtualKey", "SUCCESS", given);
    expect(kept).toEqual({ name: "a", slug: "a", provider: "OPENAI", baseUrl: null, providerOptions: null, version: 1, policyIds: [] });
    expect(auditDetails("createVirtualKey", "DENIED", { code: "FORBIDDEN", message: CANARY })).toEqual({ code: "FORBIDDEN" });
    expect(auditDetails("authenticate", "DENIED", { reason: "bad_secret", token: CANARY })).toEqual({ reason: "bad_secret" });
  });

  it("refuses details that do not fit, and an action without a schema, instead of recording them half", () => {
    expect(() => auditDetails("createWorkspace", "SUCCESS", { name: 7, slug: "x" })).toThrow(AuditDetailsError);
    expect(() => auditDetails("createWorkspace", "FAILURE", { code: "NOT_A_CODE" })).toThrow(AuditDetailsError);
    expect(() => auditDetails("noSuchAction", "SUCCESS", { a: 1 })).toThrow(/no audit details schema for the action noSuchAction/);
    expect(auditDetails("noSuchAction", "SUCCESS", null)).toBeNull();
    expect(Object.keys(AUDIT_DETAILS)).toContain("authenticate");
  });
});
