// The Gemini adapter on fixtures in Gemini's documented wire format (generativelanguage v1beta):
// OpenAI-shaped requests out, GenerateContentResponses (whole and streamed) and embeddings back.
import { describe, expect, it } from "vitest";
import { ProviderFailure, UnsupportedByProvider } from "../../src/providers/errors.js";
import { UNSIGNED_THOUGHT } from "../../src/providers/google/chat.js";
import { google } from "../../src/providers/google/index.js";
import type { ChatChunk, ChatRequest, EmbeddingsRequest, ProviderEndpoint } from "../../src/providers/types.js";

const endpoint: ProviderEndpoint = { provider: "GOOGLE", baseUrl: null, providerOptions: null };
const MODEL = "gemini-2.5-flash";
const chat = (over: Partial<ChatRequest> = {}): ChatRequest => ({ model: MODEL, messages: [{ role: "user", content: "Hi" }], ...over });
const body = (over: Partial<ChatRequest> = {}) => google.chatRequest(endpoint, "AIza-secret", chat(over), false).body as Record<string, any>;

const weather = { type: "function" as const, function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"], additionalProperties: false, $schema: "http://json-schema.org/draft-07/schema#" } } };
const citySchema = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };

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

/** What an OpenAI streaming client makes of the chunks, per choice. */
function assemble(chunks: ChatChunk[]) {
  const choices: { role?: string; content: string; toolCalls: { id?: string; name?: string; arguments: string }[]; finish: string | null }[] = [];
  let usage: unknown;
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      const out = (choices[c.index] ??= { content: "", toolCalls: [], finish: null });
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
  return { choices, usage };
}

/** `data:` events as eventsource-parser hands them over (Gemini names no event). */
function run(responses: unknown[]) {
  const decoder = google.streamDecoder(chat());
  const chunks: ChatChunk[] = [];
  const completeAfter: boolean[] = [];
  for (const r of responses) {
    chunks.push(...decoder.push({ data: JSON.stringify(r) }));
    completeAfter.push(decoder.complete);
  }
  return { chunks, completeAfter, decoder };
}

