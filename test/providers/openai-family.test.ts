// The OpenAI-family adapters (OpenAI, Azure OpenAI, OpenAI-compatible) on fixtures in OpenAI's
// documented wire format: the request as the application sent it, answers and chunks read back.
import { describe, expect, it } from "vitest";
import { azureOpenAi } from "../../src/providers/azure-openai/index.js";
import { ProviderFailure } from "../../src/providers/errors.js";
import { openAiCompatible } from "../../src/providers/openai-compatible/index.js";
import { openAiApiRoot } from "../../src/providers/openai/api.js";
import { openAi } from "../../src/providers/openai/index.js";
import type { ChatChunk, ChatRequest, ProviderEndpoint } from "../../src/providers/types.js";

const endpoint: ProviderEndpoint = { provider: "OPENAI", baseUrl: null, providerOptions: null };
const chat = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }], ...over });
const body = (over: Partial<ChatRequest> = {}, stream = false) => openAi.chatRequest(endpoint, "sk-secret", chat(over), stream).body as Record<string, unknown>;

function failure(fn: () => unknown): ProviderFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderFailure) return err;
    throw err;
  }
  throw new Error("expected a ProviderFailure");
}

const decode = (...events: (Record<string, unknown> | string)[]) => {
  const decoder = openAi.streamDecoder(chat());
  const chunks: ChatChunk[] = [];
  for (const e of events) chunks.push(...decoder.push({ data: typeof e === "string" ? e : JSON.stringify(e) }));
  return { chunks, complete: decoder.complete };
};

