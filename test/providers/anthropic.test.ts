// The Anthropic adapter on fixtures in Anthropic's documented wire format: OpenAI-shaped
// requests out, Messages answers (whole and streamed) back into OpenAI's vocabulary.
import { describe, expect, it } from "vitest";
import { anthropic } from "../../src/providers/anthropic/index.js";
import { ANTHROPIC_DEFAULT_MAX_TOKENS, JSON_OBJECT_INSTRUCTION } from "../../src/providers/anthropic/chat.js";
import { ProviderFailure, UnsupportedByProvider } from "../../src/providers/errors.js";
import type { ChatChunk, ChatRequest, ProviderEndpoint } from "../../src/providers/types.js";

const endpoint: ProviderEndpoint = { provider: "ANTHROPIC", baseUrl: null, providerOptions: null };
const MODEL = "claude-sonnet-4-5-20250929";
const chat = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: MODEL, messages: [{ role: "user", content: "Hi" }], ...over });
const body = (over: Partial<ChatRequest> = {}, stream = false) => anthropic.chatRequest(endpoint, "sk-ant-secret", chat(over), stream).body as Record<string, any>;

const weather = { type: "function" as const, function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] } } };
const answerSchema = { type: "json_schema" as const, json_schema: { name: "answer", schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

function failure(fn: () => unknown): ProviderFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderFailure) return err;
    throw err;
  }
  throw new Error("expected a ProviderFailure");
}

function unsupported(fn: () => unknown): UnsupportedByProvider {
  try {
    fn();
  } catch (err) {
    if (err instanceof UnsupportedByProvider) return err;
    throw err;
  }
  throw new Error("expected UnsupportedByProvider");
}

/** SSE events as eventsource-parser hands them over: `event:` name and `data:` text. */
const sse = (...events: Record<string, unknown>[]) => events.map((data) => ({ event: String(data.type), data: JSON.stringify(data) }));

/** What an OpenAI streaming client makes of the chunks. */
function assemble(chunks: ChatChunk[]) {
  const out = { role: undefined as string | undefined, content: "", toolCalls: [] as { id?: string; name?: string; arguments: string }[], finish: null as string | null, usage: undefined as unknown };
  for (const chunk of chunks) {
    if (chunk.usage) out.usage = chunk.usage;
    for (const c of chunk.choices) {
      out.role ??= c.delta.role;
      out.content += c.delta.content ?? "";
      for (const t of c.delta.tool_calls ?? []) {
        const call = (out.toolCalls[t.index] ??= { arguments: "" });
        if (t.id) call.id = t.id;
        if (t.function?.name) call.name = t.function.name;
        call.arguments += t.function?.arguments ?? "";
      }
      if (c.finish_reason) out.finish = c.finish_reason;
    }
  }
  return out;
}

function run(request: ChatRequest, events: { event?: string; data: string }[]) {
  const decoder = anthropic.streamDecoder(request);
  const chunks: ChatChunk[] = [];
  const completeAfter: boolean[] = [];
  for (const e of events) {
    chunks.push(...decoder.push(e));
    completeAfter.push(decoder.complete);
  }
  return { chunks, completeAfter, decoder };
}

