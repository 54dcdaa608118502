// Routes: SINGLE, FALLBACK in order on retryable failures, LOADBALANCE by weight, retries per
// target, timeouts; every attempt listed in order, and the failure of a call audited with its
// usage rows.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pickWeighted } from "../../src/gateway/routing.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { hello, INVOKE, invokeEvents, PRIVATE_NETWORK, providerKey, route, USAGE } from "./helpers.js";

let t: TestServer;
let primary: MockProvider;
let backup: MockProvider;
let keyA: { id: string; slug: string; secret: string };
let keyB: { id: string; slug: string; secret: string };
const randoms: number[] = [];

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK, random: () => randoms.shift() ?? 0 });
  primary = await startMockProvider();
  backup = await startMockProvider();
  keyA = await providerKey(t, primary.url);
  keyB = await providerKey(t, backup.url, { provider: "ANTHROPIC" });
});
afterAll(async () => {
  await t.stop();
  await primary.close();
  await backup.close();
});
beforeEach(() => {
  primary.reset();
  backup.reset();
  randoms.length = 0;
  // The tests share their targets; each starts with every circuit closed.
  t.server.services.health.clear();
});

const invoke = (routeRef: string, extra: Record<string, unknown> = {}) => t.client(t.ownerKey).query(INVOKE, { input: { route: routeRef, messages: hello, ...extra } });
const statuses = (attempts: { status: string; httpStatus: number | null; virtualKey: { id: string } | null }[]) =>
  attempts.map((a) => [a.virtualKey?.id === keyA.id ? "A" : "B", a.status, a.httpStatus]);

