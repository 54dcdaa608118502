// The wire format against its rules: MODEL_INVOKE where the key or route lives (403, or 404 for
// what the caller cannot even read), workspace API keys confined to their workspace, tenants
// apart, one 401 for every bad bearer token, policies enforced, every call audited with its
// usage, provider secrets reaching only their own provider, and hostile strings refused cleanly.
import { describe, expect, it } from "vitest";
import { formatApiKey, newApiKeySecret, parseApiKey } from "../../src/crypto/api-key-format.js";
import { newId } from "../../src/ids.js";
import { seed } from "../harness/factories.js";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { identitySeed, REVOKE_KEY } from "../identity/helpers.js";
import { invokeEvents, providerKey, route } from "../invoke/helpers.js";
import { customKey, ownerAttach, ownerPolicy } from "../policies/helpers.js";
import { canary, encodings, findInDatabaseFiles } from "../secrets/helpers.js";
import { canaryValue, chat, expectWireError, hi, usageRows, wire, withoutRequestId, type WireResponse } from "./helpers.js";
import { useWireServer } from "./helpers.js";

type Key = { id: string; slug: string; secret: string };
type Route = { id: string; slug: string };

let t: TestServer;
let mockA: MockProvider;
let mockB: MockProvider;
let w1: string;
let w2: string;
let keyA: Key, keyB: Key, w1Key: Key, w2Key: Key;
let orgRoute: Route, w1Route: Route, w2Route: Route;
/** Every answer the tests received, searched for secrets at the end. */
const responses: string[] = [];

