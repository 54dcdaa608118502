// The circuit breaker through the whole server: five failing calls to one target open its
// circuit; calls then skip it (a SKIPPED attempt with errorCode CIRCUIT_OPEN, the provider not
// called) and a FALLBACK route falls to its next target; the GraphQL `health` field shows it
// on the route's targets and on the virtual key; once t.clock is past the 30 s cool-down, one
// probe goes through, and its outcome closes or re-opens the circuit.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { hello, INVOKE, PRIVATE_NETWORK, providerKey, route } from "../invoke/helpers.js";
import { postChat, sseData, streamed, until, usageRows } from "../streaming/sse-client.js";

const COOL_DOWN_MS = 30_000;

let t: TestServer;
let primary: MockProvider;
let backup: MockProvider;

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  primary = await startMockProvider();
  backup = await startMockProvider();
});
afterAll(async () => {
  await t.stop();
  await primary.close();
  await backup.close();
});
beforeEach(() => {
  primary.reset();
  backup.reset();
  t.server.services.health.clear();
});

const HEALTH = "model state requests failures errorRate consecutiveFailures latencyP50Ms lastFailureAt nextProbeAt";
const ROUTES = `query { routes(first: 100) { nodes { id targets { virtualKey { id } model health { ${HEALTH} } } } } }`;
const KEY_HEALTH = `query($id: ID!) { node(id: $id) { ... on VirtualKey { health { ${HEALTH} } } } }`;

/** A FALLBACK route from a fresh key on the primary mock (gpt-4o) to a fresh key on the backup (claude-3-haiku). */
async function fallbackRoute() {
  const a = await providerKey(t, primary.url);
  const b = await providerKey(t, backup.url, { provider: "ANTHROPIC" });
  const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: a.id, model: "gpt-4o" }, { virtualKey: b.id, model: "claude-3-haiku" }] });
  return { a, b, r };
}

const invoke = async (routeId: string) => {
  const res = await t.client(t.ownerKey).query(INVOKE, { input: { route: routeId, messages: hello } });
  if (!res.body.data) throw new Error(res.text);
  return res.body.data.invokeModel;
};
const attemptsOf = (out: any, a: { id: string }) => out.attempts.map((x: any) => [x.virtualKey.id === a.id ? "A" : "B", x.status, x.httpStatus, x.errorCode]);

async function routeTargetHealth(routeId: string) {
  const data = await t.client(t.ownerKey).data(ROUTES);
  const found = data.routes.nodes.find((n: any) => n.id === routeId);
  if (!found) throw new Error(`route ${routeId} not listed`);
  return found.targets.map((x: any) => x.health);
}
const keyHealth = async (id: string) => (await t.client(t.ownerKey).data(KEY_HEALTH, { id })).node.health;

/** Five calls whose first target fails with a 500: the fifth opens its circuit. */
async function tripPrimary(routeId: string) {
  primary.setDefault({ kind: "fail", status: 500 });
  for (let i = 0; i < 5; i++) await invoke(routeId);
  primary.reset();
}