describe("anthropic: the request", () => {
  it("goes to {base}/v1/messages with x-api-key and anthropic-version, the base overridable", () => {
    const wire = anthropic.chatRequest(endpoint, "sk-ant-secret", chat(), false);
    expect(wire.url).toBe("https://api.anthropic.com/v1/messages");
    expect(wire.headers).toEqual({ "x-api-key": "sk-ant-secret", "anthropic-version": "2023-06-01" });
    expect(wire.query).toBeUndefined();
    expect(anthropic.chatRequest({ ...endpoint, baseUrl: "https://proxy.example/anthropic/" }, "k", chat(), false).url).toBe("https://proxy.example/anthropic/v1/messages");
    expect(anthropic.embeddings).toBeUndefined();
  });

  it("hoists system and developer messages into one system prompt, flattening text parts", () => {
    const sent = body({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }, { type: "text", text: "No emoji." }] },
        { role: "user", content: "Hello" },
        { role: "system", content: "" },
      ],
    });
    expect(sent.system).toBe("Be brief.\n\nAnswer in French.\nNo emoji.");
    expect(sent.messages).toEqual([{ role: "user", content: "Hello" }]);
  });

  it("maps the sampling fields; max_tokens falls back to max_completion_tokens, then 1024; seed is dropped", () => {
    expect(body({ temperature: 0.2, top_p: 0.9, stop: ["END"], user: "user-42", seed: 7 }, true)).toEqual({
      model: MODEL,
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["END"],
      metadata: { user_id: "user-42" },
      stream: true,
    });
    expect(ANTHROPIC_DEFAULT_MAX_TOKENS).toBe(1024);
    expect(body({ max_tokens: 50, max_completion_tokens: 70 }).max_tokens).toBe(50);
    expect(body({ max_completion_tokens: 70 }).max_tokens).toBe(70);
    expect(body({ stop: [] })).not.toHaveProperty("stop_sequences");
    expect(body({ n: 1 })).not.toHaveProperty("n");
  });

  it("refuses n > 1 and a temperature above Anthropic's 1", () => {
    expect(unsupported(() => body({ n: 2 })).field).toBe("n");
    expect(unsupported(() => body({ temperature: 1.5 })).field).toBe("temperature");
    expect(body({ temperature: 1 }).temperature).toBe(1);
  });

  it("sends images as base64 or url sources, and refuses other URLs and image types", () => {
    const sent = body({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
          ],
        },
      ],
    });
    expect(sent.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        ],
      },
    ]);
    for (const url of ["http://example.com/cat.jpg", "file:///etc/passwd", "data:image/png,rawbytes", "data:image/tiff;base64,AAAA"]) {
      const err = unsupported(() => body({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }] }));
      expect(err.field).toBe("messages");
      expect(err.message).not.toContain(url);
    }
  });

  it("declares tools with input_schema (an empty object schema when none) and maps tool_choice", () => {
    const bare = { type: "function" as const, function: { name: "now" } };
    const sent = body({ tools: [weather, bare] });
    expect(sent.tools).toEqual([
      { name: "get_weather", description: "Current weather", input_schema: weather.function.parameters },
      { name: "now", input_schema: { type: "object", properties: {} } },
    ]);
    expect(sent).not.toHaveProperty("tool_choice");
    const choice = (over: Partial<ChatRequest>) => body({ tools: [weather], ...over }).tool_choice;
    expect(choice({ tool_choice: "auto" })).toEqual({ type: "auto" });
    expect(choice({ tool_choice: "required" })).toEqual({ type: "any" });
    expect(choice({ tool_choice: "none" })).toEqual({ type: "none" });
    expect(choice({ tool_choice: { type: "function", function: { name: "get_weather" } } })).toEqual({ type: "tool", name: "get_weather" });
    expect(choice({ parallel_tool_calls: false })).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(choice({ tool_choice: "required", parallel_tool_calls: false })).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(choice({ tool_choice: "none", parallel_tool_calls: false })).toEqual({ type: "none" });
    expect(choice({ parallel_tool_calls: true })).toBeUndefined();
    expect(body({ tool_choice: "auto" })).not.toHaveProperty("tool_choice");
  });

  it("a tool call and its results round-trip: tool_use blocks, merged tool_result user turn, alternation kept", () => {
    const sent = body({
      tools: [weather],
      messages: [
        { role: "user", content: "Weather in Paris and Oslo?" },
        {
          role: "assistant",
          content: "Checking both.",
          tool_calls: [
            { id: "toolu_01A", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
            { id: "toolu_01B", type: "function", function: { name: "get_weather", arguments: '{"location":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_01A", content: "18C, sunny" },
        { role: "tool", tool_call_id: "toolu_01B", content: [{ type: "text", text: "4C" }, { type: "text", text: "snow" }] },
        { role: "user", content: "And tomorrow?" },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_01C", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "toolu_01C", content: "" },
      ],
    });
    expect(sent.messages).toEqual([
      { role: "user", content: "Weather in Paris and Oslo?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking both." },
          { type: "tool_use", id: "toolu_01A", name: "get_weather", input: { location: "Paris" } },
          { type: "tool_use", id: "toolu_01B", name: "get_weather", input: { location: "Oslo" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01A", content: "18C, sunny" },
          { type: "tool_result", tool_use_id: "toolu_01B", content: "4C\nsnow" },
          { type: "text", text: "And tomorrow?" },
        ],
      },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_01C", name: "get_weather", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01C" }] },
    ]);
  });

  it("merges consecutive same-role turns and drops empty ones", () => {
    const sent = body({
      messages: [
        { role: "user", content: "One" },
        { role: "user", content: [{ type: "text", text: "Two" }] },
        { role: "assistant", content: "" },
        { role: "user", content: "Three" },
        { role: "assistant", content: [{ type: "text", text: "Four" }] },
      ],
    });
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "One" }, { type: "text", text: "Two" }, { type: "text", text: "Three" }] },
      { role: "assistant", content: "Four" },
    ]);
  });

  it("refuses tool call arguments that are not a JSON object, without repeating them", () => {
    for (const args of ["not json SECRET-ARG", '["SECRET-ARG"]', '"SECRET-ARG"', "null"]) {
      const err = unsupported(() => body({ messages: [{ role: "user", content: "x" }, { role: "assistant", tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: args } }] }] }));
      expect(err.field).toBe("messages");
      expect(err.message).not.toContain("SECRET-ARG");
    }
  });

  it("JSON mode adds a system instruction; text format changes nothing", () => {
    expect(body({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], response_format: { type: "json_object" } }).system).toBe(`Be brief.\n\n${JSON_OBJECT_INSTRUCTION}`);
    expect(body({ response_format: { type: "json_object" } }).system).toBe(JSON_OBJECT_INSTRUCTION);
    expect(body({ response_format: { type: "text" } })).not.toHaveProperty("system");
  });

  it("json_schema becomes a forced tool; alongside the caller's tools the model must use one of them", () => {
    const forced = body({ response_format: answerSchema });
    expect(forced.tools).toEqual([{ name: "answer", description: "Give your answer as this tool's input.", input_schema: answerSchema.json_schema.schema }]);
    expect(forced.tool_choice).toEqual({ type: "tool", name: "answer" });
    expect(body({ response_format: { type: "json_schema", json_schema: { name: "answer", description: "The city" } } }).tools).toEqual([{ name: "answer", description: "The city", input_schema: { type: "object", properties: {} } }]);
    const withTools = body({ tools: [weather], response_format: answerSchema, parallel_tool_calls: false });
    expect(withTools.tools.map((t: { name: string }) => t.name)).toEqual(["get_weather", "answer"]);
    expect(withTools.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(body({ tools: [weather], tool_choice: "none", response_format: answerSchema }).tool_choice).toEqual({ type: "tool", name: "answer" });
    // A demanded tool call is the answer: the JSON tool stays out.
    const demanded = body({ tools: [weather], tool_choice: "required", response_format: answerSchema });
    expect(demanded.tools.map((t: { name: string }) => t.name)).toEqual(["get_weather"]);
    expect(demanded.tool_choice).toEqual({ type: "any" });
    expect(unsupported(() => body({ tools: [{ type: "function", function: { name: "answer" } }], response_format: answerSchema })).field).toBe("response_format");
  });
});

