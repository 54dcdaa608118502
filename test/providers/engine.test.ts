// The provider engine (src/providers/call.ts) against the mock provider on loopback: whole
// answers and streams in the three wire formats, every way a call fails, and what a failure
// may carry (a status and a wait hint, never the provider's body or the secret).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OutboundClient } from "../../src/net/outbound.js";
import type { ProviderAdapter } from "../../src/providers/adapter.js";
import { callChat, callEmbeddings, openChatStream, retryAfterMs, type ChatCall } from "../../src/providers/call.js";
import { ProviderFailure, UnsupportedByProvider } from "../../src/providers/errors.js";
import { ADAPTERS } from "../../src/providers/index.js";
import type { ChatChunk, ChatRequest, ProviderEndpoint, ProviderName } from "../../src/providers/types.js";
import { MOCK_COMPLETION_TOKENS, MOCK_PROMPT_TOKENS, mockEmbedding, startMockProvider, type MockProvider } from "../harness/mock-provider.js";

let mock: MockProvider;
let outbound: OutboundClient;

beforeAll(async () => {
  mock = await startMockProvider();
  outbound = new OutboundClient({ allowPrivateNetwork: true });
});
afterAll(async () => {
  await outbound.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const SECRET = "sk-canary-5e1f0c9b7a2d4e6f8a0b1c2d3e4f5a6b";
const MODELS: Record<ProviderName, string> = {
  OPENAI: "gpt-4o-mini",
  OPENAI_COMPATIBLE: "llama-3.1-8b",
  AZURE_OPENAI: "gpt-4o",
  ANTHROPIC: "claude-sonnet-4-5-20250929",
  GOOGLE: "gemini-2.5-flash",
};

function endpointOf(provider: ProviderName, baseUrl: string | null = mock.url): ProviderEndpoint {
  const providerOptions = provider === "AZURE_OPENAI" ? { resourceName: "mock", deploymentId: "dep-1", apiVersion: "2024-10-21" } : null;
  return { provider, baseUrl, providerOptions };
}

function chatCall(provider: ProviderName, over: Partial<ChatRequest> = {}, call: Partial<ChatCall> = {}): ChatCall {
  return {
    adapter: ADAPTERS[provider],
    endpoint: endpointOf(provider),
    secret: SECRET,
    request: { model: MODELS[provider], messages: [{ role: "user", content: "Hello there" }], ...over },
    timeoutMs: 5_000,
    ...call,
  };
}

async function failure(work: Promise<unknown> | (() => Promise<unknown>)): Promise<ProviderFailure> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (err) {
    if (err instanceof ProviderFailure) return err;
    throw err;
  }
  throw new Error("expected a ProviderFailure");
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** What an OpenAI streaming client makes of the chunks: text, tool calls by index, finish reason, usage. */
function assemble(chunks: ChatChunk[]) {
  let content = "";
  let finish: string | null = null;
  const tools: { id?: string; name: string; arguments: string }[] = [];
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      content += choice.delta.content ?? "";
      for (const t of choice.delta.tool_calls ?? []) {
        tools[t.index] ??= { name: "", arguments: "" };
        if (t.id) tools[t.index].id = t.id;
        tools[t.index].name += t.function?.name ?? "";
        tools[t.index].arguments += t.function?.arguments ?? "";
      }
      finish = choice.finish_reason ?? finish;
    }
  }
  return { content, finish, tools, usage: chunks.filter((c) => c.usage).at(-1)?.usage };
}

const PROVIDERS: ProviderName[] = ["OPENAI", "OPENAI_COMPATIBLE", "AZURE_OPENAI", "ANTHROPIC", "GOOGLE"];
const USAGE = { promptTokens: MOCK_PROMPT_TOKENS, completionTokens: MOCK_COMPLETION_TOKENS, totalTokens: MOCK_PROMPT_TOKENS + MOCK_COMPLETION_TOKENS };