describe("google: the request", () => {
  it("goes to generateContent, or streamGenerateContent with alt=sse, the key in x-goog-api-key only", () => {
    const whole = google.chatRequest(endpoint, "AIza-secret", chat(), false);
    expect(whole.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
    expect(whole.query).toBeUndefined();
    expect(whole.headers).toEqual({ "x-goog-api-key": "AIza-secret" });
    const streamed = google.chatRequest({ ...endpoint, baseUrl: "https://proxy.example/g/" }, "AIza-secret", chat(), true);
    expect(streamed.url).toBe("https://proxy.example/g/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    expect(streamed.query).toEqual({ alt: "sse" });
    expect(streamed.body).toEqual(whole.body);
    expect(JSON.stringify(streamed)).not.toMatch(/key=/);
    // The model is one path segment, whatever it holds; Google's own "models/" prefix is not doubled.
    expect(google.chatRequest(endpoint, "k", chat({ model: "tuned/../x?y#z" }), false).url).toBe("https://generativelanguage.googleapis.com/v1beta/models/tuned%2F..%2Fx%3Fy%23z:generateContent");
    expect(google.chatRequest(endpoint, "k", chat({ model: "models/gemini-2.0-flash" }), false).url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
  });

  it("hoists system and developer messages into systemInstruction; user and assistant become user and model", () => {
    expect(
      body({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hello" },
          { role: "assistant", content: [{ type: "text", text: "Hi!" }] },
          { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
          { role: "user", content: "Bye" },
        ],
      }),
    ).toEqual({
      contents: [
        { role: "user", parts: [{ text: "Hello" }] },
        { role: "model", parts: [{ text: "Hi!" }] },
        { role: "user", parts: [{ text: "Bye" }] },
      ],
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Answer in French." }] },
    });
  });

  it("maps every sampling field into generationConfig; user and parallel_tool_calls have no Gemini field", () => {
    expect(body({ temperature: 1.4, top_p: 0.9, max_tokens: 50, stop: ["END"], seed: 7, n: 2, user: "u-1", parallel_tool_calls: false }).generationConfig).toEqual({
      temperature: 1.4,
      topP: 0.9,
      maxOutputTokens: 50,
      stopSequences: ["END"],
      seed: 7,
      candidateCount: 2,
    });
    expect(body({ max_completion_tokens: 70 }).generationConfig).toEqual({ maxOutputTokens: 70 });
    expect(body()).toEqual({ contents: [{ role: "user", parts: [{ text: "Hi" }] }] });
  });

  it("sends data: images inline and refuses https ones (fileData needs an upload to Google)", () => {
    const sent = body({ messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQSkZJRg==" } }] }] });
    expect(sent.contents).toEqual([{ role: "user", parts: [{ text: "What is this?" }, { inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQSkZJRg==" } }] }]);
    for (const url of ["https://example.com/cat.jpg", "http://example.com/cat.jpg", "data:image/png,raw"]) {
      const err = unsupported(() => body({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }] }));
      expect(err).toMatchObject({ field: "messages", message: "Gemini accepts images as data: URLs" });
    }
  });

  it("declares tools with their JSON Schema as is (parametersJsonSchema) and maps tool_choice", () => {
    const sent = body({ tools: [weather, { type: "function", function: { name: "now" } }] });
    expect(sent.tools).toEqual([{ functionDeclarations: [{ name: "get_weather", description: "Current weather", parametersJsonSchema: weather.function.parameters }, { name: "now" }] }]);
    expect(sent).not.toHaveProperty("toolConfig");
    const config = (tool_choice: ChatRequest["tool_choice"]) => body({ tools: [weather], tool_choice }).toolConfig;
    expect(config("auto")).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(config("required")).toEqual({ functionCallingConfig: { mode: "ANY" } });
    expect(config("none")).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(config({ type: "function", function: { name: "get_weather" } })).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
    expect(body({ tool_choice: "required" })).not.toHaveProperty("toolConfig");
  });

  it("a tool call and its results round-trip: functionCall parts, functionResponses by name in one user turn", () => {
    const sent = body({
      tools: [weather],
      messages: [
        { role: "user", content: "Weather in Paris, and the time?" },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            { id: "call_0_0", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
            { id: "call_0_1", type: "function", function: { name: "now", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "call_0_1", content: "12:00" },
        { role: "tool", tool_call_id: "call_0_0", content: [{ type: "text", text: "18C" }, { type: "text", text: "sunny" }] },
        { role: "user", content: "Thanks. Oslo?" },
        // Synthesized IDs repeat from one answer to the next: the latest call with the ID wins.
        { role: "assistant", content: null, tool_calls: [{ id: "call_0_0", type: "function", function: { name: "get_forecast", arguments: '{"location":"Oslo"}' } }] },
        { role: "tool", tool_call_id: "call_0_0", content: "4C" },
      ],
    });
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris, and the time?" }] },
      {
        role: "model",
        parts: [
          { text: "Checking." },
          { functionCall: { name: "get_weather", args: { location: "Paris" } }, thoughtSignature: UNSIGNED_THOUGHT },
          { functionCall: { name: "now", args: {} } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "now", response: { content: "12:00" } } },
          { functionResponse: { name: "get_weather", response: { content: "18C\nsunny" } } },
          { text: "Thanks. Oslo?" },
        ],
      },
      { role: "model", parts: [{ functionCall: { name: "get_forecast", args: { location: "Oslo" } }, thoughtSignature: UNSIGNED_THOUGHT }] },
      { role: "user", parts: [{ functionResponse: { name: "get_forecast", response: { content: "4C" } } }] },
    ]);
    expect(UNSIGNED_THOUGHT).toBe("skip_thought_signature_validator");
  });

  it("refuses a tool result for an unknown call, and arguments that are not a JSON object, without repeating them", () => {
    expect(unsupported(() => body({ messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "call_x", content: "r" }] })).field).toBe("messages");
    // The call must come before its result.
    expect(unsupported(() => body({ messages: [{ role: "tool", tool_call_id: "c1", content: "r" }, { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] }] })).field).toBe("messages");
    for (const args of ["SECRET-ARG", '["SECRET-ARG"]', "null"]) {
      const err = unsupported(() => body({ messages: [{ role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: args } }] }] }));
      expect(err.field).toBe("messages");
      expect(err.message).not.toContain("SECRET-ARG");
    }
  });

  it("merges consecutive same-role turns and drops empty ones", () => {
    expect(
      body({
        messages: [
          { role: "user", content: "One" },
          { role: "user", content: "Two" },
          { role: "assistant", content: "" },
          { role: "user", content: [{ type: "text", text: "" }] },
        ],
      }).contents,
    ).toEqual([{ role: "user", parts: [{ text: "One" }, { text: "Two" }] }]);
  });

  it("JSON mode and json_schema: responseMimeType, and the schema as is in responseJsonSchema", () => {
    expect(body({ response_format: { type: "json_object" } }).generationConfig).toEqual({ responseMimeType: "application/json" });
    expect(body({ response_format: { type: "json_schema", json_schema: { name: "answer", schema: citySchema } } }).generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: citySchema });
    expect(body({ response_format: { type: "json_schema", json_schema: { name: "answer" } } }).generationConfig).toEqual({ responseMimeType: "application/json" });
    expect(body({ response_format: { type: "text" } })).not.toHaveProperty("generationConfig");
  });
});

