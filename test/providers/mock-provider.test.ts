// The mock provider itself, read raw over loopback: its answers must stay in each provider's
// real wire format (whole, streamed, embeddings) for the adapter and engine tests to mean anything.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { request } from "undici";
import { MOCK_COMPLETION_TOKENS, MOCK_EMBEDDING_DIMENSIONS, MOCK_PROMPT_TOKENS, mockEmbedding, startMockProvider, type MockProvider } from "../harness/mock-provider.js";

let mock: MockProvider;
beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

const P = MOCK_PROMPT_TOKENS;
const C = MOCK_COMPLETION_TOKENS;
const OPENAI = "/v1/chat/completions";
const ANTHROPIC = "/v1/messages";
const GEMINI = "/v1beta/models/gemini-2.5-flash:generateContent";
const GEMINI_STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${mock.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** The events of an SSE body: [event name or null, parsed data or the raw string]. */
function events(text: string): [string | null, any][] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? null;
      const data = /^data: (.*)$/m.exec(block)![1];
      return [event, data === "[DONE]" ? data : JSON.parse(data)];
    });
}

const openAiBody = (over: Record<string, unknown> = {}) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello there" }], ...over });
const anthropicBody = (over: Record<string, unknown> = {}) => ({ model: "claude-x", max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: "Hello there" }] }], ...over });
const geminiBody = { contents: [{ role: "user", parts: [{ text: "Hello there" }] }] };

describe("whole answers, as before", () => {
  it("OpenAI, Anthropic and Gemini answer the last user text with the mock's usage", async () => {
    expect(JSON.parse((await post(OPENAI, openAiBody(), { authorization: "Bearer k" })).text)).toEqual({
      id: "chatcmpl-mock",
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "mock reply to: Hello there" }, finish_reason: "stop" }],
      usage: { prompt_tokens: P, completion_tokens: C, total_tokens: P + C },
    });
    expect(JSON.parse((await post(ANTHROPIC, anthropicBody())).text)).toEqual({
      id: "msg_mock",
      type: "message",
      role: "assistant",
      model: "claude-x",
      content: [{ type: "text", text: "mock reply to: Hello there" }],
      stop_reason: "end_turn",
      usage: { input_tokens: P, output_tokens: C },
    });
    expect(JSON.parse((await post(GEMINI, geminiBody)).text)).toEqual({
      candidates: [{ content: { role: "model", parts: [{ text: "mock reply to: Hello there" }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: P, candidatesTokenCount: C, totalTokenCount: P + C },
      modelVersion: "gemini-mock",
    });
    expect(mock.requests.map((r) => [r.format, r.operation, r.stream])).toEqual([
      ["openai", "chat", false],
      ["anthropic", "chat", false],
      ["google", "chat", false],
    ]);
  });

  it("fail, rateLimit and stall keep their meaning; error bodies echo the credential", async () => {
    mock.enqueue({ kind: "fail", status: 500 }, { kind: "rateLimit" }, { kind: "fail", status: 503, headers: { "retry-after": "9" } }, { kind: "rateLimit", retryAfter: null });
    const failed = await post(OPENAI, openAiBody(), { authorization: "Bearer sk-echo" });
    expect(failed.status).toBe(500);
    expect(failed.text).toContain("sk-echo");
    const limited = await post(ANTHROPIC, anthropicBody(), { "x-api-key": "sk-ant-echo" });
    expect([limited.status, limited.headers["retry-after"]]).toEqual([429, "1"]);
    expect(JSON.parse(limited.text).error.type).toBe("rate_limit_error");
    expect(limited.text).toContain("sk-ant-echo");
    expect((await post(GEMINI, geminiBody)).headers["retry-after"]).toBe("9");
    expect((await post(OPENAI, openAiBody())).headers["retry-after"]).toBeUndefined();
  });

  it("tool calls in each provider's shape, with its finish reason for tool use", async () => {
    mock.setDefault({ kind: "ok", toolCalls: [{ name: "get_weather", arguments: '{"location":"Paris"}' }] });
    const openai = JSON.parse((await post(OPENAI, openAiBody())).text);
    expect(openai.choices[0]).toEqual({ index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "call_mock_0", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }] }, finish_reason: "tool_calls" });
    const anthropic = JSON.parse((await post(ANTHROPIC, anthropicBody())).text);
    expect([anthropic.content, anthropic.stop_reason]).toEqual([[{ type: "tool_use", id: "toolu_mock_0", name: "get_weather", input: { location: "Paris" } }], "tool_use"]);
    const gemini = JSON.parse((await post(GEMINI, geminiBody)).text);
    expect(gemini.candidates[0]).toEqual({ content: { role: "model", parts: [{ functionCall: { name: "get_weather", args: { location: "Paris" } } }] }, finishReason: "STOP" });
  });

  it("finishReason, tokens and model overrides", async () => {
    mock.setDefault({ kind: "ok", finishReason: "SAFETY", promptTokens: 3, completionTokens: 4, model: "gemini-x-001" });
    const gemini = JSON.parse((await post(GEMINI, geminiBody)).text);
    expect([gemini.candidates[0].finishReason, gemini.usageMetadata.totalTokenCount, gemini.modelVersion]).toEqual(["SAFETY", 7, "gemini-x-001"]);
  });
});