describe("whole answers", () => {
  it.each(PROVIDERS)("%s: the answer, its usage and the served model", async (provider) => {
    mock.enqueue({ kind: "ok", content: "Hi, I am the mock.", model: "served-model-1" });
    const result = await callChat(outbound, chatCall(provider));
    expect(result.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hi, I am the mock." }, finish_reason: "stop" }]);
    expect(result.usage).toEqual(USAGE);
    expect(result.model).toBe("served-model-1");
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].stream).toBe(false);
  });

  it("OpenAI: the request reaches the provider as the application sent it", async () => {
    const request: ChatRequest = {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.2,
      max_tokens: 50,
      stop: ["\n\n"],
      tool_choice: "auto",
      extra: { frequency_penalty: 0.5, logprobs: true, top_logprobs: 2 },
    };
    await callChat(outbound, chatCall("OPENAI", {}, { request }));
    const sent = mock.requests[0];
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.authorization).toBe(`Bearer ${SECRET}`);
    expect(sent.body).toEqual({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }], temperature: 0.2, max_tokens: 50, stop: ["\n\n"], tool_choice: "auto", frequency_penalty: 0.5, logprobs: true, top_logprobs: 2 });
  });

  it("Azure: the deployment path, api-version and api-key header", async () => {
    await callChat(outbound, chatCall("AZURE_OPENAI"));
    const sent = mock.requests[0];
    expect(sent.path).toBe("/openai/deployments/dep-1/chat/completions");
    expect(sent.query).toBe("api-version=2024-10-21");
    expect(sent.azureApiKey).toBe(SECRET);
    expect(sent.authorization).toBeNull();
  });

  it.each(["OPENAI", "ANTHROPIC", "GOOGLE"] as const)("%s: tool calls and the provider's tool-use finish reason", async (provider) => {
    mock.enqueue({ kind: "ok", toolCalls: [{ name: "get_weather", arguments: '{"location":"Paris"}' }] });
    const result = await callChat(outbound, chatCall(provider));
    const [choice] = result.choices;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toHaveLength(1);
    expect(choice.message.tool_calls![0].function.name).toBe("get_weather");
    expect(JSON.parse(choice.message.tool_calls![0].function.arguments)).toEqual({ location: "Paris" });
  });

  it.each([
    ["OPENAI", "length"],
    ["ANTHROPIC", "max_tokens"],
    ["GOOGLE", "MAX_TOKENS"],
  ] as const)("%s: a cut answer (%s) finishes with length", async (provider, reason) => {
    mock.enqueue({ kind: "ok", finishReason: reason });
    expect((await callChat(outbound, chatCall(provider))).choices[0].finish_reason).toBe("length");
  });

});