// A GenerateContentResponse as documented (https://ai.google.dev/api/generate-content).
const response = (over: Record<string, unknown> = {}, candidate: Record<string, unknown> = {}) => ({
  candidates: [{ content: { parts: [{ text: "The opposite of hot is cold." }], role: "model" }, finishReason: "STOP", index: 0, ...candidate }],
  usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 7, totalTokenCount: 15, promptTokensDetails: [{ modality: "TEXT", tokenCount: 8 }] },
  modelVersion: "gemini-2.5-flash-001",
  responseId: "w3pQaPbEJ8e8nsEP9YSw0A4",
  ...over,
});

describe("google: the answer", () => {
  it("reads text, the served model and usage (thinking counted as completion)", () => {
    expect(google.readChat(response(), chat())).toEqual({
      model: "gemini-2.5-flash-001",
      choices: [{ index: 0, message: { role: "assistant", content: "The opposite of hot is cold." }, finish_reason: "stop" }],
      usage: { promptTokens: 8, completionTokens: 7, totalTokens: 15 },
    });
    const thinking = google.readChat(response({ usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 100, totalTokenCount: 115 } }, { content: { role: "model", parts: [{ text: "Plan: be brief.", thought: true }, { text: "Cold." }] } }), chat());
    expect(thinking.usage).toEqual({ promptTokens: 10, completionTokens: 105, totalTokens: 115 });
    expect(thinking.choices[0].message.content).toBe("Cold.");
    expect(google.readChat(response({ modelVersion: undefined, usageMetadata: undefined }), chat()).model).toBe(MODEL);
  });

  it("reads functionCall parts as tool calls with deterministic IDs, finishing with tool_calls", () => {
    const result = google.readChat(
      response({}, { content: { role: "model", parts: [{ functionCall: { name: "get_weather", args: { location: "Paris" } }, thoughtSignature: "CiQB0e2Kb" }, { functionCall: { name: "now" } }] } }),
      chat(),
    );
    expect(result.choices).toEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_0_0", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
            { id: "call_0_1", type: "function", function: { name: "now", arguments: "{}" } },
          ],
        },
        finish_reason: "tool_calls",
      },
    ]);
  });

  it("reads several candidates as several choices", () => {
    const result = google.readChat(
      response({
        candidates: [
          { content: { role: "model", parts: [{ text: "Cold." }] }, finishReason: "STOP", index: 0 },
          { content: { role: "model", parts: [{ functionCall: { name: "f", args: {} } }] }, finishReason: "STOP", index: 1 },
        ],
      }),
      chat({ n: 2 }),
    );
    expect(result.choices.map((c) => [c.index, c.message.content, c.message.tool_calls?.[0].id ?? null, c.finish_reason])).toEqual([
      [0, "Cold.", null, "stop"],
      [1, null, "call_1_0", "tool_calls"],
    ]);
  });

  it("maps every finish reason", () => {
    const cases: [string, string | null][] = [
      ["STOP", "stop"],
      ["MAX_TOKENS", "length"],
      ["SAFETY", "content_filter"],
      ["RECITATION", "content_filter"],
      ["BLOCKLIST", "content_filter"],
      ["PROHIBITED_CONTENT", "content_filter"],
      ["SPII", "content_filter"],
      ["IMAGE_SAFETY", "content_filter"],
      ["OTHER", "stop"],
      ["LANGUAGE", "stop"],
    ];
    for (const [finishReason, finish] of cases) expect(google.readChat(response({}, { finishReason }), chat()).choices[0].finish_reason, finishReason).toBe(finish);
    // Other reasons with nothing produced: no finish to claim.
    expect(google.readChat(response({}, { finishReason: "MALFORMED_FUNCTION_CALL", content: { role: "model", parts: [] } }), chat()).choices[0].finish_reason).toBeNull();
    // A safety stop without content, as Gemini sends it.
    expect(google.readChat(response({}, { finishReason: "SAFETY", content: undefined, safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "HIGH", blocked: true }] }), chat()).choices[0]).toEqual({
      index: 0,
      message: { role: "assistant", content: null },
      finish_reason: "content_filter",
    });
  });

  it("a blocked prompt (no candidates, promptFeedback.blockReason) is one filtered, empty choice", () => {
    const result = google.readChat({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 }, modelVersion: "gemini-2.5-flash" }, chat());
    expect(result).toEqual({ model: "gemini-2.5-flash", choices: [{ index: 0, message: { role: "assistant", content: null }, finish_reason: "content_filter" }], usage: { promptTokens: 9, completionTokens: 0, totalTokens: 9 } });
  });

  it("anything but a GenerateContentResponse is invalid_response", () => {
    const bodies: unknown[] = [
      null,
      [],
      "text",
      {},
      { candidates: [] },
      { error: { code: 500, message: "x", status: "INTERNAL" } },
      response({ candidates: [null] }),
      response({}, { content: { parts: "text" } }),
      response({}, { content: { parts: [7] } }),
      response({}, { content: { parts: [{ functionCall: { args: {} } }] } }),
    ];
    for (const b of bodies) expect(failure(() => google.readChat(b, chat())).kind).toBe("invalid_response");
  });
});