describe("streams", () => {
  it("OpenAI: chat.completion.chunk events, the usage chunk when asked, then [DONE]", async () => {
    mock.enqueue({ kind: "ok", content: "One two three" });
    const res = await post(OPENAI, openAiBody({ stream: true, stream_options: { include_usage: true } }));
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    const list = events(res.text);
    expect(list.every(([name]) => name === null)).toBe(true);
    const chunks = list.slice(0, -1).map(([, data]) => data);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "gpt-4o-mini")).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: "assistant", content: "", refusal: null }, { content: "One " }, { content: "two " }, { content: "three" }, {}, undefined]);
    expect(chunks.at(-2).choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: P, completion_tokens: C, total_tokens: P + C } });
    expect(list.at(-1)![1]).toBe("[DONE]");
    expect(mock.requests[0].stream).toBe(true);
    expect(mock.requests[0].chunksSent).toBe(list.length);
  });

  it("OpenAI: no usage chunk unless asked; tool call deltas by index", async () => {
    mock.enqueue({ kind: "ok", toolCalls: [{ name: "f", arguments: '{"a":1}' }] });
    const chunks = events((await post(OPENAI, openAiBody({ stream: true }))).text).slice(0, -1).map(([, d]) => d);
    expect(chunks.some((c) => "usage" in c)).toBe(false);
    expect(chunks.map((c) => c.choices[0].delta.tool_calls?.[0])).toEqual([undefined, { index: 0, id: "call_mock_0", type: "function", function: { name: "f", arguments: "" } }, { index: 0, function: { arguments: '{"a"' } }, { index: 0, function: { arguments: ":1}" } }, undefined]);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });

  it("Anthropic: the Messages event sequence, text and tool use blocks", async () => {
    mock.enqueue({ kind: "ok", content: "Hi there", toolCalls: [{ name: "f", arguments: '{"a":1}' }], finishReason: "max_tokens" });
    const list = events((await post(ANTHROPIC, anthropicBody({ stream: true }))).text);
    expect(list.every(([name, data]) => name === data.type)).toBe(true);
    expect(list.map(([name]) => name)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(list[0][1].message).toMatchObject({ model: "claude-x", content: [], usage: { input_tokens: P } });
    expect(list[3][1]).toEqual({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi " } });
    expect(list[6][1]).toEqual({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_mock_0", name: "f", input: {} } });
    expect(list[7][1].delta).toEqual({ type: "input_json_delta", partial_json: '{"a"' });
    expect(list[10][1]).toEqual({ type: "message_delta", delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: { output_tokens: C } });
  });

  it("Gemini: GenerateContentResponse events, the last with finishReason and the whole usage", async () => {
    mock.enqueue({ kind: "ok", content: "One two", toolCalls: [{ name: "f", arguments: '{"a":1}' }] });
    const res = await post(GEMINI_STREAM, geminiBody);
    const list = events(res.text).map(([, d]) => d);
    expect(list.map((r) => r.candidates[0].content.parts)).toEqual([[{ text: "One " }], [{ text: "two" }], [{ functionCall: { name: "f", args: { a: 1 } } }]]);
    expect(list.map((r) => r.candidates[0].finishReason)).toEqual([undefined, undefined, "STOP"]);
    expect(list.at(-1).usageMetadata).toEqual({ promptTokenCount: P, candidatesTokenCount: C, totalTokenCount: P + C });
    expect(mock.requests[0]).toMatchObject({ format: "google", operation: "chat", stream: true, query: "alt=sse" });
  });

  it("Gemini without alt=sse: one JSON array", async () => {
    const res = await post("/v1beta/models/g:streamGenerateContent", geminiBody);
    expect(JSON.parse(res.text).map((r: any) => r.candidates[0].content.parts[0].text).join("")).toBe("mock reply to: Hello there");
  });

  it("cut: the first events, then the socket is destroyed", async () => {
    mock.enqueue({ kind: "cut", afterChunks: 2 });
    const res = await request(`${mock.url}${OPENAI}`, { method: "POST", body: JSON.stringify(openAiBody({ stream: true })) });
    let text = "";
    await expect(
      (async () => {
        for await (const chunk of res.body) text += chunk;
      })(),
    ).rejects.toThrow();
    expect(events(text)).toHaveLength(2);
    const recorded = await mock.waitForClose(0);
    expect([recorded.chunksSent, recorded.aborted]).toEqual([2, false]);
  });

  it("stallStream: the first events, then nothing until the client leaves, which is recorded", async () => {
    mock.enqueue({ kind: "stallStream", afterChunks: 3 });
    const res = await request(`${mock.url}${ANTHROPIC}`, { method: "POST", body: JSON.stringify(anthropicBody({ stream: true })) });
    const iterator = res.body[Symbol.asyncIterator]();
    let text = "";
    while (events(text).length < 3) text += (await iterator.next()).value;
    expect(mock.requests[0].aborted).toBe(false);
    res.body.destroy();
    expect((await mock.waitForClose(0)).aborted).toBe(true);
  });

  it("a whole answer under cut: half the JSON, then the socket is destroyed", async () => {
    mock.enqueue({ kind: "cut", afterChunks: 0 });
    await expect(post(OPENAI, openAiBody())).rejects.toThrow();
  });
});

describe("embeddings", () => {
  it("OpenAI and Azure: data[].embedding and usage; dimensions and base64 honoured", async () => {
    const plain = JSON.parse((await post("/v1/embeddings", { model: "text-embedding-3-small", input: ["a", "b"] })).text);
    expect(plain).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: mockEmbedding("a") },
        { object: "embedding", index: 1, embedding: mockEmbedding("b") },
      ],
      model: "text-embedding-3-small",
      usage: { prompt_tokens: P, total_tokens: P },
    });
    expect(plain.data[0].embedding).toHaveLength(MOCK_EMBEDDING_DIMENSIONS);
    const azure = JSON.parse((await post("/openai/deployments/d/embeddings?api-version=2024-10-21", { input: "a", dimensions: 2, encoding_format: "base64" })).text);
    const bytes = Buffer.from(azure.data[0].embedding, "base64");
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 2))).toEqual(mockEmbedding("a", 2));
    expect(mock.requests.map((r) => [r.format, r.operation])).toEqual([
      ["openai", "embeddings"],
      ["openai", "embeddings"],
    ]);
  });

  it("Gemini: batchEmbedContents and embedContent", async () => {
    const batch = JSON.parse((await post("/v1beta/models/e:batchEmbedContents", { requests: [{ model: "models/e", content: { parts: [{ text: "a" }] }, outputDimensionality: 3 }] })).text);
    expect(batch).toEqual({ embeddings: [{ values: mockEmbedding("a", 3) }] });
    const one = JSON.parse((await post("/v1beta/models/e:embedContent", { content: { parts: [{ text: "b" }] } })).text);
    expect(one).toEqual({ embedding: { values: mockEmbedding("b") } });
    expect(mock.requests.map((r) => [r.format, r.operation])).toEqual([
      ["google", "embeddings"],
      ["google", "embeddings"],
    ]);
  });

  it("vectors are deterministic and differ by text", () => {
    expect(mockEmbedding("same")).toEqual(mockEmbedding("same"));
    expect(mockEmbedding("one")).not.toEqual(mockEmbedding("two"));
  });
});

describe("helpers", () => {
  it("waitForRequests resolves once the mock has seen them", async () => {
    mock.enqueue({ kind: "stall" });
    const seen = mock.waitForRequests(1);
    const pending = request(`${mock.url}${OPENAI}`, { method: "POST", body: "{}" }).catch(() => undefined);
    expect((await seen)[0].path).toBe(OPENAI);
    // The stalled answer ends when the mock closes.
    void pending;
  });

  it("unknown paths are 404", async () => {
    expect((await post("/v2/other", {})).status).toBe(404);
    expect(mock.requests[0]).toMatchObject({ format: "unknown", operation: "unknown" });
  });
});