describe("streams", () => {
  // Five events reach text in every format (Anthropic opens with message_start, ping and content_block_start).
  it.each(PROVIDERS)("%s: chunk by chunk, with usage at the end", async (provider) => {
    mock.enqueue({ kind: "ok", content: "One two three four five.", model: "served-model-2" });
    const stream = await openChatStream(outbound, chatCall(provider));
    const chunks = await collect(stream);
    const answer = assemble(chunks);
    expect(answer.content).toBe("One two three four five.");
    expect(chunks.filter((c) => c.choices.some((ch) => ch.delta.content)).length).toBeGreaterThan(1);
    expect(answer.finish).toBe("stop");
    expect(answer.usage).toEqual(USAGE);
    expect(chunks.find((c) => c.model)?.model).toBe("served-model-2");
    expect(mock.requests[0].stream).toBe(true);
  });

  it("OpenAI family: every stream asks for usage", async () => {
    await collect(await openChatStream(outbound, chatCall("OPENAI_COMPATIBLE", { extra: { stream_options: { include_obfuscation: false } } })));
    expect(mock.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true, include_obfuscation: false } });
  });

  it("Gemini: the streaming method with alt=sse", async () => {
    await collect(await openChatStream(outbound, chatCall("GOOGLE")));
    expect(mock.requests[0].path).toBe(`/v1beta/models/${MODELS.GOOGLE}:streamGenerateContent`);
    expect(mock.requests[0].query).toBe("alt=sse");
  });

  it.each(["OPENAI", "AZURE_OPENAI", "ANTHROPIC", "GOOGLE"] as const)("%s: streamed tool calls", async (provider) => {
    mock.enqueue({ kind: "ok", toolCalls: [{ name: "get_weather", arguments: '{"location":"Paris"}' }, { name: "get_time", arguments: '{"zone":"CET"}' }] });
    const answer = assemble(await collect(await openChatStream(outbound, chatCall(provider))));
    expect(answer.finish).toBe("tool_calls");
    expect(answer.tools.map((t) => [t.name, JSON.parse(t.arguments)])).toEqual([
      ["get_weather", { location: "Paris" }],
      ["get_time", { zone: "CET" }],
    ]);
    expect(answer.tools.every((t) => typeof t.id === "string" && t.id !== "")).toBe(true);
  });

  it("the promise resolves on the headers, before the answer is over", async () => {
    mock.enqueue({ kind: "stallStream", afterChunks: 0 });
    const stream = await openChatStream(outbound, chatCall("OPENAI"));
    expect(mock.requests).toHaveLength(1);
    // Nothing was asked of the stream yet: leaving now must still close the provider call.
    await stream[Symbol.asyncIterator]().return?.();
    expect((await mock.waitForClose(0)).aborted).toBe(true);
    const controller = new AbortController();
    mock.enqueue({ kind: "stallStream", afterChunks: 0 });
    const second = await openChatStream(outbound, chatCall("OPENAI", {}, { signal: controller.signal }));
    controller.abort();
    expect((await failure(collect(second))).kind).toBe("aborted");
    expect((await mock.waitForClose(1)).aborted).toBe(true);
  });

  it.each(PROVIDERS)("%s: a body that ends before the provider's end marker is a stream_cut", async (provider) => {
    mock.enqueue({ kind: "cut", afterChunks: 5, content: "a b c d e f g h" });
    const stream = await openChatStream(outbound, chatCall(provider));
    const seen: ChatChunk[] = [];
    const err = await failure(async () => {
      for await (const chunk of stream) seen.push(chunk);
    });
    expect(err.kind).toBe("stream_cut");
    expect(assemble(seen).content).not.toBe("");
  });

  it.each(PROVIDERS)("%s: a connection that breaks after the end marker takes nothing away", async (provider) => {
    mock.enqueue({ kind: "cut", afterChunks: 100, content: "all of it" });
    expect(assemble(await collect(await openChatStream(outbound, chatCall(provider)))).content).toBe("all of it");
  });

  it.each(PROVIDERS)("%s: a client that leaves cuts the provider call", async (provider) => {
    mock.enqueue({ kind: "stallStream", afterChunks: 5, content: "a b c d e f g h" });
    const controller = new AbortController();
    const stream = await openChatStream(outbound, chatCall(provider, {}, { signal: controller.signal }));
    const err = await failure(async () => {
      for await (const chunk of stream) if (chunk.choices.some((c) => c.delta.content)) controller.abort();
    });
    expect(err.kind).toBe("aborted");
    const recorded = await mock.waitForClose(0);
    expect(recorded.aborted).toBe(true);
    expect(recorded.chunksSent).toBe(5);
  });

  it("a consumer that stops early closes the provider call", async () => {
    mock.enqueue({ kind: "stallStream", afterChunks: 5, content: "a b c d e f g h" });
    const stream = await openChatStream(outbound, chatCall("ANTHROPIC"));
    for await (const chunk of stream) if (chunk.choices.some((c) => c.delta.content)) break;
    expect((await mock.waitForClose(0)).aborted).toBe(true);
  });

  it("a client gone before the call never reaches the provider", async () => {
    const err = await failure(openChatStream(outbound, chatCall("OPENAI", {}, { signal: AbortSignal.abort() })));
    expect(err.kind).toBe("aborted");
    expect(mock.requests).toHaveLength(0);
  });

  it("the deadline covers the headers; a stream that goes silent times out", async () => {
    mock.enqueue({ kind: "stall" });
    expect((await failure(openChatStream(outbound, chatCall("OPENAI", {}, { timeoutMs: 100 })))).kind).toBe("timeout");
    mock.enqueue({ kind: "stallStream", afterChunks: 2 });
    const stream = await openChatStream(outbound, chatCall("OPENAI", {}, { timeoutMs: 100 }));
    expect((await failure(collect(stream))).kind).toBe("timeout");
    expect((await mock.waitForClose(1)).aborted).toBe(true);
  });

  it("a long healthy stream outlives the deadline: it only bounds the silence between bytes", async () => {
    mock.enqueue({ kind: "ok", content: "one two three four five six seven eight nine ten", chunkDelayMs: 40 });
    // About 13 events 40 ms apart: well past the 300 ms, never 300 ms silent.
    const answer = assemble(await collect(await openChatStream(outbound, chatCall("OPENAI", {}, { timeoutMs: 300 }))));
    expect(answer.content).toBe("one two three four five six seven eight nine ten");
  });

  it("a slow consumer is not a silent provider", async () => {
    mock.enqueue({ kind: "ok", content: "one two three" });
    const chunks: ChatChunk[] = [];
    for await (const chunk of await openChatStream(outbound, chatCall("OPENAI", {}, { timeoutMs: 100 }))) {
      chunks.push(chunk);
      if (chunks.length === 1) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(assemble(chunks).content).toBe("one two three");
  });

  it("a non-2xx answer fails before the first chunk, with its status and wait hint", async () => {
    mock.enqueue({ kind: "rateLimit", retryAfter: "3" });
    const err = await failure(openChatStream(outbound, chatCall("ANTHROPIC")));
    expect([err.kind, err.httpStatus, err.retryAfterMs]).toEqual(["http", 429, 3_000]);
  });

  it("a JSON answer to a stream request is not a stream", async () => {
    const ignoresStream: ProviderAdapter = { ...ADAPTERS.OPENAI, chatRequest: (e, s, r) => ADAPTERS.OPENAI.chatRequest(e, s, r, false) };
    const err = await failure(openChatStream(outbound, { ...chatCall("OPENAI"), adapter: ignoresStream }));
    expect([err.kind, err.httpStatus]).toEqual(["invalid_response", 200]);
  });
});

