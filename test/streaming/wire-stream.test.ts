// `stream: true` on POST /v1/chat/completions: the provider's chunks relayed one by one in
// OpenAI's chunk format, [DONE] at the end, usage only when asked for; a stream the provider cut
// ends with an error event and no [DONE]; a client that leaves stops the provider call and pays
// for what was streamed; the budget is reserved before the first byte; Anthropic and Gemini
// streams come out in the same format.
import { describe, expect, it } from "vitest";
import { MOCK_COMPLETION_TOKENS as C, MOCK_PROMPT_TOKENS as P, type MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { providerKey, useServerAndMockProvider } from "../invoke/helpers.js";
import { ownerAttach, ownerPolicy } from "../policies/helpers.js";
import { auditRows, postChat, sseData, streamed, until, usageRows, usageRowsOfKey } from "./sse-client.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const hello = [{ role: "user", content: "Hello there" }];
const REPLY = "mock reply to: Hello there";
/** The mock streams REPLY word by word: "mock ", "reply ", "to: ", "Hello ", "there". */
const PIECES = ["mock ", "reply ", "to: ", "Hello ", "there"];

/** An event of OpenAI's chat.completion.chunk, as the SDKs read it. */
function expectChunkShape(event: any, requestId: string, model: string) {
  expect(event).toMatchObject({ id: `chatcmpl-${requestId}`, object: "chat.completion.chunk", created: expect.any(Number), model });
  expect(Array.isArray(event.choices)).toBe(true);
  for (const c of event.choices) {
    expect(Object.keys(c).sort()).toEqual(["delta", "finish_reason", "index", "logprobs"]);
    expect(c.logprobs).toBeNull();
  }
}

const contentOf = (events: any[]) => events.flatMap((e) => e.choices.map((c: any) => c.delta.content ?? "")).join("");

describe("POST /v1/chat/completions with stream: true", () => {
  it("relays the provider's chunks one by one in OpenAI's chunk format, then data: [DONE]", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "ok", chunkDelayMs: 5 });
    const res = await streamed(t, { model: `@${key.slug}/gpt-4o-mini`, messages: hello });
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.done).toBe(true);
    await mock.waitForClose(0);
    // The mock sent: a role chunk, five content chunks, a finish chunk, a usage chunk (the
    // gateway always asks for usage), [DONE]. Every chunk with choices reaches the client as
    // its own event; the usage chunk only when the client asks for it.
    expect(mock.requests[0].chunksSent).toBe(9);
    expect(res.events).toHaveLength(7);
    for (const e of res.events) expectChunkShape(e, res.requestId, "gpt-4o-mini");
    expect(res.events[0].choices[0].delta).toMatchObject({ role: "assistant" });
    expect(res.events.slice(1, 6).map((e) => e.choices[0].delta.content)).toEqual(PIECES);
    expect(res.events.slice(0, 6).every((e) => e.choices[0].finish_reason === null)).toBe(true);
    expect(res.events[6].choices[0]).toMatchObject({ index: 0, finish_reason: "stop" });
    expect(res.events.some((e) => "usage" in e)).toBe(false);
    expect(contentOf(res.events)).toBe(REPLY);
    // Upstream: a stream, with usage asked for so that the call can be counted.
    expect(mock.requests[0].body).toMatchObject({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true } });
    // Counted with the provider's own usage, once.
    const rows = usageRows(t, res.requestId);
    expect(rows).toEqual([expect.objectContaining({ virtualKeyId: key.id, model: "gpt-4o-mini", success: true, promptTokens: P, completionTokens: C })]);
    const events = auditRows(t, res.requestId);
    expect(events).toEqual([expect.objectContaining({ outcome: "SUCCESS", targetKind: "VirtualKey", targetId: key.id })]);
    expect(events[0].details).toMatchObject({ stream: true, virtualKeyId: key.id, model: "gpt-4o-mini", attempts: 1 });
    expect(events[0].details).not.toHaveProperty("code");
    expect(events[0].details).not.toHaveProperty("ended");
  });

  it("a chunk reaches the client while the provider is still answering", async () => {
    const key = await providerKey(t, mock.url);
    // Three events, then the provider holds the stream open without finishing it.
    mock.enqueue({ kind: "stallStream", afterChunks: 3 });
    const left = new AbortController();
    const call = await postChat(t, { model: `@${key.slug}/gpt-4o-mini`, messages: hello, stream: true }, { signal: left.signal });
    expect(call.status).toBe(200);
    let providerDone = false;
    void mock.waitForClose(0).then(() => (providerDone = true));
    const received: any[] = [];
    const reader = sseData(call.response);
    for (let i = 0; i < 3; i++) received.push(JSON.parse((await reader.next()).value as string));
    // The provider's answer is not over, and the events it sent so far are already with the client.
    expect(providerDone).toBe(false);
    expect(mock.requests[0].chunksSent).toBeLessThanOrEqual(3);
    expect(received.map((e) => e.choices[0].delta.content)).toEqual(["", "mock ", "reply "]);
    left.abort();
    await reader.return(undefined).catch(() => undefined);
    expect((await mock.waitForClose(0)).aborted).toBe(true);
  });

  it("the usage chunk comes last, before [DONE], only with stream_options.include_usage", async () => {
    const key = await providerKey(t, mock.url);
    const res = await streamed(t, { model: `@${key.slug}/gpt-4o`, messages: hello, stream_options: { include_usage: true } });
    expect(res.done).toBe(true);
    const last = res.events.at(-1);
    expectChunkShape(last, res.requestId, "gpt-4o");
    expect(last).toMatchObject({ choices: [], usage: { prompt_tokens: P, completion_tokens: C, total_tokens: P + C } });
    expect(res.events.slice(0, -1).some((e) => "usage" in e)).toBe(false);
    expect(contentOf(res.events)).toBe(REPLY);

    const without = await streamed(t, { model: `@${key.slug}/gpt-4o`, messages: hello, stream_options: { include_usage: false } });
    expect(without.done).toBe(true);
    expect(without.events.some((e) => "usage" in e || e.choices.length === 0)).toBe(false);
  });

  it("a stream the provider cuts ends with an error event and no [DONE]; the call is audited as a PROVIDER_ERROR failure and billed", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "cut", afterChunks: 3 });
    const res = await streamed(t, { model: `@${key.slug}/gpt-4o`, messages: hello, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.done).toBe(false);
    expect(res.data).not.toContain("[DONE]");
    // What was streamed, then the error as the last event.
    expect(contentOf(res.events.slice(0, -1))).toBe("mock reply ");
    const last = res.events.at(-1);
    expect(last).toEqual({ error: { message: expect.any(String), type: "api_error", param: null, code: "provider_error", request_id: res.requestId } });
    // No usage event for a stream that did not end.
    expect(res.events.some((e) => "usage" in e)).toBe(false);

    const events = auditRows(t, res.requestId);
    expect(events).toEqual([expect.objectContaining({ outcome: "FAILURE", targetKind: "VirtualKey", targetId: key.id })]);
    expect(events[0].details).toMatchObject({ code: "PROVIDER_ERROR", stream: true, attempts: 1 });
    const rows = usageRows(t, res.requestId);
    expect(rows).toHaveLength(1);
    // Without the provider's count (it comes last), "mock reply " is billed at four characters a token.
    expect(rows[0]).toMatchObject({ virtualKeyId: key.id, model: "gpt-4o", success: false, completionTokens: 3 });
    expect(rows[0].promptTokens).toBeGreaterThan(0);
    expect(rows[0].costUsd).toBeGreaterThan(0);
  });

  it("a client that leaves mid-stream stops the provider call, pays for what was streamed, and the call is audited as client_left", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "stallStream", afterChunks: 3 });
    const left = new AbortController();
    const call = await postChat(t, { model: `@${key.slug}/gpt-4o`, messages: hello, stream: true }, { signal: left.signal });
    expect(call.status).toBe(200);
    const reader = sseData(call.response);
    const first = JSON.parse((await reader.next()).value as string);
    expect(first.object).toBe("chat.completion.chunk");
    // Read until "reply " so that the gateway has relayed it.
    for (let i = 0; i < 2; i++) await reader.next();
    left.abort();
    await reader.return(undefined).catch(() => undefined);

    const upstream = await mock.waitForClose(0);
    expect(upstream.aborted).toBe(true);
    await until(() => auditRows(t, call.requestId).length > 0, "the audit event");
    const [event] = auditRows(t, call.requestId);
    expect(event).toMatchObject({ outcome: "SUCCESS", targetKind: "VirtualKey", targetId: key.id });
    expect(event.details).toMatchObject({ stream: true, ended: "client_left", attempts: 1 });
    const rows = usageRows(t, call.requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0].virtualKeyId).toBe(key.id);
    expect(rows[0].completionTokens).toBeGreaterThan(0);
    expect(rows[0].costUsd).toBeGreaterThan(0);
  });

  it("a client that leaves before the provider's first byte is audited as client_left, not as a provider failure", async () => {
    const key = await providerKey(t, mock.url);
    // The provider takes the request and has not answered yet when the client goes.
    mock.enqueue({ kind: "stall" });
    const left = new AbortController();
    const pending = postChat(t, { model: `@${key.slug}/gpt-4o`, messages: hello, stream: true }, { signal: left.signal }).catch(() => null);
    await mock.waitForRequests(1);
    left.abort();
    expect(await pending).toBeNull();
    const upstream = await mock.waitForClose(0);
    expect(upstream.aborted).toBe(true);
    let requestId = "";
    await until(() => {
      requestId = usageRowsOfKey(t, key.id)[0]?.requestId ?? "";
      return requestId !== "" && auditRows(t, requestId).length > 0;
    }, "the call's records");
    // The breaker rightly holds nothing against the target (src/gateway/attempts.ts blamesTarget).
    expect(t.server.services.health.snapshot(`${key.id}|gpt-4o`)).toMatchObject({ state: "CLOSED", failures: 0 });
    const [event] = auditRows(t, requestId);
    // Leaving before the first byte is no provider failure: audited as a client leaving, like one a byte later.
    expect(event.details).not.toHaveProperty("code");
    expect(event.details).toMatchObject({ ended: "client_left" });
    expect(event.outcome).toBe("SUCCESS");
  });

  it("the budget is reserved before the first byte: a budget too small for one call is a 429 before any event, and the provider gets nothing", async () => {
    const key = await providerKey(t, mock.url);
    // gpt-4o at 1024 completion tokens reserves about a cent.
    const policy = await ownerPolicy(t, { budget: { limitUsd: 0.0001, period: "TOTAL" } });
    await ownerAttach(t, policy, key.id);
    const call = await postChat(t, { model: `@${key.slug}/gpt-4o`, messages: hello, stream: true });
    expect(call.status).toBe(429);
    expect(call.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await call.response.json();
    expect(body.error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    expect(call.headers.get("x-should-retry")).toBe("false");
    expect(mock.requests).toHaveLength(0);
    const [event] = auditRows(t, call.requestId);
    expect(event).toMatchObject({ outcome: "FAILURE" });
    expect(event.details).toMatchObject({ code: "BUDGET_EXCEEDED" });
    // Nothing was sent: no usage row.
    expect(usageRows(t, call.requestId)).toEqual([]);
  });

  it.each([
    { provider: "ANTHROPIC" as const, model: "claude-3-5-haiku-20241022", served: "claude-3-5-haiku-20241022", path: "/v1/messages", query: "" },
    { provider: "GOOGLE" as const, model: "gemini-2.0-flash", served: "gemini-mock", path: "/v1beta/models/gemini-2.0-flash:streamGenerateContent", query: "alt=sse" },
  ])("$provider: the provider's own stream comes out in OpenAI's chunk format", async ({ provider, model, served, path, query }) => {
    const key = await providerKey(t, mock.url, { provider });
    const res = await streamed(t, { model: `@${key.slug}/${model}`, messages: hello, stream_options: { include_usage: true } });
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    expect(res.done).toBe(true);
    expect(mock.requests[0]).toMatchObject({ path, query, stream: true });
    for (const e of res.events) expectChunkShape(e, res.requestId, served);
    const withChoices = res.events.filter((e) => e.choices.length > 0);
    expect(withChoices[0].choices[0].delta.role).toBe("assistant");
    expect(contentOf(res.events)).toBe(REPLY);
    const finishes = withChoices.map((e) => e.choices[0].finish_reason);
    expect(finishes.at(-1)).toBe("stop");
    expect(finishes.slice(0, -1).every((f) => f === null)).toBe(true);
    expect(res.events.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: P, completion_tokens: C, total_tokens: P + C } });
    expect(usageRows(t, res.requestId)).toEqual([expect.objectContaining({ provider, success: true, promptTokens: P, completionTokens: C })]);
  });
});