// A Messages response as documented (https://docs.anthropic.com/en/api/messages).
const message = (over: Record<string, unknown> = {}) => ({
  id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5-20250929",
  content: [{ type: "text", text: "Hi! My name is Claude." }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 2095, output_tokens: 503 },
  ...over,
});

describe("anthropic: the answer", () => {
  it("reads text, the served model and usage (cache reads and writes counted as prompt)", () => {
    expect(anthropic.readChat(message(), chat())).toEqual({
      model: "claude-sonnet-4-5-20250929",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi! My name is Claude." }, finish_reason: "stop" }],
      usage: { promptTokens: 2095, completionTokens: 503, totalTokens: 2598 },
    });
    const cached = anthropic.readChat(message({ usage: { input_tokens: 10, cache_creation_input_tokens: 200, cache_read_input_tokens: 1000, output_tokens: 5 } }), chat());
    expect(cached.usage).toEqual({ promptTokens: 1210, completionTokens: 5, totalTokens: 1215 });
    const { model: _, ...noModel } = message();
    expect(anthropic.readChat(noModel, chat()).model).toBe(MODEL);
  });

  it("reads tool_use blocks as tool calls, text beside them as content, thinking left out", () => {
    const result = anthropic.readChat(
      message({
        content: [
          { type: "thinking", thinking: "The user wants weather.", signature: "EqQBCgIYAhIM" },
          { type: "text", text: "I'll check." },
          { type: "tool_use", id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", input: { location: "San Francisco, CA", unit: "celsius" } },
          { type: "tool_use", id: "toolu_01B", name: "now", input: {} },
        ],
        stop_reason: "tool_use",
      }),
      chat(),
    );
    expect(result.choices).toEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: "I'll check.",
          tool_calls: [
            { id: "toolu_01A09q90qw90lq917835lq9", type: "function", function: { name: "get_weather", arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } },
            { id: "toolu_01B", type: "function", function: { name: "now", arguments: "{}" } },
          ],
        },
        finish_reason: "tool_calls",
      },
    ]);
    expect(anthropic.readChat(message({ content: [{ type: "tool_use", id: "t", name: "now", input: {} }], stop_reason: "tool_use" }), chat()).choices[0].message.content).toBeNull();
  });

  it("maps every stop reason", () => {
    const cases: [string | null, string][] = [
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["pause_turn", "stop"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["refusal", "content_filter"],
      ["something_new", "stop"],
    ];
    for (const [stop_reason, finish] of cases) expect(anthropic.readChat(message({ stop_reason }), chat()).choices[0].finish_reason, String(stop_reason)).toBe(finish);
    expect(anthropic.readChat(message({ stop_reason: "tool_use", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] }), chat()).choices[0].finish_reason).toBe("tool_calls");
  });

  it("json_schema: the forced tool's input is the content, and the answer a stop", () => {
    const result = anthropic.readChat(message({ content: [{ type: "tool_use", id: "toolu_01", name: "answer", input: { city: "Paris" } }], stop_reason: "tool_use" }), chat({ response_format: answerSchema }));
    expect(result.choices[0]).toEqual({ index: 0, message: { role: "assistant", content: '{"city":"Paris"}' }, finish_reason: "stop" });
    expect(JSON.parse(result.choices[0].message.content!)).toEqual({ city: "Paris" });
    // Without json_schema the same tool name is an ordinary call.
    expect(anthropic.readChat(message({ content: [{ type: "tool_use", id: "toolu_01", name: "answer", input: {} }], stop_reason: "tool_use" }), chat()).choices[0].finish_reason).toBe("tool_calls");
  });

  it("anything but a Messages body is invalid_response", () => {
    const bodies: unknown[] = [
      null,
      "text",
      [],
      { type: "error", error: { type: "api_error", message: "x" } },
      message({ content: "not blocks" }),
      message({ content: [null] }),
      message({ content: [{ type: "text" }] }),
      message({ content: [{ type: "tool_use", name: "f", input: {} }] }),
    ];
    for (const b of bodies) expect(failure(() => anthropic.readChat(b, chat())).kind).toBe("invalid_response");
  });
});