useWireServer({ PORTCULLIS_AUTH_FAILURE_LIMIT: "100000" }, 2, async (server, [a, b]) => {
  t = server;
  mockA = a;
  mockB = b;
  const s = seed(t);
  w1 = s.workspace("wire-sec-one");
  w2 = s.workspace("wire-sec-two");
  keyA = await providerKey(t, mockA.url, { secret: canary("wire-a") });
  keyB = await providerKey(t, mockB.url, { secret: canary("wire-b") });
  w1Key = await providerKey(t, mockA.url, { workspaceId: w1 });
  w2Key = await providerKey(t, mockA.url, { workspaceId: w2 });
  orgRoute = await route(t, { slug: "sec-org", strategy: "SINGLE", targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
  w1Route = await route(t, { slug: "sec-w1", workspaceId: w1, strategy: "SINGLE", targets: [{ virtualKey: w1Key.id, model: "gpt-4o" }] });
  w2Route = await route(t, { slug: "sec-w2", workspaceId: w2, strategy: "SINGLE", targets: [{ virtualKey: w2Key.id, model: "gpt-4o" }] });
});

const viaKey = (k: Key, model = "gpt-4o") => `@${k.slug}/${model}`;

async function call(token: string | null, model: string, extra: Record<string, unknown> = {}): Promise<WireResponse> {
  const res = await chat(t, token, model, extra);
  responses.push(res.text);
  return res;
}

/** The status a chat call through `model` answers, with the error's code. */
async function outcome(token: string, model: string): Promise<string> {
  const res = await call(token, model);
  if (res.status === 200) return "200";
  return `${res.status} ${expectWireError(res, res.status).code}`;
}

const providerCalls = () => mockA.requests.length + mockB.requests.length;

describe("who may call", () => {
  it("a viewer (no MODEL_INVOKE) is 403 for what it can read; nothing reaches a provider", async () => {
    const viewer = seed(t).apiKey("viewer").token;
    for (const model of [viaKey(keyA), viaKey(w1Key), orgRoute.slug, w2Route.slug, w1Route.id]) {
      const res = await call(viewer, model);
      const error = expectWireError(res, 403, "forbidden");
      expect(error.type).toBe("permission_error");
      expect(error.message).toMatch(/needs MODEL_INVOKE/);
    }
    const embed = await wire(t, "/v1/embeddings", { token: viewer, body: { model: viaKey(keyA, "text-embedding-3-small"), input: "x" } });
    expectWireError(embed, 403, "forbidden");
    const streamed = await call(viewer, orgRoute.slug, { stream: true });
    expectWireError(streamed, 403, "forbidden");
    expect(providerCalls()).toBe(0);
  });

  it("a caller that cannot even read the key or route gets the 404 of one that does not exist", async () => {
    const blind = customKey(t, ["ORGANIZATION_READ", "USAGE_READ"]).token;
    const missingKey = await call(blind, "@no-such-key/gpt-4o");
    const missingRoute = await call(blind, "no-such-route");
    for (const model of [viaKey(keyA), viaKey(w2Key)]) expect(withoutRequestId(await call(blind, model))).toEqual(withoutRequestId(missingKey));
    for (const model of [orgRoute.slug, w1Route.slug, w2Route.id]) expect(withoutRequestId(await call(blind, model))).toEqual(withoutRequestId(missingRoute));
    expectWireError(missingKey, 404, "model_not_found");
    // MODEL_INVOKE in w1 only, and no reads: w1 is callable, the rest does not exist.
    const w1Invoker = customKey(t, ["MODEL_INVOKE"], w1).token;
    expect(await outcome(w1Invoker, viaKey(w1Key))).toBe("200");
    expect(await outcome(w1Invoker, w1Route.slug)).toBe("200");
    for (const model of [viaKey(w2Key), viaKey(keyA), w2Route.slug, orgRoute.slug]) expect(await outcome(w1Invoker, model), model).toBe("404 model_not_found");
    expect(providerCalls()).toBe(2);
  });

  it("a member of one workspace invokes there only; the organization's and other workspaces' do not exist for it", async () => {
    const member = seed(t).apiKey("member", w1).token;
    expect(await outcome(member, viaKey(w1Key))).toBe("200");
    expect(await outcome(member, w1Route.slug)).toBe("200");
    for (const model of [viaKey(w2Key), viaKey(keyA), w2Route.slug, orgRoute.slug]) expect(await outcome(member, model), model).toBe("404 model_not_found");
  });

  it("an API key of a workspace uses only its workspace's and organization-wide keys and routes, whatever its bindings (403 for what it reads)", async () => {
    // The key lives in w1 but holds the member role organization-wide.
    const token = seed(t).apiKey("member", null, { keyWorkspaceId: w1 }).token;
    for (const model of [viaKey(w1Key), viaKey(keyA), w1Route.slug, orgRoute.slug]) expect(await outcome(token, model), model).toBe("200");
    for (const model of [viaKey(w2Key), w2Route.slug, w2Route.id]) {
      const res = await call(token, model);
      const error = expectWireError(res, 403, "forbidden");
      expect(error.message).toBe(`An API key of a workspace may invoke only a ${model.startsWith("@") ? "virtual key" : "route"} of its own workspace or an organization-wide one`);
    }
    const embed = await wire(t, "/v1/embeddings", { token, body: { model: viaKey(w2Key, "e"), input: "x" } });
    expectWireError(embed, 403, "forbidden");
  });

  it("a call by a workspace's API key belongs to that workspace, in its audit event and usage rows", async () => {
    const token = seed(t).apiKey("member", null, { keyWorkspaceId: w1 }).token;
    const res = await call(token, viaKey(keyA));
    expect(res.status, res.text).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    expect((await invokeEvents(t, requestId)).map((e) => e.workspaceId)).toEqual([w1]);
    expect(usageRows(t, requestId).map((r) => r.workspaceId)).toEqual([w1]);
  });

  it("another organization's key slug, key ID, route slug or route ID is a 404, and nothing is called", async () => {
    const other = t.createOrganization("Wire tenant");
    const nowhere = await call(other.ownerKey, "@no-such-key/gpt-4o");
    const nowhereRoute = await call(other.ownerKey, "no-such-route");
    for (const model of [viaKey(keyA), `@${keyA.id}/gpt-4o`, viaKey(w1Key)]) expect(withoutRequestId(await call(other.ownerKey, model)), model).toEqual(withoutRequestId(nowhere));
    for (const model of [orgRoute.slug, orgRoute.id, w2Route.slug]) expect(withoutRequestId(await call(other.ownerKey, model)), model).toEqual(withoutRequestId(nowhereRoute));
    const embed = await wire(t, "/v1/embeddings", { token: other.ownerKey, body: { model: viaKey(keyA, "e"), input: "x" } });
    expectWireError(embed, 404, "model_not_found");
    const models = await wire(t, "/v1/models", { token: other.ownerKey, method: "GET" });
    expect(models.status).toBe(200);
    expect(models.body.data).toEqual([]);
    expect(providerCalls()).toBe(0);
  });
});

describe("bearer tokens", () => {
  it("forged, malformed, revoked, expired and suspended-owner tokens all get one identical 401", async () => {
    const s = identitySeed(t);
    const revoked = s.apiKey("member");
    await t.client(t.ownerKey).data(REVOKE_KEY, { id: revoked.id });
    const expired = s.apiKey("member", null, { expiresAt: new Date(t.clock.now().getTime() - 60_000) });
    const suspendedOwner = s.user("member", null, "SUSPENDED");
    const suspendedKey = s.userKey(suspendedOwner, "member");
    const live = s.apiKey("member");
    const liveId = live.id;
    const otherOrg = t.createOrganization("Token tenant");
    const lastChar = live.token.at(-1) === "A" ? "B" : "A";
    const headers: (string | undefined)[] = [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwYXNzd29yZA==",
      `bearer ${live.token}`,
      `Bearer  ${live.token}`,
      `Bearer ${live.token}x`,
      `Bearer ${live.token.slice(0, -1)}${lastChar}`,
      // A well-formed key with a valid checksum: the right key ID, a made-up secret.
      `Bearer ${formatApiKey(liveId, newApiKeySecret())}`,
      `Bearer ${formatApiKey(newId("ApiKey"), newApiKeySecret())}`,
      // Another organization's owner key ID with a made-up secret.
      `Bearer ${formatApiKey(parseApiKey(otherOrg.ownerKey)!.apiKeyId, newApiKeySecret())}`,
      `Bearer ${revoked.token}`,
      `Bearer ${expired.token}`,
      `Bearer ${suspendedKey.token}`,
      "Bearer pcl_",
      "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz",
      "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
      `Bearer ${"a".repeat(9000)}`,
      `Bearer ${live.token}, Bearer ${live.token}`,
    ];
    for (const path of ["/v1/chat/completions", "/v1/embeddings", "/v1/models"]) {
      const answers: { header: string | undefined; res: WireResponse }[] = [];
      for (const header of headers) {
        const res = await wire(t, path, {
          method: path === "/v1/models" ? "GET" : "POST",
          headers: header === undefined ? {} : { authorization: header },
          body: path === "/v1/models" ? undefined : path === "/v1/embeddings" ? { model: viaKey(keyA, "e"), input: "x" } : { model: viaKey(keyA), messages: hi },
        });
        responses.push(res.text);
        answers.push({ header, res });
      }
      const first = answers[0].res;
      const error = expectWireError(first, 401, "invalid_api_key");
      expect(error.type).toBe("authentication_error");
      expect(error.param).toBeNull();
      for (const { header, res } of answers) {
        expect(res.status, `${path} ${JSON.stringify(header?.slice(-12))}`).toBe(401);
        expectWireError(res, 401);
        expect(withoutRequestId(res), `${path} ${header?.slice(0, 40)}`).toEqual(withoutRequestId(first));
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="portcullis"');
        expect(res.headers.get("content-length")).toBe(first.headers.get("content-length"));
        // Nothing of the token is repeated.
        if (header && header.length > 12) expect(res.text).not.toContain(header.slice(7, 30));
      }
    }
    // The live key itself works.
    expect((await call(live.token, viaKey(keyA))).status).toBe(200);
    expect(mockA.requests).toHaveLength(1);
    expect(mockB.requests).toHaveLength(0);
    // No bearer token is written to the log.
    const logs = t.logs.join("\n");
    for (const token of [live.token, revoked.token, expired.token, suspendedKey.token, t.ownerKey]) expect(logs).not.toContain(token.slice(4, 30));
  });
});

describe("policies through the wire", () => {
  it("a model a policy does not allow is a 403 model_not_allowed, before any provider call", async () => {
    const caller = seed(t).apiKey("member");
    const allowOnly = await ownerPolicy(t, { allowedModels: ["gpt-4o-mini"] });
    await ownerAttach(t, allowOnly, caller.id);
    const deny = await ownerPolicy(t, { deniedModels: ["gpt-3.5*"] });
    await ownerAttach(t, deny, keyB.id);
    for (const [token, model] of [
      [caller.token, viaKey(keyA)],
      [caller.token, orgRoute.slug],
      [t.ownerKey, viaKey(keyB, "gpt-3.5-turbo")],
    ] as const) {
      const res = await call(token, model);
      const error = expectWireError(res, 403, "model_not_allowed");
      expect(error.type).toBe("permission_error");
      const streamed = await call(token, model, { stream: true });
      expectWireError(streamed, 403, "model_not_allowed");
      const events = await invokeEvents(t, error.request_id);
      expect(events.map((e) => [e.outcome, e.details?.code])).toEqual([["FAILURE", "MODEL_NOT_ALLOWED"]]);
      expect(usageRows(t, error.request_id)).toEqual([]);
    }
    expect(providerCalls()).toBe(0);
    expect((await call(caller.token, viaKey(keyA, "gpt-4o-mini"))).status).toBe(200);
  });

  it("a spent budget is a 429 with x-should-retry: false, whole, streamed and for embeddings", async () => {
    const caller = seed(t).apiKey("member");
    const p = await ownerPolicy(t, { budget: { limitUsd: 0.0001, period: "TOTAL" } });
    await ownerAttach(t, p, caller.id);
    for (const res of [
      await call(caller.token, viaKey(keyA)),
      await call(caller.token, orgRoute.slug, { stream: true, stream_options: { include_usage: true } }),
      await wire(t, "/v1/embeddings", { token: caller.token, body: { model: viaKey(keyA, "gpt-4o"), input: "x".repeat(400_000) } }),
    ]) {
      const error = expectWireError(res, 429, "budget_exceeded");
      expect(error.type).toBe("insufficient_quota");
      expect(res.headers.get("x-should-retry")).toBe("false");
      expect(res.headers.get("retry-after")).toBeNull();
      const events = await invokeEvents(t, error.request_id);
      expect(events.map((e) => [e.outcome, e.details?.code])).toEqual([["FAILURE", "BUDGET_EXCEEDED"]]);
    }
    expect(providerCalls()).toBe(0);
  });

  it("a rate limit is a 429 with retry-after and no x-should-retry", async () => {
    const caller = seed(t).apiKey("member");
    const p = await ownerPolicy(t, { rateLimit: { requestsPerMinute: 1 } });
    await ownerAttach(t, p, caller.id);
    expect((await call(caller.token, viaKey(keyA))).status).toBe(200);
    const limited = await call(caller.token, viaKey(keyA));
    expectWireError(limited, 429, "rate_limit_exceeded");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("x-should-retry")).toBeNull();
    expect(providerCalls()).toBe(1);
  });

  it("a caller outside a policy's address ranges is a 403", async () => {
    const caller = seed(t).apiKey("member");
    const p = await ownerPolicy(t, { allowedIpRanges: ["10.0.0.0/8"] });
    await ownerAttach(t, p, caller.id);
    expectWireError(await call(caller.token, viaKey(keyA)), 403, "forbidden");
    expect(providerCalls()).toBe(0);
  });
});

describe("every wire call is audited with its usage", () => {
  it("one invokeModel event per call, under the x-request-id, with usage rows for each provider attempt", async () => {
    const caller = seed(t).apiKey("member");
    const fallback = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "gpt-4o-mini" }] });
    mockA.enqueue({ kind: "ok", promptTokens: 10, completionTokens: 4 });
    const whole = await call(caller.token, viaKey(keyA));
    mockA.enqueue({ kind: "ok", promptTokens: 8, completionTokens: 6, content: "a b c" });
    const streamed = await call(caller.token, orgRoute.slug, { stream: true, stream_options: { include_usage: true } });
    mockA.enqueue({ kind: "fail", status: 500 });
    const failedOver = await call(caller.token, fallback.slug);
    mockA.enqueue({ kind: "fail", status: 401 });
    const failed = await call(caller.token, viaKey(keyA));
    const embedded = await wire(t, "/v1/embeddings", { token: caller.token, body: { model: viaKey(keyA, "text-embedding-3-small"), input: ["a", "b"] } });
    const denied = await call(seed(t).apiKey("viewer").token, viaKey(keyA));
    const missing = await call(caller.token, "no-such-route");

    const id = (res: WireResponse) => res.headers.get("x-request-id")!;
    expect(whole.body.id).toBe(`chatcmpl-${id(whole)}`);
    expect(streamed.text).toContain(`"id":"chatcmpl-${id(streamed)}"`);

    const expectations: [WireResponse, string, string | undefined, [boolean, number, number][]][] = [
      [whole, "SUCCESS", undefined, [[true, 10, 4]]],
      [streamed, "SUCCESS", undefined, [[true, 8, 6]]],
      [failedOver, "SUCCESS", undefined, [[false, 0, 0], [true, 12, 5]]],
      [failed, "FAILURE", "PROVIDER_ERROR", [[false, 0, 0]]],
      [embedded, "SUCCESS", undefined, [[true, 12, 0]]],
      [denied, "DENIED", "FORBIDDEN", []],
      [missing, "DENIED", "NOT_FOUND", []],
    ];
    for (const [res, outcome, code, rows] of expectations) {
      const requestId = id(res);
      expect(requestId).toMatch(/^req_/);
      const events = await invokeEvents(t, requestId);
      expect(events.map((e) => [e.outcome, e.details?.code]), res.text.slice(0, 200)).toEqual([[outcome, code]]);
      expect(usageRows(t, requestId).map((r) => [r.success, r.promptTokens, r.completionTokens])).toEqual(rows);
      if (res.status === 200 && res !== embedded) {
        expect(usageRows(t, requestId).every((r) => r.apiKeyId === caller.id)).toBe(true);
      }
    }
    // The fallback's event names the route and the key that answered.
    const [event] = await invokeEvents(t, id(failedOver));
    expect(event).toMatchObject({ targetKind: "Route", targetId: fallback.id, details: { routeId: fallback.id, virtualKeyId: keyB.id, model: "gpt-4o-mini", attempts: 2 } });
  });

  it("a call refused for a malformed body is audited as an invokeModel failure too, as invokeModel's own input refusals are", async () => {
    // A model name the pipeline refuses is audited...
    const badModel = await call(t.ownerKey, viaKey(keyA, "gpt\n4o"));
    expect(expectWireError(badModel, 400).param).toBe("model");
    expect((await invokeEvents(t, badModel.headers.get("x-request-id")!)).map((e) => [e.outcome, e.details?.code])).toEqual([["FAILURE", "BAD_USER_INPUT"]]);
    // ...and so must be a parameter the wire's schema refuses (invokeModel audits its own: temperature 3 is a FAILURE event).
    const res = await call(t.ownerKey, viaKey(keyA), { temperature: 9 });
    const error = expectWireError(res, 400);
    const events = await invokeEvents(t, error.request_id);
    expect(events.map((e) => [e.outcome, e.details?.code])).toEqual([["FAILURE", "BAD_USER_INPUT"]]);
  });

  it("prompts and completions are stored nowhere: not in the audit log, usage, logs or the database file", async () => {
    const prompt = canaryValue("prompt");
    const completion = canaryValue("completion");
    mockA.enqueue({ kind: "ok", content: `${completion} whole` }, { kind: "ok", content: `${completion} streamed` });
    const whole = await call(t.ownerKey, viaKey(keyA), { messages: [{ role: "user", content: prompt }], user: canaryValue("user-field") });
    expect(whole.body.choices[0].message.content).toBe(`${completion} whole`);
    const streamed = await call(t.ownerKey, orgRoute.slug, { stream: true, messages: [{ role: "user", content: prompt }] });
    expect(streamed.text).toContain(completion);
    const audit = await t.client(t.ownerKey).query(`query { auditEvents(first: 100, filter: { action: "invokeModel" }) { nodes { details } } }`);
    const found = findInDatabaseFiles(t.dataDir, [prompt, completion].flatMap((c) => encodings(c)));
    expect(found).toEqual([]);
    expect(audit.text).not.toContain(prompt);
    expect(audit.text).not.toContain(completion);
    const logs = t.logs.join("\n");
    expect(logs).not.toContain(prompt);
    expect(logs).not.toContain(completion);
  });
});