// streamGenerateContent?alt=sse events: each a GenerateContentResponse, usageMetadata on every one.
const textEvents = [
  { candidates: [{ content: { parts: [{ text: "The" }], role: "model" }, index: 0 }], usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 }, modelVersion: "gemini-2.5-flash" },
  { candidates: [{ content: { parts: [{ text: " opposite of hot" }], role: "model" }, index: 0 }], usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 }, modelVersion: "gemini-2.5-flash" },
  { candidates: [{ content: { parts: [{ text: " is cold." }], role: "model" }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 7, thoughtsTokenCount: 20, totalTokenCount: 35 }, modelVersion: "gemini-2.5-flash" },
];

describe("google: the stream", () => {
  it("text: role on the first chunk, content deltas, finish and usage on the last event, complete then", () => {
    const { chunks, completeAfter } = run(textEvents);
    expect(chunks).toEqual([
      { model: "gemini-2.5-flash", choices: [{ index: 0, delta: { role: "assistant", content: "The" }, finish_reason: null }] },
      { model: "gemini-2.5-flash", choices: [{ index: 0, delta: { content: " opposite of hot" }, finish_reason: null }] },
      { model: "gemini-2.5-flash", choices: [{ index: 0, delta: { content: " is cold." }, finish_reason: "stop" }] },
      { model: "gemini-2.5-flash", choices: [], usage: { promptTokens: 8, completionTokens: 27, totalTokens: 35 } },
    ]);
    expect(completeAfter).toEqual([false, false, true]);
  });

  it("function calls arrive whole, as complete tool call deltas with the IDs of a whole answer", () => {
    const events = [
      { candidates: [{ content: { parts: [{ text: "Checking." }], role: "model" }, index: 0 }], modelVersion: "gemini-2.5-flash" },
      { candidates: [{ content: { parts: [{ functionCall: { name: "get_weather", args: { location: "Paris" } }, thoughtSignature: "CiQB0e2Kb" }], role: "model" }, index: 0 }], modelVersion: "gemini-2.5-flash" },
      { candidates: [{ content: { parts: [{ functionCall: { name: "now", args: {} } }], role: "model" }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 30, candidatesTokenCount: 12, totalTokenCount: 42 }, modelVersion: "gemini-2.5-flash" },
    ];
    const { chunks, decoder } = run(events);
    expect(decoder.complete).toBe(true);
    expect(assemble(chunks)).toEqual({
      choices: [
        {
          role: "assistant",
          content: "Checking.",
          toolCalls: [
            { id: "call_0_0", name: "get_weather", arguments: '{"location":"Paris"}' },
            { id: "call_0_1", name: "now", arguments: "{}" },
          ],
          finish: "tool_calls",
        },
      ],
      usage: { promptTokens: 30, completionTokens: 12, totalTokens: 42 },
    });
    expect(chunks[1].choices[0].delta.tool_calls).toEqual([{ index: 0, id: "call_0_0", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }]);
    // The same answer whole names its calls alike.
    const whole = google.readChat({ candidates: [{ content: { role: "model", parts: [{ text: "Checking." }, ...events.slice(1).map((e) => e.candidates[0].content.parts[0])] }, finishReason: "STOP" }] }, chat());
    expect(whole.choices[0].message.tool_calls?.map((c) => c.id)).toEqual(["call_0_0", "call_0_1"]);
  });

  it("maps finish reasons on the stream", () => {
    const finish = (finishReason: string, parts: unknown[] = [{ text: "x" }]) => assemble(run([{ candidates: [{ content: { parts, role: "model" }, finishReason, index: 0 }] }]).chunks).choices[0].finish;
    expect(finish("MAX_TOKENS")).toBe("length");
    expect(finish("SAFETY", [])).toBe("content_filter");
    expect(finish("RECITATION")).toBe("content_filter");
    expect(finish("OTHER")).toBe("stop");
    expect(finish("MALFORMED_FUNCTION_CALL", [])).toBeNull();
  });

  it("several candidates: complete once every one has finished", () => {
    const { chunks, completeAfter } = run([
      { candidates: [{ content: { parts: [{ text: "A" }], role: "model" }, index: 0 }, { content: { parts: [{ text: "B" }], role: "model" }, index: 1 }] },
      { candidates: [{ content: { parts: [{ text: "." }], role: "model" }, finishReason: "STOP", index: 0 }] },
      { candidates: [{ content: { parts: [{ text: "!" }], role: "model" }, finishReason: "MAX_TOKENS", index: 1 }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 4, totalTokenCount: 8 } },
    ]);
    expect(completeAfter).toEqual([false, false, true]);
    expect(assemble(chunks)).toEqual({
      choices: [
        { role: "assistant", content: "A.", toolCalls: [], finish: "stop" },
        { role: "assistant", content: "B!", toolCalls: [], finish: "length" },
      ],
      usage: { promptTokens: 4, completionTokens: 4, totalTokens: 8 },
    });
  });

  it("a blocked prompt streams one filtered choice and completes", () => {
    const { chunks, decoder } = run([{ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 }, modelVersion: "gemini-2.5-flash" }]);
    expect(decoder.complete).toBe(true);
    expect(chunks).toEqual([
      { model: "gemini-2.5-flash", choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: "content_filter" }] },
      { model: "gemini-2.5-flash", choices: [], usage: { promptTokens: 5, completionTokens: 0, totalTokens: 5 } },
    ]);
  });

  it("a stream cut before a finishReason is never complete", () => {
    expect(run(textEvents.slice(0, 2)).decoder.complete).toBe(false);
  });

  it("an error event fails with its status and none of its text; an unreadable event is invalid_response", () => {
    const err = failure(() => run([textEvents[0], { error: { code: 503, message: "The model is overloaded. SECRET-TEXT", status: "UNAVAILABLE" } }]));
    expect(err).toMatchObject({ kind: "http", httpStatus: 503 });
    expect(err.message).not.toContain("SECRET-TEXT");
    expect(failure(() => run([{ error: { code: "bad" } }])).httpStatus).toBe(500);
    for (const data of ["not json", "[]", "null", JSON.stringify({ candidates: {} }), JSON.stringify({ candidates: [1] }), JSON.stringify({ candidates: [{ content: { parts: {} } }] })]) {
      expect(failure(() => google.streamDecoder(chat()).push({ data })).kind, data).toBe("invalid_response");
    }
  });
});

