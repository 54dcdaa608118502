// Retries on the injected clock: a provider's retry-after is honoured (the wait is virtual and
// recorded in t.clock.sleeps), one beyond the cap moves on to the next target at once, other
// retries back off exponentially within the doubling ceilings (100, 200, 400 ms...), connection
// failures are retried like a 5xx, and every attempt is listed in order. The server's random
// source is fixed, so that each jittered wait is known.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { backoffCeilingMs, DEFAULT_BACKOFF } from "../../src/gateway/backoff.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { hello, INVOKE, PRIVATE_NETWORK, providerKey, route } from "../invoke/helpers.js";
import { streamed, usageRows } from "../streaming/sse-client.js";

/** The jitter draw: near the top of [0, 1), so that each wait sits just under its ceiling. */
const JITTER = 0.999;

let t: TestServer;
let primary: MockProvider;
let backup: MockProvider;
let keyA: { id: string; slug: string };
let keyB: { id: string; slug: string };
/** A virtual key whose provider is gone: nothing listens at its address. */
let dead: { id: string; slug: string };

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK, random: () => JITTER });
  primary = await startMockProvider();
  backup = await startMockProvider();
  const gone = await startMockProvider();
  const goneUrl = gone.url;
  await gone.close();
  keyA = await providerKey(t, primary.url);
  keyB = await providerKey(t, backup.url, { provider: "ANTHROPIC" });
  dead = await providerKey(t, goneUrl);
});
afterAll(async () => {
  await t.stop();
  await primary.close();
  await backup.close();
});
beforeEach(() => {
  primary.reset();
  backup.reset();
  t.clock.sleeps.length = 0;
  t.server.services.health.clear();
});

const invoke = (routeRef: string, extra: Record<string, unknown> = {}) => t.client(t.ownerKey).query(INVOKE, { input: { route: routeRef, messages: hello, ...extra } });
const names = new Map<string, string>();
const attemptsOf = (res: { body: any; text: string }) => {
  const attempts = res.body.data?.invokeModel.attempts;
  if (!attempts) throw new Error(res.text);
  return attempts.map((a: any) => [names.get(a.virtualKey?.id) ?? "?", a.status, a.httpStatus, a.errorCode]);
};
beforeAll(() => {
  names.set(keyA.id, "A").set(keyB.id, "B").set(dead.id, "dead");
});