describe("provider secrets", () => {
  it("each secret reaches only its own key's provider, and the caller's token reaches none", async () => {
    const anthropic = await providerKey(t, mockB.url, { provider: "ANTHROPIC", secret: canary("wire-anthropic") });
    const fallback = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "gpt-4o" }, { virtualKey: anthropic.id, model: "claude-3-haiku" }] });
    expect((await call(t.ownerKey, viaKey(keyA))).status).toBe(200);
    expect((await call(t.ownerKey, viaKey(keyB), { stream: true })).status).toBe(200);
    expect((await call(t.ownerKey, viaKey(anthropic, "claude-3-haiku"))).status).toBe(200);
    const embedded = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: { model: viaKey(keyB, "e"), input: "x" } });
    expect(embedded.status).toBe(200);
    mockA.enqueue({ kind: "fail", status: 503 });
    mockB.enqueue({ kind: "fail", status: 500 });
    const fellBack = await call(t.ownerKey, fallback.slug);
    expect(fellBack.status, fellBack.text).toBe(200);

    expect(mockA.requests.map((r) => [r.authorization, r.xApiKey])).toEqual([
      [`Bearer ${keyA.secret}`, null],
      [`Bearer ${keyA.secret}`, null],
    ]);
    expect(mockB.requests.map((r) => [r.authorization, r.xApiKey])).toEqual([
      [`Bearer ${keyB.secret}`, null],
      [null, anthropic.secret],
      [`Bearer ${keyB.secret}`, null],
      [`Bearer ${keyB.secret}`, null],
      [null, anthropic.secret],
    ]);
    const all = [...mockA.requests, ...mockB.requests];
    const ownerTokenPart = t.ownerKey.slice(4, 30);
    for (const r of all) {
      expect(JSON.stringify(r)).not.toContain(ownerTokenPart);
      expect(JSON.stringify(r.body)).not.toContain("pcl_");
    }
  });

  it("no provider secret is in any response, log line or the database file", async () => {
    // Provider failures whose bodies echo the secret, whole and streamed, through both keys.
    for (const k of [keyA, keyB]) {
      const mock = k === keyA ? mockA : mockB;
      for (const status of [401, 429, 500]) {
        for (const stream of [false, true]) {
          // Failures open the target's circuit: close it, so that every call reaches the provider.
          t.server.services.health.clear();
          mock.enqueue({ kind: "fail", status });
          expectWireError(await call(t.ownerKey, viaKey(k), { stream }), status === 429 ? 429 : 502);
        }
      }
      t.server.services.health.clear();
      mock.enqueue({ kind: "cut", afterChunks: 2 });
      expect((await call(t.ownerKey, viaKey(k), { stream: true })).status).toBe(200);
    }
    expect(mockA.requests.length + mockB.requests.length).toBe(14);
    const listed = await wire(t, "/v1/models", { token: t.ownerKey, method: "GET" });
    responses.push(listed.text);
    const audit = await t.client(t.ownerKey).query(`query { auditEvents(first: 100) { nodes { details } } }`);
    responses.push(audit.text);
    const everything = [...responses, ...t.logs].join("\n");
    for (const k of [keyA, keyB]) {
      expect(everything).not.toContain(k.secret);
      expect(everything).not.toContain(k.secret.slice(10, -4));
      // The database holds the secret sealed only: not as text, base64 or hex (the hint may show the last four characters).
      expect(findInDatabaseFiles(t.dataDir, encodings(k.secret.slice(0, -4)))).toEqual([]);
    }
    expect(responses.length).toBeGreaterThan(20);
  });
});

