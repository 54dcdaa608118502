// Translation through POST /v1/chat/completions, OPENAI_COMPATIBLE being the reference: a
// system prompt, images, tools with tool_choice and a tool call with its result reach each
// provider in its own format; tool calls in answers come back as OpenAI tool_calls (whole and
// streamed); finish reasons are normalised (also in invokeModel over GraphQL); usage and cost
// are counted alike for every provider, streamed or not; what a provider cannot do (n: 2 on
// Anthropic) is the caller's 400, naming the field.
import { describe, expect, it } from "vitest";
import { MOCK_COMPLETION_TOKENS as C, MOCK_PROMPT_TOKENS as P, type MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { hello, INVOKE, providerKey, USAGE, useServerAndMockProvider } from "../invoke/helpers.js";
import { postChat, streamed, usageRows } from "../streaming/sse-client.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

type Provider = "OPENAI_COMPATIBLE" | "ANTHROPIC" | "GOOGLE";
const MODELS: Record<Provider, string> = { OPENAI_COMPATIBLE: "gpt-4o", ANTHROPIC: "claude-3-5-haiku-20241022", GOOGLE: "gemini-2.0-flash" };
/** US dollars per million tokens (src/gateway/pricing.ts). */
const PRICES: Record<Provider, { prompt: number; completion: number }> = {
  OPENAI_COMPATIBLE: { prompt: 2.5, completion: 10 },
  ANTHROPIC: { prompt: 0.8, completion: 4 },
  GOOGLE: { prompt: 0.1, completion: 0.4 },
};
const PROVIDERS: Provider[] = ["OPENAI_COMPATIBLE", "ANTHROPIC", "GOOGLE"];

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const WEATHER_SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const TOOLS = [{ type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: WEATHER_SCHEMA } }];
const CONVERSATION = [
  { role: "system", content: "You are terse." },
  {
    role: "user",
    content: [
      { type: "text", text: "Where was this taken, and what is the weather there?" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
    ],
  },
  { role: "assistant", content: null, tool_calls: [{ id: "call_abc", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
  { role: "tool", tool_call_id: "call_abc", content: '{"temp_c":21}' },
  { role: "user", content: "Thanks. Anything else?" },
];
const REQUEST = { messages: CONVERSATION, tools: TOOLS, tool_choice: { type: "function", function: { name: "get_weather" } } };

const keys = new Map<Provider, { id: string; slug: string }>();
async function keyFor(provider: Provider) {
  let key = keys.get(provider);
  if (!key) {
    key = await providerKey(t, mock.url, { provider });
    keys.set(provider, key);
  }
  return key;
}
const modelRef = async (provider: Provider) => `@${(await keyFor(provider)).slug}/${MODELS[provider]}`;

async function chat(body: Record<string, unknown>) {
  const call = await postChat(t, body);
  return { ...call, body: await call.response.json() };
}

/** Tool call deltas put together as an OpenAI SDK does. */
function assembleToolCalls(events: any[]) {
  const calls: { id?: string; type?: string; function: { name: string; arguments: string } }[] = [];
  for (const e of events) {
    for (const tc of e.choices?.[0]?.delta?.tool_calls ?? []) {
      const call = (calls[tc.index] ??= { function: { name: "", arguments: "" } });
      if (tc.id) call.id = tc.id;
      if (tc.type) call.type = tc.type;
      if (tc.function?.name) call.function.name += tc.function.name;
      if (tc.function?.arguments) call.function.arguments += tc.function.arguments;
    }
  }
  return calls;
}
const finishOf = (events: any[]) => events.flatMap((e) => e.choices ?? []).map((c: any) => c.finish_reason).filter((f: unknown) => f !== null);

describe("requests reach each provider in its own format", () => {
  it("OPENAI_COMPATIBLE (the reference): the conversation, tools and tool_choice as the application sent them", async () => {
    const res = await chat({ model: await modelRef("OPENAI_COMPATIBLE"), ...REQUEST });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(mock.requests[0].path).toBe("/v1/chat/completions");
    expect(mock.requests[0].body).toEqual({ model: "gpt-4o", ...REQUEST });
  });

  it("ANTHROPIC: system apart, image as a base64 source, tools with input_schema, tool_choice as a tool, tool_use and tool_result blocks", async () => {
    const res = await chat({ model: await modelRef("ANTHROPIC"), ...REQUEST });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const sent = mock.requests[0];
    expect(sent.path).toBe("/v1/messages");
    expect(sent.body).toEqual({
      model: "claude-3-5-haiku-20241022",
      max_tokens: 1024,
      system: "You are terse.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Where was this taken, and what is the weather there?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "call_abc", name: "get_weather", input: { city: "Paris" } }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_abc", content: '{"temp_c":21}' },
            { type: "text", text: "Thanks. Anything else?" },
          ],
        },
      ],
      tools: [{ name: "get_weather", description: "The weather in a city", input_schema: WEATHER_SCHEMA }],
      tool_choice: { type: "tool", name: "get_weather" },
    });
  });

  it("ANTHROPIC: an https image is sent as a url source; tool_choice required is any", async () => {
    const res = await chat({
      model: await modelRef("ANTHROPIC"),
      messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "https://images.example.com/cat.jpg" } }] }],
      tools: TOOLS,
      tool_choice: "required",
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(mock.requests[0].body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image", source: { type: "url", url: "https://images.example.com/cat.jpg" } },
        ],
      },
    ]);
    expect(mock.requests[0].body.tool_choice).toEqual({ type: "any" });
  });

  it("ANTHROPIC: a PNG whose data: URL spells its media type in capitals (which the door accepts) is sent as image/png", async () => {
    const res = await chat({
      model: await modelRef("ANTHROPIC"),
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `data:image/PNG;base64,${PNG}` } }] }],
    });
    // MIME types are case-insensitive (RFC 2045): the door accepts any case, Anthropic gets lower case.
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(mock.requests[0].body.messages[0].content).toEqual([{ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }]);
  });

  it("GOOGLE: systemInstruction, inlineData image, functionDeclarations, functionCall and functionResponse parts, toolConfig", async () => {
    const res = await chat({ model: await modelRef("GOOGLE"), ...REQUEST });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const sent = mock.requests[0];
    expect(sent.path).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
    expect(sent.body).toEqual({
      contents: [
        {
          role: "user",
          parts: [{ text: "Where was this taken, and what is the weather there?" }, { inlineData: { mimeType: "image/png", data: PNG } }],
        },
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: expect.any(String) }] },
        {
          role: "user",
          parts: [{ functionResponse: { name: "get_weather", response: { content: '{"temp_c":21}' } } }, { text: "Thanks. Anything else?" }],
        },
      ],
      systemInstruction: { parts: [{ text: "You are terse." }] },
      tools: [{ functionDeclarations: [{ name: "get_weather", description: "The weather in a city", parametersJsonSchema: WEATHER_SCHEMA }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } },
    });
  });

  it("GOOGLE: an https image is the caller's 400 (Gemini takes inline data), and nothing is sent", async () => {
    const res = await chat({
      model: await modelRef("GOOGLE"),
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://images.example.com/cat.jpg" } }] }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: "invalid_request_error", param: "messages" });
    expect(mock.requests).toHaveLength(0);
  });

  it("the streamed request is translated the same way", async () => {
    for (const provider of PROVIDERS) {
      mock.reset();
      const res = await streamed(t, { model: await modelRef(provider), ...REQUEST });
      expect(res.status, JSON.stringify(res.error)).toBe(200);
      const whole = await chat({ model: await modelRef(provider), ...REQUEST });
      expect(whole.status).toBe(200);
      const [asStream, asWhole] = mock.requests;
      expect(asStream.stream).toBe(true);
      const { stream: _s, stream_options: _o, ...rest } = asStream.body;
      expect(rest).toEqual(asWhole.body);
    }
  });
});