describe("the request", () => {
  it("goes out as the application sent it: passed-through fields first, then every defined field", () => {
    const request = chat({
      temperature: 0.7,
      top_p: undefined,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      response_format: { type: "json_object" },
      seed: 7,
      n: 2,
      extra: { logit_bias: { "50256": -100 }, presence_penalty: 0.1, temperature: 0.1 },
    });
    expect(openAi.chatRequest(endpoint, "sk", request, false).body).toEqual({
      logit_bias: { "50256": -100 },
      presence_penalty: 0.1,
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.7,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      response_format: { type: "json_object" },
      seed: 7,
      n: 2,
    });
    expect("top_p" in body({ top_p: undefined })).toBe(false);
  });

  it("a stream always asks for usage; a whole answer never carries stream options", () => {
    expect(body({}, true)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(body({ extra: { stream_options: { include_usage: false, include_obfuscation: false } } }, true).stream_options).toEqual({ include_usage: true, include_obfuscation: false });
    const whole = body({ extra: { stream: true, stream_options: { include_usage: true } } });
    expect("stream" in whole || "stream_options" in whole).toBe(false);
  });

  it("max_completion_tokens alone stays alone, though the door folded it into max_tokens", () => {
    expect(body({ max_tokens: 100, max_completion_tokens: 100 })).toMatchObject({ max_completion_tokens: 100 });
    expect("max_tokens" in body({ max_tokens: 100, max_completion_tokens: 100 })).toBe(false);
    expect(body({ max_tokens: 100 })).toMatchObject({ max_tokens: 100 });
  });

  it("carries the key as a bearer token, with the organization and project when sealed with it", () => {
    expect(openAi.chatRequest(endpoint, "sk-1", chat(), false).headers).toEqual({ authorization: "Bearer sk-1" });
    const withOrg = { ...endpoint, providerOptions: { organization: "org-1", project: "proj-1" } };
    expect(openAi.chatRequest(withOrg, "sk-1", chat(), false).headers).toEqual({ authorization: "Bearer sk-1", "openai-organization": "org-1", "openai-project": "proj-1" });
    expect(openAi.chatRequest(endpoint, "sk-1", chat(), false).url).toBe("https://api.openai.com/v1/chat/completions");
  });

  it("Azure: the deployment, its api-version and the api-key header; the same body", () => {
    const azure: ProviderEndpoint = { provider: "AZURE_OPENAI", baseUrl: null, providerOptions: { resourceName: "res", deploymentId: "my dep", apiVersion: "2024-10-21" } };
    const wire = azureOpenAi.chatRequest(azure, "az-key", chat({ temperature: 1 }), true);
    expect(wire.url).toBe("https://res.openai.azure.com/openai/deployments/my%20dep/chat/completions");
    expect(wire.query).toEqual({ "api-version": "2024-10-21" });
    expect(wire.headers).toEqual({ "api-key": "az-key" });
    expect(wire.body).toEqual(openAi.chatRequest(endpoint, "x", chat({ temperature: 1 }), true).body);
    expect(azureOpenAi.embeddings!.request(azure, "az-key", { model: "m", input: "x" }).url).toBe("https://res.openai.azure.com/openai/deployments/my%20dep/embeddings");
    expect(failure(() => azureOpenAi.chatRequest({ ...azure, providerOptions: null }, "k", chat(), false)).kind).toBe("unsupported");
  });

  it("OpenAI-compatible: its own base URL is required", () => {
    const compatible: ProviderEndpoint = { provider: "OPENAI_COMPATIBLE", baseUrl: null, providerOptions: null };
    expect(failure(() => openAiCompatible.chatRequest(compatible, "k", chat(), false)).kind).toBe("unsupported");
    expect(failure(() => openAiCompatible.embeddings!.request(compatible, "k", { model: "m", input: "x" })).kind).toBe("unsupported");
    expect(openAiCompatible.chatRequest({ ...compatible, baseUrl: "https://api.groq.com/openai/v1" }, "k", chat(), false).url).toBe("https://api.groq.com/openai/v1/chat/completions");
  });
});

describe("base URLs as people copy them", () => {
  it.each([
    ["http://localhost:11434", "http://localhost:11434/v1"],
    ["http://localhost:11434/", "http://localhost:11434/v1"],
    ["http://localhost:11434/v1", "http://localhost:11434/v1"],
    ["https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1"],
    ["https://api.groq.com/openai", "https://api.groq.com/openai/v1"],
    ["https://generativelanguage.googleapis.com/v1beta/openai", "https://generativelanguage.googleapis.com/v1beta/openai"],
    ["https://api.deepinfra.com/v1/openai", "https://api.deepinfra.com/v1/openai"],
    ["https://openrouter.ai/api/v1/", "https://openrouter.ai/api/v1"],
    ["https://api.together.xyz/v1/chat/completions", "https://api.together.xyz/v1"],
    ["https://v1.example.com", "https://v1.example.com/v1"],
  ])("%s -> %s", (base, root) => {
    expect(openAiApiRoot(base)).toBe(root);
  });
});

describe("a whole answer", () => {
  it("maps every choice: content, tool calls, refusal, normalised finish reason; usage; the served model", () => {
    const result = openAi.readChat(
      {
        id: "chatcmpl-1",
        object: "chat.completion",
        model: "gpt-4o-mini-2024-07-18",
        choices: [
          { index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" },
          { index: 1, message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, finish_reason: "function_call" },
          { index: 2, message: { role: "assistant", content: null, refusal: "I can't." }, finish_reason: "content_filter" },
          { index: 3, message: { role: "assistant", content: "x" }, finish_reason: "something_new" },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13, prompt_tokens_details: { cached_tokens: 0 } },
      },
      chat(),
    );
    expect(result).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      choices: [
        { index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" },
        { index: 1, message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, finish_reason: "tool_calls" },
        { index: 2, message: { role: "assistant", content: null, refusal: "I can't." }, finish_reason: "content_filter" },
        { index: 3, message: { role: "assistant", content: "x" }, finish_reason: null },
      ],
      usage: { promptTokens: 9, completionTokens: 4, totalTokens: 13 },
    });
  });

  it("falls back to the model asked for, and sums a missing total", () => {
    const result = openAi.readChat({ choices: [{ message: { content: "a" }, finish_reason: "length" }], usage: { prompt_tokens: 2, completion_tokens: 3 } }, chat());
    expect(result.model).toBe("gpt-4o-mini");
    expect(result.usage).toEqual({ promptTokens: 2, completionTokens: 3, totalTokens: 5 });
    expect(result.choices[0]).toMatchObject({ index: 0, finish_reason: "length" });
  });

  it.each([null, "text", { object: "list" }, { choices: "no" }, { choices: [3] }, { choices: [{ message: { tool_calls: [{ function: {} }] } }] }])("refuses %j", (raw) => {
    expect(failure(() => openAi.readChat(raw, chat())).kind).toBe("invalid_response");
  });
});

describe("a stream", () => {
  const base = { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini-2024-07-18" };

  it("maps each chunk's deltas and finish reason, the usage chunk, and [DONE]", () => {
    const { chunks, complete } = decode(
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, finish_reason: null }], usage: null },
      { ...base, choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { refusal: "no" }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      { ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
      "[DONE]",
    );
    expect(complete).toBe(true);
    const model = "gpt-4o-mini-2024-07-18";
    expect(chunks).toEqual([
      { model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      { model, choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }] },
      { model, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] }, finish_reason: null }] },
      { model, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }, finish_reason: null }] },
      { model, choices: [{ index: 0, delta: { refusal: "no" }, finish_reason: null }] },
      { model, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      { model, choices: [], usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7 } },
    ]);
  });

  it("is not complete before [DONE]", () => {
    expect(decode({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }).complete).toBe(false);
  });

  it("skips Azure's opening chunk of prompt filter results", () => {
    expect(decode({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: [{ prompt_index: 0 }] }).chunks).toEqual([]);
  });

  it("an error inside the stream fails it with the status it names, else 500 (429 for rate limits)", () => {
    const status = (error: unknown) => failure(() => decode({ error })).httpStatus;
    expect(status({ message: "bad", type: "BadRequestError", code: 400 })).toBe(400);
    expect(status({ message: "x", type: "server_error", code: null })).toBe(500);
    expect(status({ message: "x", type: "tokens", code: "rate_limit_exceeded" })).toBe(429);
    expect(failure(() => decode({ error: "text" })).kind).toBe("invalid_response");
    const decoder = openAi.streamDecoder(chat());
    expect(failure(() => decoder.push({ event: "error", data: '{"message":"overloaded","code":529}' })).httpStatus).toBe(529);
  });

  it("an unreadable event is an invalid response", () => {
    expect(failure(() => decode("{not json")).kind).toBe("invalid_response");
    expect(failure(() => decode("[1,2]")).kind).toBe("invalid_response");
    expect(failure(() => decode({ choices: ["x"] })).kind).toBe("invalid_response");
  });
});

