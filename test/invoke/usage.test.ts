// usage(filter): sums of the rows invokeModel writes (one per provider attempt), filtered by
// workspace, API key, virtual key, model and time, and read within USAGE_READ's scope; the
// virtual key's lastUsedAt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { startMockProvider, MOCK_COMPLETION_TOKENS as C, MOCK_PROMPT_TOKENS as P, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { hello, INVOKE, PRIVATE_NETWORK, providerKey, route, USAGE } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;
let w1: string;
let w2: string;
let w1Key: { id: string; slug: string };
let orgKey: { id: string; slug: string };
let caller: { id: string; token: string };
let start: Date;

const usage = (token: string, filter?: Record<string, unknown>) => t.client(token).query(USAGE, { filter });
const sums = async (filter?: Record<string, unknown>, token = t.ownerKey) => {
  const res = await usage(token, filter);
  if (!res.body.data) throw new Error(res.text);
  return res.body.data.usage;
};
const invoke = async (token: string, input: Record<string, unknown>) => t.client(token).query(INVOKE, { input: { messages: hello, ...input } });

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  mock = await startMockProvider();
  const s = seed(t);
  w1 = s.workspace("use-one");
  w2 = s.workspace("use-two");
  w1Key = await providerKey(t, mock.url, { workspaceId: w1 });
  orgKey = await providerKey(t, mock.url);
  caller = s.apiKey("member", w1);
  start = t.clock.now();
  // In w1, by the w1 key: two successes (gpt-4o), one failure.
  await invoke(caller.token, { virtualKey: w1Key.id, model: "gpt-4o" });
  await invoke(caller.token, { virtualKey: w1Key.id, model: "gpt-4o" });
  mock.enqueue({ kind: "fail", status: 500 });
  await invoke(caller.token, { virtualKey: w1Key.id, model: "gpt-4o" });
  t.clock.advance(3_600_000);
  // Organization-level, by the owner: one success of an unpriced model, then a fallback (one failure, one success).
  await invoke(t.ownerKey, { virtualKey: orgKey.id, model: "local-model" });
  const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: orgKey.id, model: "gpt-4o-mini" }, { virtualKey: orgKey.id, model: "gpt-4o-mini" }] });
  mock.enqueue({ kind: "fail", status: 503 });
  await invoke(t.ownerKey, { route: r.id });
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});

const gpt4o = (P * 2.5 + C * 10) / 1e6;
const mini = (P * 0.15 + C * 0.6) / 1e6;

describe("usage", () => {
  it("sums every provider attempt of the organization: requests, errors, tokens, cost", async () => {
    const all = await sums();
    expect(all).toMatchObject({ requests: 6, errors: 2, promptTokens: 4 * P, completionTokens: 4 * C });
    expect(all.costUsd).toBeCloseTo(2 * gpt4o + mini, 12);
  });

  it("filters by workspace, API key, virtual key, model and time", async () => {
    expect(await sums({ workspaceId: w1 })).toMatchObject({ requests: 3, errors: 1, promptTokens: 2 * P });
    expect(await sums({ workspaceId: w2 })).toEqual({ requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    expect(await sums({ apiKeyId: caller.id })).toMatchObject({ requests: 3, errors: 1 });
    expect(await sums({ virtualKeyId: orgKey.id })).toMatchObject({ requests: 3, errors: 1, promptTokens: 2 * P });
    expect(await sums({ model: "gpt-4o-mini" })).toMatchObject({ requests: 2, errors: 1, promptTokens: P });
    expect((await sums({ model: "local-model" })).costUsd).toBe(0);
    const later = new Date(start.getTime() + 1_000).toISOString();
    expect(await sums({ to: later })).toMatchObject({ requests: 3 });
    expect(await sums({ from: later })).toMatchObject({ requests: 3, errors: 1 });
    expect(await sums({ from: later, workspaceId: w1 })).toMatchObject({ requests: 0 });
  });

  it("reads follow USAGE_READ: a workspace reader reads its workspace only; unfiltered usage needs it organization-wide", async () => {
    const member = seed(t).apiKey("member", w1).token;
    expect(await sums({ workspaceId: w1 }, member)).toMatchObject({ requests: 3 });
    expect((await usage(member)).body.errors?.[0].extensions.code).toBe("FORBIDDEN");
    expect((await usage(member, { workspaceId: w2 })).body.errors?.[0].extensions.code).toBe("NOT_FOUND");
    expect((await usage(seed(t).apiKey("viewer").token)).body.data?.usage.requests).toBe(6);
    const other = t.createOrganization("Usage tenant");
    expect(await sums(undefined, other.ownerKey)).toMatchObject({ requests: 0 });
    expect((await usage(other.ownerKey, { workspaceId: w1 })).body.errors?.[0].extensions.code).toBe("NOT_FOUND");
  });

  it("a virtual key's lastUsedAt is set by a call and written at most once a minute", async () => {
    const NODE = `query($id: ID!) { node(id: $id) { ... on VirtualKey { lastUsedAt } } }`;
    const fresh = await providerKey(t, mock.url);
    expect((await t.client(t.ownerKey).data(NODE, { id: fresh.id })).node.lastUsedAt).toBeNull();
    await invoke(t.ownerKey, { virtualKey: fresh.id, model: "gpt-4o" });
    const first = (await t.client(t.ownerKey).data(NODE, { id: fresh.id })).node.lastUsedAt;
    expect(first).toBe(t.clock.now().toISOString());
    t.clock.advance(30_000);
    await invoke(t.ownerKey, { virtualKey: fresh.id, model: "gpt-4o" });
    expect((await t.client(t.ownerKey).data(NODE, { id: fresh.id })).node.lastUsedAt).toBe(first);
    t.clock.advance(31_000);
    await invoke(t.ownerKey, { virtualKey: fresh.id, model: "gpt-4o" });
    expect((await t.client(t.ownerKey).data(NODE, { id: fresh.id })).node.lastUsedAt).toBe(t.clock.now().toISOString());
  });
});