describe("hostile strings", () => {
  const HOSTILE: [string, (c: string) => string][] = [
    ["quotes", (c) => `${c}'"\`; --`],
    ["SQL", (c) => `${c}' OR '1'='1'; DROP TABLE virtual_keys; --`],
    ["NUL", (c) => `${c}\u0000tail`],
    ["CRLF", (c) => `${c}\r\nX-Injected: 1\r\n\r\n`],
    ["bidi override", (c) => `${c}\u202egpt-4o`],
    ["zero-width", (c) => `${c}\u200bgpt`],
    ["10 KB", (c) => `${c}${"A".repeat(10 * 1024)}`],
    ["path traversal", (c) => `../../${c}/../etc/passwd`],
    ["template", (c) => `\${jndi:ldap://${c}}<script>${c}</script>`],
  ];
  const DANGEROUS_IN_MODEL = new Set(["NUL", "CRLF", "bidi override", "zero-width", "10 KB"]);

  function expectClean(res: WireResponse, planted: string, label: string): void {
    expect(res.status, `${label}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(res.status, label).toBeLessThan(500);
    expectWireError(res, res.status);
    expect(res.text, label).not.toContain(planted);
    expect(res.headers.get("x-injected"), label).toBeNull();
  }

  it.each(HOSTILE)("%s as the route or virtual key a model names: a clean 4xx, nothing repeated, nothing called", async (label, make) => {
    const planted = canaryValue("hostile-ref");
    const hostile = make(planted);
    for (const model of [hostile, `@${hostile}/gpt-4o`, `@${hostile.replace(/\//g, "_")}/gpt-4o`]) {
      const res = await call(t.ownerKey, model);
      expectClean(res, planted, `${label} (${model.slice(0, 20)})`);
      if (res.status === 404) expect(withoutRequestId(res)).toEqual(withoutRequestId(await call(t.ownerKey, model.startsWith("@") ? "@no-such-key/gpt-4o" : "no-such-route")));
      else expect(expectWireError(res, 400).param).toBe("model");
    }
    expect(providerCalls()).toBe(0);
  });

  it.each(HOSTILE.filter(([label]) => DANGEROUS_IN_MODEL.has(label)))("%s in the model name sent through a virtual key: 400 naming model, nothing called", async (label, make) => {
    const planted = canaryValue("hostile-model");
    const res = await call(t.ownerKey, viaKey(keyA, make(planted)));
    expectClean(res, planted, label);
    expect(expectWireError(res, 400).param).toBe("model");
    expect(providerCalls()).toBe(0);
  });

  it.each(HOSTILE.filter(([label]) => !DANGEROUS_IN_MODEL.has(label)))("%s in the model name sent through a virtual key is only data: it reaches the provider verbatim", async (_label, make) => {
    const planted = canaryValue("hostile-model-data");
    const hostile = make(planted);
    const res = await call(t.ownerKey, viaKey(keyA, hostile));
    expect(res.status, res.text).toBe(200);
    expect(mockA.requests.map((r) => r.body.model)).toEqual([hostile]);
    // The tables the SQL names are intact.
    const { virtualKeys } = await t.client(t.ownerKey).data(`query { virtualKeys(first: 5) { totalCount } }`);
    expect(virtualKeys.totalCount).toBeGreaterThanOrEqual(4);
  });

  it.each(HOSTILE)("%s as a tool's name or the tool_choice: 400 naming the field, nothing repeated", async (label, make) => {
    const planted = canaryValue("hostile-tool");
    const hostile = make(planted);
    const asTool = await call(t.ownerKey, viaKey(keyA), { tools: [{ type: "function", function: { name: hostile, parameters: { type: "object" } } }] });
    expectClean(asTool, planted, `${label} tool`);
    expect(expectWireError(asTool, 400).param).toBe("tools[0].function.name");
    const asChoice = await call(t.ownerKey, viaKey(keyA), { tools: [{ type: "function", function: { name: "ok_tool" } }], tool_choice: { type: "function", function: { name: hostile } } });
    expectClean(asChoice, planted, `${label} tool_choice`);
    expect(expectWireError(asChoice, 400).param).toMatch(/^tool_choice/);
    expect(providerCalls()).toBe(0);
  });

  it("10 KB in user, a message name or an earlier tool call's name: 400 naming the field, nothing repeated", async () => {
    const planted = canaryValue("hostile-long");
    const long = `${planted}${"B".repeat(10 * 1024)}`;
    const cases: [Record<string, unknown>, string][] = [
      [{ user: long }, "user"],
      [{ messages: [{ role: "user", content: "hi", name: long }] }, "messages[0].name"],
      [{ messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: long, arguments: "{}" } }] }, { role: "tool", tool_call_id: "c1", content: "x" }] }, "messages[0].tool_calls[0].function.name"],
      [{ messages: [{ role: "tool", tool_call_id: long, content: "x" }] }, "messages[0].tool_call_id"],
    ];
    for (const [extra, param] of cases) {
      const res = await call(t.ownerKey, viaKey(keyA), extra);
      expectClean(res, planted, param);
      expect(expectWireError(res, 400).param).toBe(param);
    }
    expect(providerCalls()).toBe(0);
  });

  it("short hostile strings in user are only data: passed to the provider as JSON, never logged or stored", async () => {
    const planted: string[] = [];
    for (const [label, make] of HOSTILE.filter(([l]) => l !== "10 KB")) {
      const c = canaryValue("hostile-user");
      planted.push(c);
      const user = make(c).slice(0, 256);
      const res = await call(t.ownerKey, viaKey(keyA), { user });
      expect(res.status, `${label}: ${res.text}`).toBe(200);
      expect(res.headers.get("x-injected")).toBeNull();
      expect(mockA.requests.at(-1)!.body.user, label).toBe(user);
    }
    const logs = t.logs.join("\n");
    for (const c of planted) expect(logs).not.toContain(c);
    expect(findInDatabaseFiles(t.dataDir, planted.map((c) => Buffer.from(c)))).toEqual([]);
  });
});