describe("retries", () => {
  it("honour the provider's retry-after: a 429 asking for 2 s is retried after a (virtual) wait of at least 2000 ms", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 1, onStatusCodes: [429] }, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "rateLimit", retryAfter: "2" }, { kind: "ok" });
    const before = t.clock.now().getTime();
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    expect(attemptsOf(res)).toEqual([
      ["A", "FAILED", 429, "PROVIDER_ERROR"],
      ["A", "SUCCESS", 200, null],
    ]);
    expect(t.clock.sleeps).toHaveLength(1);
    expect(t.clock.sleeps[0]).toBeGreaterThanOrEqual(2000);
    // The retry-after is a floor over the jitter, not added to it.
    expect(t.clock.sleeps[0]).toBeLessThan(2000 + DEFAULT_BACKOFF.baseDelayMs);
    // The wait ran on the injected clock.
    expect(t.clock.now().getTime() - before).toBeGreaterThanOrEqual(2000);
    expect(primary.requests).toHaveLength(2);
  });

  it("a retry-after-ms header is honoured too (Azure, OpenAI)", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 1, onStatusCodes: [429] }, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "fail", status: 429, headers: { "retry-after-ms": "1500" } }, { kind: "ok" });
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    expect(t.clock.sleeps).toEqual([1500]);
  });

  it("a retry-after given as an HTTP date is read against the server's clock", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 1, onStatusCodes: [429] }, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    // The injected clock is an hour ahead of the wall clock, as after a test moved it (time only moves forward here).
    t.clock.advance(3_600_000);
    // "Retry in about 2 s" by the server's clock (HTTP dates have whole seconds: 1 to 2 s).
    const at = new Date(t.clock.now().getTime() + 2_000).toUTCString();
    primary.enqueue({ kind: "fail", status: 429, headers: { "retry-after": at } }, { kind: "ok" });
    const res = await invoke(r.id);
    // An HTTP-date retry-after is read against the injected clock the attempt loop sleeps on.
    expect(res.body.errors, res.text).toBeUndefined();
    expect(t.clock.sleeps).toHaveLength(1);
    expect(t.clock.sleeps[0]).toBeGreaterThanOrEqual(1000);
    expect(t.clock.sleeps[0]).toBeLessThanOrEqual(2000);
  });

  it("a retry-after beyond the cap (60 s) is not waited for: the call moves on to the next target at once", async () => {
    const r = await route(t, {
      strategy: "FALLBACK",
      retry: { attempts: 2, onStatusCodes: [429] },
      targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }],
    });
    primary.enqueue({ kind: "rateLimit", retryAfter: "60" });
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    expect(attemptsOf(res)).toEqual([
      ["A", "FAILED", 429, "PROVIDER_ERROR"],
      ["B", "SUCCESS", 200, null],
    ]);
    expect(t.clock.sleeps).toEqual([]);
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
  });

  it("a retry-after beyond the cap on the last target ends the call with the 429", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 2, onStatusCodes: [429] }, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "rateLimit", retryAfter: "60" });
    const res = await invoke(r.id);
    expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "PROVIDER_ERROR", httpStatus: 429 });
    expect(t.clock.sleeps).toEqual([]);
    expect(primary.requests).toHaveLength(1);
  });

  it("a retry-after the attempt's timeout could not wait for also moves on", async () => {
    const r = await route(t, {
      strategy: "FALLBACK",
      timeoutMs: 1000,
      retry: { attempts: 1, onStatusCodes: [429] },
      targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }],
    });
    primary.enqueue({ kind: "rateLimit", retryAfter: "2" });
    const res = await invoke(r.id);
    expect(attemptsOf(res).map((a: unknown[]) => a[0])).toEqual(["A", "B"]);
    expect(t.clock.sleeps).toEqual([]);
  });

  it("back off exponentially: each wait stays under its doubling ceiling (100, 200, 400 ms)", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 3, onStatusCodes: [500] }, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "fail", status: 500 }, { kind: "fail", status: 500 }, { kind: "fail", status: 500 }, { kind: "ok" });
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    expect(attemptsOf(res)).toEqual([
      ["A", "FAILED", 500, "PROVIDER_ERROR"],
      ["A", "FAILED", 500, "PROVIDER_ERROR"],
      ["A", "FAILED", 500, "PROVIDER_ERROR"],
      ["A", "SUCCESS", 200, null],
    ]);
    const ceilings = [1, 2, 3].map((n) => backoffCeilingMs(n, DEFAULT_BACKOFF));
    expect(ceilings).toEqual([100, 200, 400]);
    expect(t.clock.sleeps).toHaveLength(3);
    t.clock.sleeps.forEach((wait, i) => {
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(ceilings[i]);
    });
    // Full jitter on the fixed draw: floor(0.999 * ceiling).
    expect(t.clock.sleeps).toEqual(ceilings.map((c) => Math.floor(JITTER * c)));
  });

  it("each retry doubles the ceiling (99, 199, 399, 799 ms on the fixed draw), up to its 2 s maximum", async () => {
    const r = await route(t, {
      strategy: "SINGLE",
      retry: { attempts: 4, onStatusCodes: [503] },
      targets: [{ virtualKey: keyA.id, model: "gpt-4o" }],
    });
    // Four failures and a success: the breaker (five in a row) stays closed.
    primary.enqueue({ kind: "fail", status: 503 }, { kind: "fail", status: 503 }, { kind: "fail", status: 503 }, { kind: "fail", status: 503 }, { kind: "ok" });
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    expect(t.clock.sleeps).toEqual([99, 199, 399, 799]);
    expect([5, 6, 7].map((n) => backoffCeilingMs(n, DEFAULT_BACKOFF))).toEqual([1600, 2000, 2000]);
  });

  it("only the route's status codes are retried: a 503 on a route retrying [500] ends the call at once", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 3, onStatusCodes: [500] }, targets: [{ virtualKey: keyA.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "fail", status: 503 });
    const res = await invoke(r.id);
    expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "PROVIDER_ERROR", httpStatus: 503 });
    expect(primary.requests).toHaveLength(1);
    expect(t.clock.sleeps).toEqual([]);
  });

  it("connection failures are retried, then the next target serves; every attempt is listed in order", async () => {
    const r = await route(t, {
      strategy: "FALLBACK",
      retry: { attempts: 2, onStatusCodes: [500] },
      targets: [{ virtualKey: dead.id, model: "gpt-4o" }, { virtualKey: keyA.id, model: "gpt-4o-mini" }],
    });
    const res = await invoke(r.id);
    expect(res.body.errors, res.text).toBeUndefined();
    expect(attemptsOf(res)).toEqual([
      ["dead", "FAILED", null, "PROVIDER_ERROR"],
      ["dead", "FAILED", null, "PROVIDER_ERROR"],
      ["dead", "FAILED", null, "PROVIDER_ERROR"],
      ["A", "SUCCESS", 200, null],
    ]);
    expect(res.body.data.invokeModel).toMatchObject({ provider: "OPENAI_COMPATIBLE", model: "gpt-4o-mini" });
    // Two waits between the three tries of the dead target, none before the next target.
    expect(t.clock.sleeps).toEqual([99, 199]);
    expect(primary.requests).toHaveLength(1);
    // One usage row per attempt that reached for a provider, in order.
    const rows = usageRows(t, res.body.data.invokeModel.id);
    expect(rows.map((row) => [row.virtualKeyId, row.success])).toEqual([
      [dead.id, false],
      [dead.id, false],
      [dead.id, false],
      [keyA.id, true],
    ]);
  });

  it("a connection failure on every try fails the call with PROVIDER_ERROR, each try listed", async () => {
    const r = await route(t, { strategy: "SINGLE", retry: { attempts: 1 }, targets: [{ virtualKey: dead.id, model: "gpt-4o" }] });
    const res = await invoke(r.id);
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("PROVIDER_ERROR");
    expect(res.body.errors?.[0].extensions).not.toHaveProperty("httpStatus");
    expect(t.clock.sleeps).toEqual([99]);
    const rows = usageRows(t, res.headers.get("x-request-id")!);
    expect(rows.map((row) => row.success)).toEqual([false, false]);
  });

  it("a streamed call retries and falls back before its first byte: the client sees one clean stream", async () => {
    const r = await route(t, {
      slug: "retrying-stream",
      strategy: "FALLBACK",
      retry: { attempts: 1, onStatusCodes: [429] },
      targets: [{ virtualKey: keyA.id, model: "gpt-4o" }, { virtualKey: keyB.id, model: "claude-3-haiku" }],
    });
    primary.enqueue({ kind: "rateLimit", retryAfter: "1" }, { kind: "fail", status: 429 });
    const res = await streamed(t, { model: r.slug, messages: [{ role: "user", content: "Hello there" }] });
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    expect(res.done).toBe(true);
    expect(res.events.flatMap((e) => e.choices.map((c: any) => c.delta.content ?? "")).join("")).toBe("mock reply to: Hello there");
    expect(new Set(res.events.map((e) => e.model))).toEqual(new Set(["claude-3-haiku"]));
    expect(t.clock.sleeps).toHaveLength(1);
    expect(t.clock.sleeps[0]).toBeGreaterThanOrEqual(1000);
    expect(primary.requests).toHaveLength(2);
    expect(backup.requests).toHaveLength(1);
    expect(usageRows(t, res.requestId).map((row) => [row.virtualKeyId, row.success])).toEqual([
      [keyA.id, false],
      [keyA.id, false],
      [keyB.id, true],
    ]);
  });
});