describe("google: embeddings", () => {
  const embed = (over: Partial<EmbeddingsRequest> = {}): EmbeddingsRequest => ({ model: "gemini-embedding-001", input: ["hello world", "bye"], ...over });

  it("one batchEmbedContents request per input, with outputDimensionality", () => {
    const wire = google.embeddings!.request(endpoint, "AIza-secret", embed({ dimensions: 768 }));
    expect(wire.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(wire.headers).toEqual({ "x-goog-api-key": "AIza-secret" });
    expect(wire.body).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "hello world" }] }, outputDimensionality: 768 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "bye" }] }, outputDimensionality: 768 },
      ],
    });
    expect(google.embeddings!.request(endpoint, "k", embed({ input: "one" })).body).toEqual({ requests: [{ model: "models/gemini-embedding-001", content: { parts: [{ text: "one" }] } }] });
  });

  it("reads the values, estimating usage at four characters a token", () => {
    const answer = { embeddings: [{ values: [0.5, -1, 0.25] }, { values: [1, 2, 3] }] };
    expect(google.embeddings!.read(answer, embed())).toEqual({
      model: "gemini-embedding-001",
      data: [
        { index: 0, embedding: [0.5, -1, 0.25] },
        { index: 1, embedding: [1, 2, 3] },
      ],
      usage: { promptTokens: 4, totalTokens: 4 },
    });
  });

  it("base64: the float32 bytes, as OpenAI encodes them", () => {
    const result = google.embeddings!.read({ embeddings: [{ values: [0.5, -1, 0.25] }] }, embed({ input: "hi", encoding_format: "base64" }));
    const encoded = result.data[0].embedding as string;
    const bytes = Buffer.from(encoded, "base64");
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual([0.5, -1, 0.25]);
    expect(encoded).toBe(Buffer.from(new Float32Array([0.5, -1, 0.25]).buffer).toString("base64"));
  });

  it("a body without one embedding per input is invalid_response", () => {
    for (const b of [null, {}, { embeddings: [{ values: [1] }] }, { embeddings: [{ values: [1] }, { values: ["x"] }] }, { embeddings: [{}, {}] }]) {
      expect(failure(() => google.embeddings!.read(b, embed())).kind).toBe("invalid_response");
    }
  });
});