// Event sequences as documented (https://docs.anthropic.com/en/docs/build-with-claude/streaming).
const start = { type: "message_start", message: { id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", type: "message", role: "assistant", content: [], model: "claude-sonnet-4-5-20250929", stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } };
const textStream = sse(
  start,
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  { type: "ping" },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "!" } },
  { type: "content_block_stop", index: 0 },
  { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 15 } },
  { type: "message_stop" },
);
const toolStream = sse(
  { ...start, message: { ...start.message, usage: { input_tokens: 472, output_tokens: 2 } } },
  { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Weather, so the tool." } },
  { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "EqQBCgIYAhIM" } },
  { type: "content_block_stop", index: 0 },
  { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Okay, let's check the weather for San Francisco, CA:" } },
  { type: "content_block_stop", index: 1 },
  { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", input: {} } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "" } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"location":' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: ' "San' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: " Francisc" } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: 'o, CA", ' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '"unit": "fah' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: 'renheit"}' } },
  { type: "content_block_stop", index: 2 },
  { type: "content_block_start", index: 3, content_block: { type: "tool_use", id: "toolu_02", name: "now", input: {} } },
  { type: "content_block_delta", index: 3, delta: { type: "input_json_delta", partial_json: "{}" } },
  { type: "content_block_stop", index: 3 },
  { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 89 } },
  { type: "message_stop" },
);

describe("anthropic: the stream", () => {
  it("text: role first, content deltas, finish and usage at message_delta, complete only at message_stop", () => {
    const { chunks, completeAfter } = run(chat(), textStream);
    expect(chunks).toEqual([
      { model: MODEL, choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] },
      { model: MODEL, choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: null }] },
      { model: MODEL, choices: [{ index: 0, delta: { content: "!" }, finish_reason: null }] },
      { model: MODEL, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { model: MODEL, choices: [], usage: { promptTokens: 25, completionTokens: 15, totalTokens: 40 } },
    ]);
    expect(completeAfter).toEqual([false, false, false, false, false, false, false, true]);
  });

  it("tool_use blocks become indexed tool call deltas whose partial JSON the client assembles", () => {
    const { chunks } = run(chat({ tools: [weather] }), toolStream);
    const out = assemble(chunks);
    expect(out).toEqual({
      role: "assistant",
      content: "Okay, let's check the weather for San Francisco, CA:",
      toolCalls: [
        { id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: '{"location": "San Francisco, CA", "unit": "fahrenheit"}' },
        { id: "toolu_02", name: "now", arguments: "{}" },
      ],
      finish: "tool_calls",
      usage: { promptTokens: 472, completionTokens: 89, totalTokens: 561 },
    });
    expect(JSON.parse(out.toolCalls[0].arguments)).toEqual({ location: "San Francisco, CA", unit: "fahrenheit" });
    // The start of each call in OpenAI's shape: index among tool calls, not among content blocks.
    expect(chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).filter((t) => t.id)).toEqual([
      { index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", type: "function", function: { name: "get_weather", arguments: "" } },
      { index: 1, id: "toolu_02", type: "function", function: { name: "now", arguments: "" } },
    ]);
  });

  it("json_schema: the forced tool's input streams as content, finishing with stop", () => {
    const events = sse(
      start,
      { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_01", name: "answer", input: {} } },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"city": ' } },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '"Paris"}' } },
      { type: "content_block_stop", index: 0 },
      { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 12 } },
      { type: "message_stop" },
    );
    const out = assemble(run(chat({ response_format: answerSchema }), events).chunks);
    expect(out).toMatchObject({ content: '{"city": "Paris"}', toolCalls: [], finish: "stop" });
  });

  it("maps the stop reason of message_delta, and takes cumulative input counts when message_delta has them", () => {
    const ending = (stop_reason: string, usage: Record<string, number> = { output_tokens: 3 }) =>
      assemble(run(chat(), sse(start, { type: "message_delta", delta: { stop_reason, stop_sequence: null }, usage }, { type: "message_stop" })).chunks);
    expect(ending("max_tokens").finish).toBe("length");
    expect(ending("stop_sequence").finish).toBe("stop");
    expect(ending("refusal").finish).toBe("content_filter");
    expect(ending("pause_turn").finish).toBe("stop");
    expect(ending("end_turn", { input_tokens: 30, cache_read_input_tokens: 100, output_tokens: 3 }).usage).toEqual({ promptTokens: 130, completionTokens: 3, totalTokens: 133 });
  });

  it("a stream cut before message_stop is never complete", () => {
    const { decoder } = run(chat(), textStream.slice(0, -1));
    expect(decoder.complete).toBe(false);
  });

  it("error events fail with a status and none of the event's text", () => {
    const overloaded = failure(() => run(chat(), [...textStream.slice(0, 3), ...sse({ type: "error", error: { type: "overloaded_error", message: "Overloaded SECRET-TEXT" } })]));
    expect(overloaded).toMatchObject({ kind: "http", httpStatus: 529, retryAfterMs: null });
    expect(overloaded.message).not.toContain("SECRET-TEXT");
    expect(failure(() => run(chat(), sse({ type: "error", error: { type: "api_error", message: "Internal SECRET-TEXT" } }))).httpStatus).toBe(500);
    expect(failure(() => run(chat(), sse({ type: "error", error: { type: "rate_limit_error", message: "x" } }))).httpStatus).toBe(429);
    expect(failure(() => run(chat(), sse({ type: "error" }))).httpStatus).toBe(500);
  });

  it("an unreadable event is invalid_response", () => {
    for (const data of ["not json", "[]", "null", JSON.stringify({ type: "message_start" }), JSON.stringify({ type: "content_block_start", index: 0 }), JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta" } })]) {
      expect(failure(() => anthropic.streamDecoder(chat()).push({ data })).kind, data).toBe("invalid_response");
    }
  });
});