describe("failures", () => {
  it.each(PROVIDERS)("%s: a non-2xx body never reaches the error, though it echoes the secret", async (provider) => {
    mock.enqueue({ kind: "fail", status: 401 });
    const err = await failure(callChat(outbound, chatCall(provider)));
    expect([err.kind, err.httpStatus]).toEqual(["http", 401]);
    for (const text of [err.message, String(err), err.stack ?? "", JSON.stringify(err), JSON.stringify(Object.entries(err))]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain("Incorrect API key");
    }
  });

  it.each([
    ["delta seconds", { kind: "rateLimit" as const }, 1_000],
    ["a fraction of seconds", { kind: "rateLimit" as const, retryAfter: "2.5" }, 2_500],
    ["none", { kind: "rateLimit" as const, retryAfter: null }, null],
    ["a 503 with retry-after", { kind: "fail" as const, status: 503, headers: { "retry-after": "30" } }, 30_000],
    ["retry-after-ms first", { kind: "fail" as const, status: 429, headers: { "retry-after-ms": "250", "retry-after": "1" } }, 250],
    ["garbage", { kind: "fail" as const, status: 503, headers: { "retry-after": "soon" } }, null],
  ])("retry-after: %s", async (_name, behaviour, expected) => {
    mock.enqueue(behaviour);
    expect((await failure(callChat(outbound, chatCall("OPENAI")))).retryAfterMs).toBe(expected);
  });

  it("retry-after as an HTTP date", async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    mock.enqueue({ kind: "rateLimit", retryAfter: at });
    const waited = (await failure(callChat(outbound, chatCall("OPENAI")))).retryAfterMs!;
    expect(waited).toBeGreaterThan(60_000);
    expect(waited).toBeLessThanOrEqual(120_000);
    expect(retryAfterMs({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }, Date.parse("Wed, 21 Oct 2015 07:27:00 GMT"))).toBe(60_000);
    expect(retryAfterMs({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }, Date.parse("Wed, 21 Oct 2015 08:00:00 GMT"))).toBe(0);
  });

  it("a provider that never answers times out; a client that leaves aborts", async () => {
    mock.enqueue({ kind: "stall" });
    expect((await failure(callChat(outbound, chatCall("OPENAI", {}, { timeoutMs: 100 })))).kind).toBe("timeout");
    mock.enqueue({ kind: "stall" });
    const controller = new AbortController();
    const pending = callChat(outbound, chatCall("OPENAI", {}, { signal: controller.signal }));
    await mock.waitForRequests(2);
    controller.abort();
    expect((await failure(pending)).kind).toBe("aborted");
    expect((await mock.waitForClose(1)).aborted).toBe(true);
  });

  it("a whole answer cut halfway is a connection failure; one that stops halfway times out", async () => {
    mock.enqueue({ kind: "cut", afterChunks: 0 }, { kind: "stallStream", afterChunks: 0 });
    expect((await failure(callChat(outbound, chatCall("GOOGLE")))).kind).toBe("connection");
    expect((await failure(callChat(outbound, chatCall("GOOGLE", {}, { timeoutMs: 150 })))).kind).toBe("timeout");
  });

  it("nothing listening is a connection failure", async () => {
    const closed = await startMockProvider();
    const url = closed.url;
    await closed.close();
    const err = await failure(callChat(outbound, { ...chatCall("OPENAI"), endpoint: endpointOf("OPENAI", url) }));
    expect(err.kind).toBe("connection");
  });

  it("OPENAI_COMPATIBLE without its own base URL is refused before any call", async () => {
    const err = await failure(callChat(outbound, { ...chatCall("OPENAI_COMPATIBLE"), endpoint: endpointOf("OPENAI_COMPATIBLE", null) }));
    expect(err.kind).toBe("unsupported");
    expect(mock.requests).toHaveLength(0);
  });
});

