// Policies enforced on real calls: the model lists, the caller's address, rate limits and
// budgets, through invokeModel with the server's own enforcer and a mock provider on loopback.
import { describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { ownerPolicy, ownerAttach, ownerDetach } from "../policies/helpers.js";
import { hello, INVOKE, providerKey, route, useServerAndMockProvider } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const policy = (input: Record<string, unknown>) => ownerPolicy(t, input);
const attach = (p: string, target: string) => ownerAttach(t, p, target);
const detach = (p: string, target: string) => ownerDetach(t, p, target);
const call = (token: string, input: Record<string, unknown>) => t.client(token).query(INVOKE, { input: { messages: hello, ...input } });
const codeOf = (res: Awaited<ReturnType<typeof call>>) => res.body.errors?.[0]?.extensions.code ?? "OK";

describe("policies on invokeModel", () => {
  it("refuses a denied or not allowed model before the provider is called, wherever the policy is attached", async () => {
    const vk = await providerKey(t, mock.url);
    const caller = seed(t).apiKey("member");
    const deny = await policy({ deniedModels: ["gpt-3.5*"] });
    const allowOnly = await policy({ allowedModels: ["gpt-4o*"] });
    await attach(deny, vk.id);
    await attach(allowOnly, caller.id);
    expect(codeOf(await call(caller.token, { virtualKey: vk.id, model: "gpt-3.5-turbo" }))).toBe("MODEL_NOT_ALLOWED");
    expect(codeOf(await call(caller.token, { virtualKey: vk.id, model: "claude-3-haiku" }))).toBe("MODEL_NOT_ALLOWED");
    expect(mock.requests).toHaveLength(0);
    expect(codeOf(await call(caller.token, { virtualKey: vk.id, model: "gpt-4o-mini" }))).toBe("OK");
    expect(mock.requests).toHaveLength(1);
    await detach(deny, vk.id);
    await detach(allowOnly, caller.id);
  });

  it("skips a fallback target whose key's policy refuses the model, and uses the next", async () => {
    const refused = await providerKey(t, mock.url);
    const open = await providerKey(t, mock.url);
    const p = await policy({ deniedModels: ["gpt-4o"] });
    await attach(p, refused.id);
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: refused.id, model: "gpt-4o" }, { virtualKey: open.id, model: "gpt-4o" }] });
    const res = await call(t.ownerKey, { route: r.id });
    expect(res.body.errors, res.text).toBeUndefined();
    expect(res.body.data.invokeModel.attempts.map((a: { status: string }) => a.status)).toEqual(["SKIPPED", "SUCCESS"]);
    expect(mock.requests).toHaveLength(1);
  });

  it("refuses callers outside the allowed address ranges", async () => {
    const ws = seed(t).workspace();
    const vk = await providerKey(t, mock.url, { workspaceId: ws });
    const p = await policy({ workspaceId: ws, allowedIpRanges: ["10.0.0.0/8"] });
    await attach(p, ws);
    expect(codeOf(await call(t.ownerKey, { virtualKey: vk.id, model: "gpt-4o" }))).toBe("FORBIDDEN");
    expect(mock.requests).toHaveLength(0);
    await t.client(t.ownerKey).data("mutation($input: UpdatePolicyInput!) { updatePolicy(input: $input) { id } }", { input: { id: p, allowedIpRanges: ["127.0.0.0/8"] } });
    expect(codeOf(await call(t.ownerKey, { virtualKey: vk.id, model: "gpt-4o" }))).toBe("OK");
  });

  it("limits requests per minute per key, answering 429, until the minute has passed", async () => {
    const vk = await providerKey(t, mock.url);
    const caller = seed(t).apiKey("member");
    const other = seed(t).apiKey("member");
    const p = await policy({ rateLimit: { requestsPerMinute: 2 } });
    await attach(p, caller.id);
    await attach(p, other.id);
    expect(codeOf(await call(caller.token, { virtualKey: vk.id, model: "gpt-4o" }))).toBe("OK");
    expect(codeOf(await call(caller.token, { virtualKey: vk.id, model: "gpt-4o" }))).toBe("OK");
    const limited = await call(caller.token, { virtualKey: vk.id, model: "gpt-4o" });
    expect(limited.status).toBe(429);
    expect(codeOf(limited)).toBe("RATE_LIMITED");
    // Each key counts its own requests.
    expect(codeOf(await call(other.token, { virtualKey: vk.id, model: "gpt-4o" }))).toBe("OK");
    t.clock.advance(121_000);
    expect(codeOf(await call(caller.token, { virtualKey: vk.id, model: "gpt-4o" }))).toBe("OK");
  });

  it("never lets concurrent calls overrun a budget together", async () => {
    // The mock answers with exactly the reserved estimate (3 prompt tokens for "Hello there",
    // maxTokens completion tokens), so spend equals reservations and the count is exact.
    mock.setDefault({ kind: "ok", promptTokens: 3, completionTokens: 5 });
    const vk = await providerKey(t, mock.url);
    const caller = seed(t).apiKey("member");
    const perCall = (3 * 2.5 + 5 * 10) / 1_000_000; // gpt-4o list prices
    const p = await policy({ budget: { limitUsd: perCall * 5 + perCall / 2, period: "TOTAL" } });
    await attach(p, caller.id);
    const results = await Promise.all(Array.from({ length: 12 }, () => call(caller.token, { virtualKey: vk.id, model: "gpt-4o", maxTokens: 5 })));
    const codes = results.map(codeOf);
    expect(codes.filter((c) => c === "OK")).toHaveLength(5);
    expect(codes.filter((c) => c === "BUDGET_EXCEEDED")).toHaveLength(7);
    expect(mock.requests).toHaveLength(5);
    const { usage } = await t.client(t.ownerKey).data("query($k: ID) { usage(filter: {apiKeyId: $k}) { requests costUsd } }", { k: caller.id });
    expect(usage.requests).toBe(5);
    expect(usage.costUsd).toBeCloseTo(perCall * 5, 12);
  });
});