describe("embeddings", () => {
  it("sends model, input and the options given; reads vectors and usage", () => {
    const wire = openAi.embeddings!.request(endpoint, "sk", { model: "text-embedding-3-small", input: ["a", "b"], dimensions: 256, encoding_format: "float", user: "u" });
    expect(wire.url).toBe("https://api.openai.com/v1/embeddings");
    expect(wire.body).toEqual({ model: "text-embedding-3-small", input: ["a", "b"], dimensions: 256, encoding_format: "float", user: "u" });
    const result = openAi.embeddings!.read(
      { object: "list", data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }, { object: "embedding", index: 1, embedding: "AAAA" }], model: "text-embedding-3-small", usage: { prompt_tokens: 4, total_tokens: 4 } },
      { model: "x", input: ["a", "b"] },
    );
    expect(result).toEqual({ model: "text-embedding-3-small", data: [{ index: 0, embedding: [0.1, 0.2] }, { index: 1, embedding: "AAAA" }], usage: { promptTokens: 4, totalTokens: 4 } });
  });

  it.each([null, { data: "x" }, { data: [{ embedding: 3 }] }])("refuses %j", (raw) => {
    expect(failure(() => openAi.embeddings!.read(raw, { model: "m", input: "a" })).kind).toBe("invalid_response");
  });
});
