// invokeModel against its rules: MODEL_INVOKE where the key or route lives, workspace API keys
// confined to their workspace, NOT_FOUND across tenants and for what the caller cannot read,
// FORBIDDEN for what it reads but may not invoke; provider secrets never leave toward the
// client, the log or the audit trail, even when the provider echoes them; input validation.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BuiltInRoleName } from "../../src/auth/permission.js";
import { roleBindings, roles } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { seed } from "../harness/factories.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { customKey } from "../policies/helpers.js";
import { canary } from "../secrets/helpers.js";
import { hello, INVOKE, PRIVATE_NETWORK, providerKey, route } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;
let w1: string;
let w2: string;
type Key = { id: string; slug: string; secret: string };
let orgKey: Key, w1Key: Key, w2Key: Key;
let orgRoute: { id: string; slug: string }, w1Route: { id: string; slug: string }, w2Route: { id: string; slug: string };

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  mock = await startMockProvider();
  const s = seed(t);
  w1 = s.workspace("inv-one");
  w2 = s.workspace("inv-two");
  orgKey = await providerKey(t, mock.url);
  w1Key = await providerKey(t, mock.url, { workspaceId: w1 });
  w2Key = await providerKey(t, mock.url, { workspaceId: w2 });
  orgRoute = await route(t, { strategy: "SINGLE", targets: [{ virtualKey: orgKey.id, model: "gpt-4o" }] });
  w1Route = await route(t, { strategy: "SINGLE", workspaceId: w1, targets: [{ virtualKey: w1Key.id, model: "gpt-4o" }] });
  w2Route = await route(t, { strategy: "SINGLE", workspaceId: w2, targets: [{ virtualKey: w2Key.id, model: "gpt-4o" }] });
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});
beforeEach(() => mock.reset());

async function outcome(token: string, input: Record<string, unknown>): Promise<string> {
  const res = await t.client(token).query(INVOKE, { input: { messages: hello, ...input } });
  if (res.body.errors) return res.body.errors[0].extensions.code;
  if (!res.body.data?.invokeModel) throw new Error(res.text);
  return "OK";
}
const byKey = (key: Key) => ({ virtualKey: key.slug, model: "gpt-4o" });
const byRoute = (r: { id: string }) => ({ route: r.id });
const key = (role: BuiltInRoleName, workspaceId: string | null = null) => seed(t).apiKey(role, workspaceId).token;

/** One more role binding for an existing API key. */
function bind(apiKeyId: string, permissions: string[], workspaceId: string | null): void {
  const { db } = t.server.database;
  const at = t.clock.now();
  const roleId = newId("Role");
  db.insert(roles).values({ id: roleId, organizationId: t.organizationId, name: `extra-${roleId}`, description: null, permissions, builtIn: false, createdAt: at, updatedAt: at }).run();
  db.insert(roleBindings).values({ id: newId("RoleBinding"), organizationId: t.organizationId, roleId, principalKind: "API_KEY", principalId: apiKeyId, workspaceId, createdAt: at }).run();
}