describe("answers come back in OpenAI's vocabulary", () => {
  const TOOL_ANSWER = { kind: "ok" as const, toolCalls: [{ name: "get_weather", arguments: '{"city":"Paris"}' }] };

  it.each(PROVIDERS)("%s: a tool call in a whole answer is an OpenAI tool_call with finish_reason tool_calls", async (provider) => {
    mock.enqueue(TOOL_ANSWER);
    const res = await chat({ model: await modelRef(provider), messages: [{ role: "user", content: "Weather in Paris?" }], tools: TOOLS });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.object).toBe("chat.completion");
    const [choice] = res.body.choices;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message).toMatchObject({ role: "assistant", content: null });
    expect(choice.message.tool_calls).toEqual([{ id: expect.stringMatching(/\S/), type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
  });

  it.each(PROVIDERS)("%s: a streamed tool call arrives as tool_call deltas that assemble into the call, finishing with tool_calls", async (provider) => {
    mock.enqueue(TOOL_ANSWER);
    const res = await streamed(t, { model: await modelRef(provider), messages: [{ role: "user", content: "Weather in Paris?" }], tools: TOOLS });
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    expect(res.done).toBe(true);
    const calls = assembleToolCalls(res.events);
    expect(calls).toEqual([{ id: expect.stringMatching(/\S/), type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    expect(JSON.parse(calls[0].function.arguments)).toEqual({ city: "Paris" });
    expect(finishOf(res.events)).toEqual(["tool_calls"]);
  });

  const FINISHES: [Provider, string, string][] = [
    ["OPENAI_COMPATIBLE", "length", "length"],
    ["OPENAI_COMPATIBLE", "content_filter", "content_filter"],
    ["ANTHROPIC", "max_tokens", "length"],
    ["ANTHROPIC", "end_turn", "stop"],
    ["ANTHROPIC", "refusal", "content_filter"],
    ["GOOGLE", "MAX_TOKENS", "length"],
    ["GOOGLE", "SAFETY", "content_filter"],
    ["GOOGLE", "STOP", "stop"],
  ];

  it.each(FINISHES)("%s: finish reason %s is %s, whole, streamed and in invokeModel", async (provider, native, expected) => {
    mock.enqueue({ kind: "ok", finishReason: native }, { kind: "ok", finishReason: native }, { kind: "ok", finishReason: native });
    const whole = await chat({ model: await modelRef(provider), messages: [{ role: "user", content: "Hello there" }] });
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    expect(whole.body.choices[0].finish_reason).toBe(expected);
    expect(whole.body.choices[0].message.content).toBe("mock reply to: Hello there");

    const stream = await streamed(t, { model: await modelRef(provider), messages: [{ role: "user", content: "Hello there" }] });
    expect(stream.done).toBe(true);
    expect(finishOf(stream.events)).toEqual([expected]);

    const key = await keyFor(provider);
    const gql = await t.client(t.ownerKey).query(INVOKE, { input: { virtualKey: key.slug, model: MODELS[provider], messages: hello } });
    expect(gql.body.errors, gql.text).toBeUndefined();
    expect(gql.body.data.invokeModel.finishReason).toBe(expected);
  });
});

describe("usage and cost", () => {
  it.each(PROVIDERS)("%s: counted alike whole and streamed, in the answer, the usage rows and the usage query", async (provider) => {
    // A key of its own, so that the usage query sums this test's calls only.
    const key = await providerKey(t, mock.url, { provider });
    const model = `@${key.slug}/${MODELS[provider]}`;
    const price = PRICES[provider];
    const cost = (P * price.prompt + C * price.completion) / 1e6;

    const whole = await chat({ model, messages: [{ role: "user", content: "Hello there" }] });
    expect(whole.body.usage).toEqual({ prompt_tokens: P, completion_tokens: C, total_tokens: P + C });
    const stream = await streamed(t, { model, messages: [{ role: "user", content: "Hello there" }], stream_options: { include_usage: true } });
    expect(stream.events.at(-1).usage).toEqual({ prompt_tokens: P, completion_tokens: C, total_tokens: P + C });
    const gql = await t.client(t.ownerKey).query(INVOKE, { input: { virtualKey: key.id, model: MODELS[provider], messages: hello } });
    expect(gql.body.data?.invokeModel.usage, gql.text).toEqual({ promptTokens: P, completionTokens: C, totalTokens: P + C });
    expect(gql.body.data.invokeModel.costUsd).toBeCloseTo(cost, 12);

    for (const requestId of [whole.requestId, stream.requestId]) {
      const rows = usageRows(t, requestId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ provider, model: MODELS[provider], success: true, promptTokens: P, completionTokens: C });
      expect(rows[0].costUsd).toBeCloseTo(cost, 12);
    }
    const totals = (await t.client(t.ownerKey).data(USAGE, { filter: { virtualKeyId: key.id } })).usage;
    expect(totals).toMatchObject({ requests: 3, errors: 0, promptTokens: 3 * P, completionTokens: 3 * C });
    expect(totals.costUsd).toBeCloseTo(3 * cost, 12);
  });
});

describe("what a provider cannot do", () => {
  it("n: 2 on Anthropic is a 400 naming n, whole or streamed, and nothing is sent", async () => {
    const model = await modelRef("ANTHROPIC");
    const whole = await chat({ model, messages: [{ role: "user", content: "Hello there" }], n: 2 });
    expect(whole.status).toBe(400);
    expect(whole.body.error).toMatchObject({ type: "invalid_request_error", param: "n" });
    expect(whole.body.error.message).toMatch(/\bn\b/);
    const stream = await postChat(t, { model, messages: [{ role: "user", content: "Hello there" }], n: 2, stream: true });
    expect(stream.status).toBe(400);
    expect((await stream.response.json()).error).toMatchObject({ param: "n" });
    expect(mock.requests).toHaveLength(0);
    // The same request with n: 1 goes through.
    expect((await chat({ model, messages: [{ role: "user", content: "Hello there" }], n: 1 })).status).toBe(200);
  });

  it("n: 2 reaches OpenAI-compatible and Gemini providers (candidateCount)", async () => {
    expect((await chat({ model: await modelRef("OPENAI_COMPATIBLE"), messages: [{ role: "user", content: "Hi" }], n: 2 })).status).toBe(200);
    expect((await chat({ model: await modelRef("GOOGLE"), messages: [{ role: "user", content: "Hi" }], n: 2 })).status).toBe(200);
    expect(mock.requests[0].body.n).toBe(2);
    expect(mock.requests[1].body.generationConfig).toEqual({ candidateCount: 2 });
  });
});