describe("invokeModel: routing", () => {
  it("SINGLE: the route's target model overrides the one asked for; the call's model is used when the target names none", async () => {
    const r = await route(t, { strategy: "SINGLE", targets: [{ virtualKey: keyA.id, model: "gpt-4o-mini" }] });
    const res = await invoke(r.slug, { model: "gpt-4o" });
    expect(res.body.data?.invokeModel.model, res.text).toBe("gpt-4o-mini");
    expect(primary.requests[0].body.model).toBe("gpt-4o-mini");
    const bare = await route(t, { strategy: "SINGLE", targets: [{ virtualKey: keyA.id }] });
    expect((await invoke(bare.id, { model: "gpt-4o" })).body.data.invokeModel.model).toBe("gpt-4o");
    expect((await invoke(bare.id)).body.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("FALLBACK: a retryable failure moves to the next target, and both attempts are listed in order", async () => {
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }] });
    primary.enqueue({ kind: "fail", status: 503 });
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    const out = res.body.data.invokeModel;
    expect(out.provider).toBe("ANTHROPIC");
    expect(out.model).toBe("claude-3-haiku");
    expect(statuses(out.attempts)).toEqual([
      ["A", "FAILED", 503],
      ["B", "SUCCESS", 200],
    ]);
    expect(out.attempts[0]).toMatchObject({ provider: "OPENAI_COMPATIBLE", model: "gpt-4o", errorCode: "PROVIDER_ERROR" });
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    const [event] = await invokeEvents(t, out.id);
    expect(event).toMatchObject({ outcome: "SUCCESS", targetKind: "Route", targetId: r.id, details: { routeId: r.id, virtualKeyId: keyB.id, model: "claude-3-haiku", attempts: 2 } });
  });

  it("FALLBACK: a rate limit (429) also falls back; a non-retryable status (401) stops the call", async () => {
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }] });
    primary.enqueue({ kind: "rateLimit" });
    const limited = await invoke(r.id);
    expect(statuses(limited.body.data?.invokeModel.attempts ?? []), limited.text).toEqual([
      ["A", "FAILED", 429],
      ["B", "SUCCESS", 200],
    ]);
    primary.enqueue({ kind: "fail", status: 401 });
    const refused = await invoke(r.id);
    expect(refused.body.errors?.[0].extensions, refused.text).toMatchObject({ code: "PROVIDER_ERROR", httpStatus: 401 });
    expect(backup.requests).toHaveLength(1);
  });

  it("retries: each target is tried 1 + attempts times on the route's status codes, then the next", async () => {
    const r = await route(t, {
      strategy: "FALLBACK",
      retry: { attempts: 2, onStatusCodes: [500] },
      targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }],
    });
    primary.setDefault({ kind: "fail", status: 500 });
    backup.enqueue({ kind: "fail", status: 500 });
    const res = await invoke(r.id);
    expect(statuses(res.body.data?.invokeModel.attempts ?? []), res.text).toEqual([
      ["A", "FAILED", 500],
      ["A", "FAILED", 500],
      ["A", "FAILED", 500],
      ["B", "FAILED", 500],
      ["B", "SUCCESS", 200],
    ]);
    // 503 is not among this route's codes: no retry, no fallback.
    primary.reset();
    primary.enqueue({ kind: "fail", status: 503 });
    expect((await invoke(r.id)).body.errors?.[0].extensions.code).toBe("PROVIDER_ERROR");
    expect(primary.requests).toHaveLength(1);
  });

  it("every target failing fails the call with the last error, writing one usage row per attempt and a FAILURE event", async () => {
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }] });
    primary.setDefault({ kind: "fail", status: 502 });
    backup.setDefault({ kind: "fail", status: 504 });
    const before = (await t.client(t.ownerKey).data(USAGE, { filter: { model: "claude-3-haiku" } })).usage;
    const res = await invoke(r.id);
    const error = res.body.errors?.[0];
    expect(error?.extensions, res.text).toMatchObject({ code: "PROVIDER_ERROR", httpStatus: 504 });
    const requestId = res.headers.get("x-request-id")!;
    const events = await invokeEvents(t, requestId);
    expect(events).toEqual([
      expect.objectContaining({ outcome: "FAILURE", targetId: r.id, details: { routeId: r.id, virtualKeyId: keyB.id, model: "claude-3-haiku", attempts: 2, code: "PROVIDER_ERROR" } }),
    ]);
    const after = (await t.client(t.ownerKey).data(USAGE, { filter: { model: "claude-3-haiku" } })).usage;
    expect(after.requests - before.requests).toBe(1);
    expect(after.errors - before.errors).toBe(1);
  });

  it("LOADBALANCE: the target is picked by weight from the random source", async () => {
    const r = await route(t, { strategy: "LOADBALANCE", targets: [{ virtualKey: keyA.id, model: "gpt-4o", weight: 3 }, { virtualKey: keyB.id, model: "claude-3-haiku", weight: 1 }] });
    randoms.push(0.1, 0.74, 0.76, 0.99);
    const picked = [];
    for (let i = 0; i < 4; i++) picked.push((await invoke(r.id)).body.data.invokeModel.provider);
    expect(picked).toEqual(["OPENAI_COMPATIBLE", "OPENAI_COMPATIBLE", "ANTHROPIC", "ANTHROPIC"]);
    expect(primary.requests).toHaveLength(2);
    expect(backup.requests).toHaveLength(2);
  });

  it("LOADBALANCE: a call whose weighted pick fails or rests goes on to the other target", async () => {
    const r = await route(t, { strategy: "LOADBALANCE", targets: [{ virtualKey: keyA.id, model: "gpt-4o", weight: 3 }, { virtualKey: keyB.id, model: "claude-3-haiku", weight: 1 }] });
    primary.setDefault({ kind: "fail", status: 503 });
    const outs = [];
    for (let i = 0; i < 6; i++) {
      randoms.push(0.1); // A picked first every time
      outs.push((await invoke(r.id)).body.data.invokeModel);
    }
    expect(outs.map((o) => o.provider)).toEqual(Array(6).fill("ANTHROPIC"));
    // Five failures open A's circuit: the sixth call skips it without calling it.
    expect(primary.requests).toHaveLength(5);
    expect(statuses(outs[0].attempts)).toEqual([["A", "FAILED", 503], ["B", "SUCCESS", 200]]);
    expect(statuses(outs[5].attempts)).toEqual([["A", "SKIPPED", null], ["B", "SUCCESS", 200]]);
  });

  it("pickWeighted: proportional to weight, an omitted weight counting as 1", () => {
    const targets = [{ name: "a", weight: 1 }, { name: "b", weight: null }, { name: "c", weight: 2 }];
    expect([0, 0.24, 0.26, 0.49, 0.51, 0.999].map((x) => pickWeighted(targets, () => x).name)).toEqual(["a", "a", "b", "b", "c", "c"]);
  });

  it("a stalled provider times out after the route's timeoutMs (TIMEOUT attempt) and the next target answers", async () => {
    const r = await route(t, { strategy: "FALLBACK", timeoutMs: 150, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }] });
    primary.enqueue({ kind: "stall" });
    const started = Date.now();
    const res = await invoke(r.id);
    expect(Date.now() - started).toBeLessThan(1000);
    const attempts = res.body.data?.invokeModel.attempts;
    expect(statuses(attempts ?? []), res.text).toEqual([
      ["A", "TIMEOUT", null],
      ["B", "SUCCESS", 200],
    ]);
    expect(attempts[0].errorCode).toBe("PROVIDER_TIMEOUT");
    expect(attempts[0].latencyMs).toBeGreaterThanOrEqual(140);
    const single = await route(t, { strategy: "SINGLE", timeoutMs: 100, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "stall" });
    const timedOut = await invoke(single.id);
    expect(timedOut.body.errors?.[0].extensions.code, timedOut.text).toBe("PROVIDER_TIMEOUT");
  });

  it("an unreachable provider is a FAILED attempt without status, and falls back", async () => {
    const closed = await startMockProvider();
    const deadUrl = closed.url;
    await closed.close();
    const dead = await providerKey(t, deadUrl);
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: dead.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }] });
    const res = await invoke(r.id);
    expect(res.body.data?.invokeModel.attempts.map((a: any) => [a.status, a.httpStatus, a.errorCode]), res.text).toEqual([
      ["FAILED", null, "PROVIDER_ERROR"],
      ["SUCCESS", 200, null],
    ]);
  });
});