describe("invokeModel: permissions", () => {
  it("owner, admin, manager and member organization-wide invoke keys and routes anywhere; a viewer cannot", async () => {
    for (const role of ["owner", "admin", "manager", "member"] as const) {
      const token = key(role);
      for (const input of [byKey(orgKey), byKey(w1Key), byRoute(orgRoute), byRoute(w2Route)]) expect(await outcome(token, input), `${role}`).toBe("OK");
    }
    const viewer = key("viewer");
    for (const input of [byKey(orgKey), byRoute(w1Route)]) expect(await outcome(viewer, input)).toBe("FORBIDDEN");
    expect(mock.requests).toHaveLength(16);
  });

  it("a member of one workspace invokes there only; the rest does not exist for it", async () => {
    const token = key("member", w1);
    expect(await outcome(token, byKey(w1Key))).toBe("OK");
    expect(await outcome(token, byRoute(w1Route))).toBe("OK");
    for (const input of [byKey(w2Key), byKey(orgKey), byRoute(w2Route), byRoute(orgRoute)]) expect(await outcome(token, input)).toBe("NOT_FOUND");
    expect(mock.requests).toHaveLength(2);
  });

  it("reading a key or route without MODEL_INVOKE where it lives is FORBIDDEN, not NOT_FOUND", async () => {
    // Reads keys and routes organization-wide; invokes in w1 only.
    const reader = customKey(t, ["VIRTUAL_KEY_READ", "ROUTE_READ"]);
    bind(reader.id, ["MODEL_INVOKE"], w1);
    expect(await outcome(reader.token, byKey(w1Key))).toBe("OK");
    expect(await outcome(reader.token, byRoute(w1Route))).toBe("OK");
    for (const input of [byKey(w2Key), byKey(orgKey), byRoute(w2Route), byRoute(orgRoute)]) expect(await outcome(reader.token, input)).toBe("FORBIDDEN");
    // Invoking is not reading: MODEL_INVOKE in w1 without any read still invokes there, and sees nothing elsewhere.
    const invoker = customKey(t, ["MODEL_INVOKE"], w1).token;
    expect(await outcome(invoker, byKey(w1Key))).toBe("OK");
    expect(await outcome(invoker, byKey(w2Key))).toBe("NOT_FOUND");
    // Holding MODEL_INVOKE nowhere is refused by the permission map itself.
    expect(await outcome(customKey(t, ["VIRTUAL_KEY_READ", "ROUTE_READ"]).token, byKey(w1Key))).toBe("FORBIDDEN");
  });

  it("an API key of a workspace uses only its workspace's and organization-wide keys and routes, whatever its bindings", async () => {
    // The key lives in w1 but holds the member role organization-wide.
    const token = seed(t).apiKey("member", null, { keyWorkspaceId: w1 }).token;
    for (const input of [byKey(w1Key), byKey(orgKey), byRoute(w1Route), byRoute(orgRoute)]) expect(await outcome(token, input)).toBe("OK");
    for (const input of [byKey(w2Key), byRoute(w2Route)]) expect(await outcome(token, input)).toBe("FORBIDDEN");
  });

  it("a call belongs to the API key's workspace, else to the key's or route's", async () => {
    const token = seed(t).apiKey("member", null, { keyWorkspaceId: w1 }).token;
    const res = await t.client(token).query(INVOKE, { input: { messages: hello, ...byKey(orgKey) } });
    const other = await t.client(t.ownerKey).query(INVOKE, { input: { messages: hello, ...byRoute(w2Route) } });
    const events = await t
      .client(t.ownerKey)
      .data(`query { auditEvents(filter: { action: "invokeModel" }, first: 100) { nodes { requestId workspaceId } } }`);
    const ws = (id: string) => events.auditEvents.nodes.find((e: any) => e.requestId === id)?.workspaceId;
    expect(ws(res.body.data.invokeModel.id)).toBe(w1);
    expect(ws(other.body.data.invokeModel.id)).toBe(w2);
  });

  it("another organization's keys and routes are NOT_FOUND, by ID and by slug, and nothing is called", async () => {
    const other = t.createOrganization("Invoke tenant");
    for (const input of [byKey(orgKey), { virtualKey: orgKey.id, model: "gpt-4o" }, byRoute(orgRoute), { route: orgRoute.slug }]) {
      expect(await outcome(other.ownerKey, input)).toBe("NOT_FOUND");
    }
    expect(mock.requests).toHaveLength(0);
  });

  it("a denied call leaves a DENIED event and no usage", async () => {
    const token = key("member", w1);
    const res = await t.client(token).query(INVOKE, { input: { messages: hello, ...byKey(w2Key) } });
    const requestId = res.headers.get("x-request-id");
    const events = await t.client(t.ownerKey).data(`query { auditEvents(filter: { action: "invokeModel", outcome: DENIED }, first: 100) { nodes { requestId outcome details } } }`);
    expect(events.auditEvents.nodes.filter((e: any) => e.requestId === requestId)).toEqual([{ requestId, outcome: "DENIED", details: { code: "NOT_FOUND" } }]);
  });
});

