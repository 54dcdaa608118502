// invokeModelStream over graphql-ws against the mock provider: text deltas, then a last chunk
// with the finish reason and usage; a stream the provider cuts ends with a PROVIDER_ERROR
// (never a clean complete); a client that completes or leaves stops the provider call, and
// the call's usage row and audit event are still written; the policies of invokeModel apply.
import { afterEach, describe, expect, it } from "vitest";
import { MOCK_COMPLETION_TOKENS as C, MOCK_PROMPT_TOKENS as P, type MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { errorsOf, subscribe, wsClient, type WsSession } from "../harness/ws-client.js";
import { hello, INVOKE, providerKey, useServerAndMockProvider } from "../invoke/helpers.js";
import { ownerAttach, ownerPolicy } from "../policies/helpers.js";
import { auditRows, until, usageRows } from "./sse-client.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const STREAM = `subscription Stream($input: InvokeModelInput!) {
  invokeModelStream(input: $input) { id delta finishReason usage { promptTokens completionTokens totalTokens } } }`;

const sessions: WsSession[] = [];
const open = (token = t.ownerKey) => {
  const s = wsClient(t.url, token);
  sessions.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.dispose()));
});

const chunksOf = (sub: { results: { data?: any }[] }) => sub.results.map((r) => r.data?.invokeModelStream).filter(Boolean);

describe("invokeModelStream against a provider", () => {
  it("streams the text deltas, then one last chunk with the finish reason and usage; usage and audit written once", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "ok", chunkDelayMs: 2 });
    const sub = subscribe(open(), STREAM, { input: { virtualKey: key.slug, model: "gpt-4o-mini", messages: hello } });
    await sub.ended;
    expect(errorsOf(sub)).toEqual([]);
    expect(sub.completed).toBe(true);
    const chunks = chunksOf(sub);
    // One chunk per text piece the provider sent, then the last one.
    expect(chunks.map((c) => c.delta)).toEqual(["mock ", "reply ", "to: ", "Hello ", "there", ""]);
    for (const c of chunks.slice(0, -1)) expect(c).toMatchObject({ finishReason: null, usage: null });
    expect(chunks.at(-1)).toMatchObject({ delta: "", finishReason: "stop", usage: { promptTokens: P, completionTokens: C, totalTokens: P + C } });
    const requestId = chunks[0].id;
    expect(chunks.every((c) => c.id === requestId)).toBe(true);
    expect(mock.requests[0].stream).toBe(true);
    expect(usageRows(t, requestId)).toEqual([expect.objectContaining({ virtualKeyId: key.id, model: "gpt-4o-mini", success: true, promptTokens: P, completionTokens: C })]);
    const events = auditRows(t, requestId);
    expect(events).toEqual([expect.objectContaining({ outcome: "SUCCESS", targetKind: "VirtualKey", targetId: key.id })]);
    expect(events[0].details).toMatchObject({ stream: true, attempts: 1, model: "gpt-4o-mini" });
  });

  it("the finish reason of a translated provider is OpenAI's (Anthropic max_tokens -> length)", async () => {
    const key = await providerKey(t, mock.url, { provider: "ANTHROPIC" });
    mock.enqueue({ kind: "ok", finishReason: "max_tokens" });
    const sub = subscribe(open(), STREAM, { input: { virtualKey: key.slug, model: "claude-3-haiku", messages: hello } });
    await sub.ended;
    expect(errorsOf(sub)).toEqual([]);
    expect(chunksOf(sub).at(-1)).toMatchObject({ finishReason: "length", usage: { promptTokens: P, completionTokens: C } });
  });

  it("a stream the provider cuts ends with a PROVIDER_ERROR, never a clean complete; the failure is audited and billed", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "cut", afterChunks: 3 });
    const sub = subscribe(open(), STREAM, { input: { virtualKey: key.slug, model: "gpt-4o", messages: hello } });
    await sub.ended;
    expect(sub.completed).toBe(false);
    const errors = errorsOf(sub);
    expect(errors).toHaveLength(1);
    expect(errors[0].extensions).toMatchObject({ code: "PROVIDER_ERROR" });
    const chunks = chunksOf(sub);
    // What was streamed before the cut arrived; no last chunk with a finish reason.
    expect(chunks.map((c) => c.delta).join("")).toBe("mock reply ");
    expect(chunks.every((c) => c.finishReason === null && c.usage === null)).toBe(true);
    const requestId = errors[0].extensions!.requestId as string;
    expect(chunks.every((c) => c.id === requestId)).toBe(true);
    const [event] = auditRows(t, requestId);
    expect(event).toMatchObject({ outcome: "FAILURE", targetId: key.id });
    expect(event.details).toMatchObject({ code: "PROVIDER_ERROR", stream: true });
    const rows = usageRows(t, requestId);
    expect(rows).toEqual([expect.objectContaining({ virtualKeyId: key.id, success: false, completionTokens: 3 })]);
  });

  it.each(["completes", "disconnects"] as const)("a client that %s mid-stream stops the provider call; usage and the audit event are written", async (how) => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "stallStream", afterChunks: 3 });
    const session = open();
    const sub = subscribe(session, STREAM, { input: { virtualKey: key.slug, model: "gpt-4o", messages: hello } });
    await sub.received(2);
    const requestId = chunksOf(sub)[0].id as string;
    if (how === "completes") sub.unsubscribe();
    else await session.dispose();
    const upstream = await mock.waitForClose(0);
    expect(upstream.aborted).toBe(true);
    await until(() => auditRows(t, requestId).length > 0, "the audit event");
    const [event] = auditRows(t, requestId);
    expect(event).toMatchObject({ outcome: "SUCCESS", targetId: key.id });
    expect(event.details).toMatchObject({ stream: true, ended: "client_left" });
    const rows = usageRows(t, requestId);
    expect(rows).toHaveLength(1);
    // "mock reply " was streamed: three tokens at four characters a token.
    expect(rows[0]).toMatchObject({ virtualKeyId: key.id, model: "gpt-4o", completionTokens: 3 });
    expect(rows[0].costUsd).toBeGreaterThan(0);
  });

  it("the policies of invokeModel apply: a model the virtual key's policy does not allow is MODEL_NOT_ALLOWED, and the provider is not called", async () => {
    const key = await providerKey(t, mock.url);
    const policy = await ownerPolicy(t, { allowedModels: ["gpt-4o-mini"] });
    await ownerAttach(t, policy, key.id);
    const input = { virtualKey: key.slug, model: "gpt-4o", messages: hello };

    const whole = await t.client(t.ownerKey).query(INVOKE, { input });
    expect(whole.body.errors?.[0].extensions.code, whole.text).toBe("MODEL_NOT_ALLOWED");

    const sub = subscribe(open(), STREAM, { input });
    await sub.ended;
    expect(sub.completed).toBe(false);
    const errors = errorsOf(sub);
    expect(errors.map((e) => e.extensions?.code)).toEqual(["MODEL_NOT_ALLOWED"]);
    expect(chunksOf(sub)).toEqual([]);
    expect(mock.requests).toHaveLength(0);
    const requestId = errors[0].extensions!.requestId as string;
    const [event] = auditRows(t, requestId);
    expect(event).toMatchObject({ outcome: "FAILURE", targetId: key.id });
    expect(event.details).toMatchObject({ code: "MODEL_NOT_ALLOWED" });

    // The model the policy allows streams.
    const allowed = subscribe(open(), STREAM, { input: { ...input, model: "gpt-4o-mini" } });
    await allowed.ended;
    expect(errorsOf(allowed)).toEqual([]);
    expect(allowed.completed).toBe(true);
  });

  it("a budget too small for one call is BUDGET_EXCEEDED before any chunk, as for invokeModel", async () => {
    const key = await providerKey(t, mock.url);
    const policy = await ownerPolicy(t, { budget: { limitUsd: 0.0001, period: "TOTAL" } });
    await ownerAttach(t, policy, key.id);
    const input = { virtualKey: key.slug, model: "gpt-4o", messages: hello };
    expect((await t.client(t.ownerKey).query(INVOKE, { input })).body.errors?.[0].extensions.code).toBe("BUDGET_EXCEEDED");
    const sub = subscribe(open(), STREAM, { input });
    await sub.ended;
    expect(errorsOf(sub).map((e) => e.extensions?.code)).toEqual(["BUDGET_EXCEEDED"]);
    expect(chunksOf(sub)).toEqual([]);
    expect(mock.requests).toHaveLength(0);
  });
});