describe("the circuit breaker", () => {
  it("opens after five failing calls to a target; later calls skip it (SKIPPED, CIRCUIT_OPEN) and fall back without calling it", async () => {
    const { a, r } = await fallbackRoute();
    primary.setDefault({ kind: "fail", status: 500 });
    for (let i = 0; i < 5; i++) {
      const out = await invoke(r.id);
      expect(attemptsOf(out, a)).toEqual([
        ["A", "FAILED", 500, "PROVIDER_ERROR"],
        ["B", "SUCCESS", 200, null],
      ]);
    }
    expect(primary.requests).toHaveLength(5);

    const out = await invoke(r.id);
    expect(out.provider).toBe("ANTHROPIC");
    expect(attemptsOf(out, a)).toEqual([
      ["A", "SKIPPED", null, "CIRCUIT_OPEN"],
      ["B", "SUCCESS", 200, null],
    ]);
    expect(out.attempts[0]).toMatchObject({ model: "gpt-4o", latencyMs: 0 });
    // The first target was not called.
    expect(primary.requests).toHaveLength(5);
    expect(backup.requests).toHaveLength(6);
    // A skipped attempt reached no provider: no usage row for it.
    expect(usageRows(t, out.id).map((row) => row.virtualKeyId)).toEqual([out.attempts[1].virtualKey.id]);
  });

  it("the route targets' and the virtual key's health show the circuit OPEN with its error rate and when it is probed again", async () => {
    const { a, b, r } = await fallbackRoute();
    const openedAt = t.clock.now().getTime();
    await tripPrimary(r.id);

    const [first, second] = await routeTargetHealth(r.id);
    expect(first).toEqual([
      {
        model: "gpt-4o",
        state: "OPEN",
        requests: 5,
        failures: 5,
        errorRate: 1,
        consecutiveFailures: 5,
        latencyP50Ms: null,
        lastFailureAt: expect.any(String),
        nextProbeAt: new Date(openedAt + COOL_DOWN_MS).toISOString(),
      },
    ]);
    expect(second).toEqual([
      expect.objectContaining({ model: "claude-3-haiku", state: "CLOSED", requests: 5, failures: 0, errorRate: 0, consecutiveFailures: 0, lastFailureAt: null, nextProbeAt: null }),
    ]);
    expect(second[0].latencyP50Ms).toEqual(expect.any(Number));

    // The same, read on the virtual keys.
    expect(await keyHealth(a.id)).toEqual(first);
    expect(await keyHealth(b.id)).toEqual(second);
  });

  it("opens on the failure rate too: three failures in five calls, never five in a row", async () => {
    const a = await providerKey(t, primary.url);
    const r = await route(t, { strategy: "SINGLE", targets: [{ virtualKey: a.id, model: "gpt-4o" }] });
    primary.enqueue({ kind: "fail", status: 502 }, { kind: "ok" }, { kind: "fail", status: 502 }, { kind: "ok" }, { kind: "fail", status: 502 });
    for (let i = 0; i < 5; i++) await t.client(t.ownerKey).query(INVOKE, { input: { route: r.id, messages: hello } });
    const [health] = await keyHealth(a.id);
    expect(health).toMatchObject({ model: "gpt-4o", state: "OPEN", requests: 5, failures: 3, consecutiveFailures: 1 });
    expect(health.errorRate).toBeCloseTo(0.6, 10);
    expect(health.latencyP50Ms).toEqual(expect.any(Number));

    // SINGLE: with its only target resting, the call fails without reaching the provider.
    const res = await t.client(t.ownerKey).query(INVOKE, { input: { route: r.id, messages: hello } });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("PROVIDER_ERROR");
    expect(primary.requests).toHaveLength(5);
  });

  it("the caller's own errors (400) say nothing of the target: the circuit stays closed", async () => {
    const a = await providerKey(t, primary.url);
    const r = await route(t, { strategy: "SINGLE", targets: [{ virtualKey: a.id, model: "gpt-4o" }] });
    primary.setDefault({ kind: "fail", status: 400 });
    for (let i = 0; i < 6; i++) await t.client(t.ownerKey).query(INVOKE, { input: { route: r.id, messages: hello } });
    expect(primary.requests).toHaveLength(6);
    for (const h of await keyHealth(a.id)) expect(h.state).toBe("CLOSED");
  });

  it("after the cool-down on t.clock the next call probes (one request reaches the provider) and a good probe closes the circuit", async () => {
    const { a, r } = await fallbackRoute();
    await tripPrimary(r.id);
    // Just before the end of the cool-down: still skipped.
    t.clock.advance(COOL_DOWN_MS - 1);
    expect(attemptsOf(await invoke(r.id), a)[0]).toEqual(["A", "SKIPPED", null, "CIRCUIT_OPEN"]);
    expect(primary.requests).toHaveLength(0);

    t.clock.advance(2);
    const [waiting] = await keyHealth(a.id);
    expect(waiting).toMatchObject({ state: "HALF_OPEN", nextProbeAt: null });
    const probe = await invoke(r.id);
    expect(attemptsOf(probe, a)).toEqual([["A", "SUCCESS", 200, null]]);
    expect(primary.requests).toHaveLength(1);
    const [closed] = await keyHealth(a.id);
    expect(closed).toMatchObject({ model: "gpt-4o", state: "CLOSED", consecutiveFailures: 0, nextProbeAt: null });

    // Closed: calls go through again, and the failures that opened it do not re-open it at the next one.
    primary.enqueue({ kind: "fail", status: 500 });
    expect(attemptsOf(await invoke(r.id), a)[0]).toEqual(["A", "FAILED", 500, "PROVIDER_ERROR"]);
    expect(attemptsOf(await invoke(r.id), a)[0]).toEqual(["A", "SUCCESS", 200, null]);
    expect((await keyHealth(a.id))[0].state).toBe("CLOSED");
  });

  it("a bad probe re-opens the circuit for another cool-down", async () => {
    const { a, r } = await fallbackRoute();
    await tripPrimary(r.id);
    t.clock.advance(COOL_DOWN_MS + 1);
    primary.enqueue({ kind: "fail", status: 503 });
    const reopenedAt = t.clock.now().getTime();
    const probe = await invoke(r.id);
    expect(attemptsOf(probe, a)).toEqual([
      ["A", "FAILED", 503, "PROVIDER_ERROR"],
      ["B", "SUCCESS", 200, null],
    ]);
    expect(primary.requests).toHaveLength(1);
    const [health] = await keyHealth(a.id);
    expect(health).toMatchObject({ state: "OPEN", failures: 6, consecutiveFailures: 6, nextProbeAt: new Date(reopenedAt + COOL_DOWN_MS).toISOString() });
    // Skipped again at once.
    expect(attemptsOf(await invoke(r.id), a)[0]).toEqual(["A", "SKIPPED", null, "CIRCUIT_OPEN"]);
    expect(primary.requests).toHaveLength(1);
  });

  it("retries on one target stop at its circuit: the attempt after the fifth failure is SKIPPED and the next target serves", async () => {
    const a = await providerKey(t, primary.url);
    const b = await providerKey(t, backup.url, { provider: "ANTHROPIC" });
    const r = await route(t, {
      strategy: "FALLBACK",
      retry: { attempts: 5, onStatusCodes: [500] },
      targets: [{ virtualKey: a.id, model: "gpt-4o" }, { virtualKey: b.id, model: "claude-3-haiku" }],
    });
    primary.setDefault({ kind: "fail", status: 500 });
    const out = await invoke(r.id);
    expect(attemptsOf(out, a)).toEqual([
      ...Array.from({ length: 5 }, () => ["A", "FAILED", 500, "PROVIDER_ERROR"]),
      ["A", "SKIPPED", null, "CIRCUIT_OPEN"],
      ["B", "SUCCESS", 200, null],
    ]);
    expect(primary.requests).toHaveLength(5);
  });

  it("a failed probe does not wait out its retry-after before the attempt its re-opened circuit refuses", async () => {
    const a = await providerKey(t, primary.url);
    const b = await providerKey(t, backup.url, { provider: "ANTHROPIC" });
    const r = await route(t, {
      strategy: "FALLBACK",
      retry: { attempts: 1, onStatusCodes: [429, 500] },
      targets: [{ virtualKey: a.id, model: "gpt-4o" }, { virtualKey: b.id, model: "claude-3-haiku" }],
    });
    // Three calls of two failing tries each: the fifth failure opens the circuit.
    primary.setDefault({ kind: "fail", status: 500 });
    for (let i = 0; i < 3; i++) await invoke(r.id);
    expect((await keyHealth(a.id))[0].state).toBe("OPEN");
    primary.reset();
    t.clock.advance(COOL_DOWN_MS + 1);
    // The probe is rate-limited for 5 s: the circuit re-opens for 30 s.
    primary.enqueue({ kind: "rateLimit", retryAfter: "5" });
    t.clock.sleeps.length = 0;
    const out = await invoke(r.id);
    expect(attemptsOf(out, a)).toEqual([
      ["A", "FAILED", 429, "PROVIDER_ERROR"],
      ["A", "SKIPPED", null, "CIRCUIT_OPEN"],
      ["B", "SUCCESS", 200, null],
    ]);
    expect(primary.requests).toHaveLength(1);
    // No retry wait (here the 5 s retry-after) for an attempt the re-opened circuit refuses.
    expect(t.clock.sleeps).toEqual([]);
  });

  it("a streamed probe holds the half-open slot: other calls skip the target until it ends; a client leaving frees the slot without a verdict", async () => {
    const { a, r } = await fallbackRoute();
    const slug = (await t.client(t.ownerKey).data(`query($id: ID!) { node(id: $id) { ... on Route { slug } } }`, { id: r.id })).node.slug;
    await tripPrimary(r.id);
    t.clock.advance(COOL_DOWN_MS + 1);

    // The probe: a stream the provider holds open.
    primary.enqueue({ kind: "stallStream", afterChunks: 2 });
    const left = new AbortController();
    const call = await postChat(t, { model: slug, messages: [{ role: "user", content: "Hello there" }], stream: true }, { signal: left.signal });
    expect(call.status).toBe(200);
    const reader = sseData(call.response);
    await reader.next();
    expect(primary.requests).toHaveLength(1);

    // Meanwhile another call finds the probe out: skipped, and served by the next target.
    expect(attemptsOf(await invoke(r.id), a)[0]).toEqual(["A", "SKIPPED", null, "CIRCUIT_OPEN"]);
    expect(primary.requests).toHaveLength(1);

    // The client leaves: no verdict on the target, and the slot is free for the next probe.
    left.abort();
    await reader.return(undefined).catch(() => undefined);
    await primary.waitForClose(0);
    await until(() => usageRows(t, call.requestId).length > 0, "the stream's usage row");
    expect((await keyHealth(a.id))[0].state).toBe("HALF_OPEN");
    const next = await invoke(r.id);
    expect(attemptsOf(next, a)).toEqual([["A", "SUCCESS", 200, null]]);
    expect((await keyHealth(a.id))[0].state).toBe("CLOSED");
  });

  it("a streamed probe the provider cuts re-opens the circuit", async () => {
    const { a, r } = await fallbackRoute();
    const slug = (await t.client(t.ownerKey).data(`query($id: ID!) { node(id: $id) { ... on Route { slug } } }`, { id: r.id })).node.slug;
    await tripPrimary(r.id);
    t.clock.advance(COOL_DOWN_MS + 1);
    primary.enqueue({ kind: "cut", afterChunks: 2 });
    const res = await streamed(t, { model: slug, messages: [{ role: "user", content: "Hello there" }] });
    expect(res.done).toBe(false);
    expect(res.events.at(-1).error.code).toBe("provider_error");
    expect((await keyHealth(a.id))[0]).toMatchObject({ state: "OPEN" });
    expect(attemptsOf(await invoke(r.id), a)[0]).toEqual(["A", "SKIPPED", null, "CIRCUIT_OPEN"]);
  });
});