describe("invokeModel: input", () => {
  it("exactly one of virtualKey and route; a model with a virtual key; bounded parameters", async () => {
    const cases: Record<string, unknown>[] = [
      { model: "gpt-4o" },
      { virtualKey: orgKey.id, route: orgRoute.id, model: "gpt-4o" },
      { virtualKey: orgKey.id },
      { virtualKey: orgKey.id, model: " " },
      { virtualKey: orgKey.id, model: "gpt\n4o" },
      { virtualKey: orgKey.id, model: "gpt-4o", messages: [] },
      { virtualKey: orgKey.id, model: "gpt-4o", temperature: 3 },
      { virtualKey: orgKey.id, model: "gpt-4o", topP: -1 },
      { virtualKey: orgKey.id, model: "gpt-4o", maxTokens: 0 },
      { virtualKey: orgKey.id, model: "gpt-4o", metadata: [1, 2] },
      { virtualKey: orgKey.id, model: "gpt-4o", metadata: { blob: "x".repeat(5000) } },
    ];
    for (const input of cases) expect(await outcome(t.ownerKey, input), JSON.stringify(input).slice(0, 80)).toBe("BAD_USER_INPUT");
    expect(await outcome(t.ownerKey, { virtualKey: "no-such-key", model: "gpt-4o" })).toBe("NOT_FOUND");
    expect(await outcome(t.ownerKey, { route: "x".repeat(500) })).toBe("NOT_FOUND");
    expect(mock.requests).toHaveLength(0);
  });
});

describe("invokeModel: the provider secret never leaves", () => {
  it("not in responses, errors, logs or audit events, even when the provider echoes it in its error body", async () => {
    const secret = canary("invoke");
    const planted = await providerKey(t, mock.url, { secret });
    const anthropicSecret = canary("invoke-anthropic");
    const plantedAnthropic = await providerKey(t, mock.url, { secret: anthropicSecret, provider: "ANTHROPIC" });
    const texts: string[] = [];
    for (const status of [400, 401, 403, 429, 500, 503]) {
      mock.enqueue({ kind: "fail", status }, { kind: "fail", status });
      for (const k of [planted, plantedAnthropic]) {
        const res = await t.client(t.ownerKey).query(INVOKE, { input: { messages: hello, virtualKey: k.id, model: "gpt-4o" } });
        expect(res.body.errors?.[0].extensions.code, res.text).toBe("PROVIDER_ERROR");
        expect(res.body.errors?.[0].message).toBe(`The provider answered HTTP ${status}`);
        texts.push(res.text);
      }
    }
    // The mock did receive (and echo) them: the test would catch a leak.
    expect(mock.requests.map((r) => r.authorization ?? r.xApiKey)).toContain(`Bearer ${secret}`);
    expect(mock.requests.map((r) => r.authorization ?? r.xApiKey)).toContain(anthropicSecret);
    const ok = await t.client(t.ownerKey).query(INVOKE, { input: { messages: hello, virtualKey: planted.id, model: "gpt-4o" } });
    texts.push(ok.text);
    const audit = await t.client(t.ownerKey).query(`query { auditEvents(first: 100) { nodes { details } } }`);
    texts.push(audit.text);
    const usage = await t.client(t.ownerKey).query(`query { usage { requests errors } }`);
    texts.push(usage.text);
    const everything = [...texts, ...t.logs].join("\n");
    for (const s of [secret, anthropicSecret]) {
      expect(everything).not.toContain(s);
      expect(everything).not.toContain(s.slice(10));
    }
  });
});