describe("limits", () => {
  let server: Server;
  let base: string;
  let write: (res: import("node:http").ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => write(res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (): ChatCall => ({ ...chatCall("OPENAI"), endpoint: endpointOf("OPENAI", base) });

  it("one event larger than 4 MiB ends the stream", async () => {
    write = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: {"choices":[{"index":0,"delta":{"content":"${"x".repeat(5 * 1024 * 1024)}"}}]}\n\ndata: [DONE]\n\n`);
    };
    expect((await failure(collect(await openChatStream(outbound, call())))).kind).toBe("invalid_response");
  });

  it("a stream larger than 16 MiB in all ends", async () => {
    const event = `data: {"choices":[{"index":0,"delta":{"content":"${"y".repeat(64 * 1024)}"},"finish_reason":null}]}\n\n`;
    write = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let sent = 0;
      const more = () => {
        while (sent < 17 * 1024 * 1024) {
          sent += event.length;
          if (!res.write(event)) return void res.once("drain", more);
        }
        res.end("data: [DONE]\n\n");
      };
      res.on("close", () => res.removeAllListeners("drain"));
      more();
    };
    let chunks = 0;
    const err = await failure(async () => {
      for await (const _ of await openChatStream(outbound, call())) chunks++;
    });
    expect(err.kind).toBe("invalid_response");
    expect(chunks).toBeGreaterThan(100);
  });

  it("a whole answer that is not JSON, or not the provider's shape, is an invalid response", async () => {
    write = (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("<html>gateway</html>");
    };
    expect(await failure(callChat(outbound, call()))).toMatchObject({ kind: "invalid_response", httpStatus: 200 });
    write = (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"object":"list"}');
    };
    expect((await failure(callChat(outbound, call()))).kind).toBe("invalid_response");
  });

  it("a whole answer larger than 4 MiB is refused", async () => {
    write = (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "z".repeat(5 * 1024 * 1024) } }] }));
    };
    expect((await failure(callChat(outbound, call()))).kind).toBe("invalid_response");
  });

  it("a last event without its closing blank line still counts; an event split across packets too", async () => {
    write = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const text = Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"h\u00e9llo"},"finish_reason":"stop"}]}\n\n', "utf8");
      const cut = text.indexOf(0xa9);
      res.write(text.subarray(0, cut));
      res.write(text.subarray(cut));
      res.end("data: [DONE]");
    };
    const answer = assemble(await collect(await openChatStream(outbound, call())));
    expect(answer.content).toBe("h\u00e9llo");
    expect(answer.finish).toBe("stop");
  });

  it("a server that keeps the connection open after [DONE] ends the stream at the idle timeout, whole", async () => {
    write = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"index":0,"delta":{"content":"done"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
    };
    const answer = assemble(await collect(await openChatStream(outbound, { ...call(), timeoutMs: 100 })));
    expect(answer.content).toBe("done");
  });

  it("a provider error inside the stream fails it with the status it names", async () => {
    write = (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}\n\n');
      res.end(`data: {"error":{"message":"key ${SECRET} overloaded","type":"server_error","code":503}}\n\n`);
    };
    const err = await failure(collect(await openChatStream(outbound, call())));
    expect([err.kind, err.httpStatus]).toEqual(["http", 503]);
    expect(err.message).not.toContain(SECRET);
  });
});

describe("base URLs of OpenAI-compatible servers", () => {
  it.each(["", "/", "/v1", "/v1/", "/v1/chat/completions"])("%j after the origin reaches /v1/chat/completions and /v1/embeddings", async (suffix) => {
    const endpoint = endpointOf("OPENAI_COMPATIBLE", `${mock.url}${suffix}`);
    await callChat(outbound, { ...chatCall("OPENAI_COMPATIBLE"), endpoint });
    await callEmbeddings(outbound, { adapter: ADAPTERS.OPENAI_COMPATIBLE, endpoint, secret: SECRET, request: { model: "nomic-embed-text", input: "hi" }, timeoutMs: 5_000 });
    expect(mock.requests.map((r) => r.path)).toEqual(["/v1/chat/completions", "/v1/embeddings"]);
  });

  it("a base with a prefix keeps it: /openai/v1 and /openai both reach /openai/v1", async () => {
    for (const base of [`${mock.url}/openai/v1`, `${mock.url}/openai`]) await callChat(outbound, { ...chatCall("OPENAI_COMPATIBLE"), endpoint: endpointOf("OPENAI_COMPATIBLE", base) });
    expect(mock.requests.map((r) => r.path)).toEqual(["/openai/v1/chat/completions", "/openai/v1/chat/completions"]);
  });
});

describe("embeddings", () => {
  const embed = (provider: ProviderName, input: string | string[], over: Record<string, unknown> = {}) =>
    callEmbeddings(outbound, { adapter: ADAPTERS[provider], endpoint: endpointOf(provider), secret: SECRET, request: { model: `${provider.toLowerCase()}-embed`, input, ...over }, timeoutMs: 5_000 });

  it.each(["OPENAI", "OPENAI_COMPATIBLE", "AZURE_OPENAI", "GOOGLE"] as const)("%s: one vector per input, in order", async (provider) => {
    const result = await embed(provider, ["first", "second"]);
    expect(result.data).toEqual([
      { index: 0, embedding: mockEmbedding("first") },
      { index: 1, embedding: mockEmbedding("second") },
    ]);
    expect(result.usage.promptTokens).toBeGreaterThan(0);
    expect(mock.requests[0].operation).toBe("embeddings");
  });

  it("OpenAI: the request as sent, usage as reported", async () => {
    const result = await embed("OPENAI", "hello", { dimensions: 3, user: "u-1" });
    expect(mock.requests[0].path).toBe("/v1/embeddings");
    expect(mock.requests[0].body).toEqual({ model: "openai-embed", input: "hello", dimensions: 3, user: "u-1" });
    expect(result.data[0].embedding).toEqual(mockEmbedding("hello", 3));
    expect(result.usage).toEqual({ promptTokens: MOCK_PROMPT_TOKENS, totalTokens: MOCK_PROMPT_TOKENS });
  });

  it("OpenAI: base64 vectors pass through as the provider encoded them", async () => {
    const result = await embed("OPENAI", "hello", { encoding_format: "base64" });
    const bytes = Buffer.from(result.data[0].embedding as string, "base64");
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(mockEmbedding("hello"));
  });

  it("Azure: the deployment's embeddings path", async () => {
    await embed("AZURE_OPENAI", "hello");
    expect(mock.requests[0].path).toBe("/openai/deployments/dep-1/embeddings");
    expect(mock.requests[0].query).toBe("api-version=2024-10-21");
    expect(mock.requests[0].azureApiKey).toBe(SECRET);
  });

  it("Anthropic has no embeddings: the caller's 400, naming the model", async () => {
    await expect(embed("ANTHROPIC", "hello")).rejects.toBeInstanceOf(UnsupportedByProvider);
    await expect(embed("ANTHROPIC", "hello")).rejects.toMatchObject({ field: "model" });
    expect(mock.requests).toHaveLength(0);
  });

  it("fails as chat calls do", async () => {
    mock.enqueue({ kind: "rateLimit", retryAfter: "4" });
    const err = await failure(embed("GOOGLE", "hello"));
    expect([err.kind, err.httpStatus, err.retryAfterMs]).toEqual(["http", 429, 4_000]);
  });
});
