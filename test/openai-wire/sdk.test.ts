// The official `openai` SDK against the real server and a mock provider: what an application
// pointed at Portcullis (baseURL + a Portcullis API key) sees for whole and streamed answers,
// tool calls, errors (typed as the SDK types them), the model list and embeddings.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { mockEmbedding, type MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { invokeEvents, providerKey, route, USAGE } from "../invoke/helpers.js";
import { ownerAttach, ownerPolicy } from "../policies/helpers.js";
import { usageRows, useWireServer } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;
let vk: { id: string; slug: string; secret: string };
let rt: { id: string; slug: string };

useWireServer({}, 1, async (server, [provider]) => {
  t = server;
  mock = provider;
  vk = await providerKey(t, mock.url);
  rt = await route(t, { slug: "sdk-chat", strategy: "SINGLE", targets: [{ virtualKey: vk.id, model: "gpt-4o" }] });
});

/** The SDK as an application configures it for Portcullis, counting the HTTP requests it makes. */
function sdk(apiKey: string, maxRetries = 0): { client: OpenAI; sent: () => number } {
  let sent = 0;
  const client = new OpenAI({
    baseURL: `${t.url}/v1`,
    apiKey,
    maxRetries,
    fetch: (url, init) => {
      sent++;
      return fetch(url, init);
    },
  });
  return { client, sent: () => sent };
}

/** The error a call rejected with (failing when it did not reject). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

const WEATHER_TOOL = {
  type: "function" as const,
  function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

describe("chat.completions.create through the SDK", () => {
  it("a whole answer through a virtual key: content, finish reason, usage, and the request ID as the completion's ID", async () => {
    const { client } = sdk(t.ownerKey);
    const { data, response } = await client.chat.completions
      .create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }], temperature: 0.2 })
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;
    expect(requestId).toBeTruthy();
    expect(data.id).toBe(`chatcmpl-${requestId}`);
    expect(data.object).toBe("chat.completion");
    expect(data.model).toBe("gpt-4o");
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0].message.role).toBe("assistant");
    expect(data.choices[0].message.content).toBe("mock reply to: Hello there");
    expect(data.choices[0].finish_reason).toBe("stop");
    expect(data.usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    // The provider got the model without the key's prefix, the key's own secret, and the parameters.
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].body.model).toBe("gpt-4o");
    expect(mock.requests[0].body.temperature).toBe(0.2);
    expect(mock.requests[0].body.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }]);
    expect(mock.requests[0].authorization).toBe(`Bearer ${vk.secret}`);
    const events = await invokeEvents(t, requestId);
    expect(events.map((e) => [e.outcome, e.targetKind, e.targetId])).toEqual([["SUCCESS", "VirtualKey", vk.id]]);
  });

  it("a whole answer through a route named by its slug", async () => {
    const { client } = sdk(t.ownerKey);
    const completion = await client.chat.completions.create({ model: rt.slug, messages: [{ role: "user", content: "via route" }] });
    expect(completion.choices[0].message.content).toBe("mock reply to: via route");
    expect(completion.model).toBe("gpt-4o");
    expect(mock.requests.map((r) => r.body.model)).toEqual(["gpt-4o"]);
    const events = await invokeEvents(t, completion.id.replace(/^chatcmpl-/, ""));
    expect(events.map((e) => [e.outcome, e.targetKind, e.targetId])).toEqual([["SUCCESS", "Route", rt.id]]);
  });

  it("a streamed answer: several content chunks, a finish_reason \"stop\", then one usage chunk", async () => {
    mock.enqueue({ kind: "ok", content: "one two three four five", promptTokens: 7, completionTokens: 9 });
    const { client } = sdk(t.ownerKey);
    const stream = await client.chat.completions.create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user", content: "count" }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(contentChunks.length).toBeGreaterThanOrEqual(3);
    expect(contentChunks.map((c) => c.choices[0].delta.content).join("")).toBe("one two three four five");
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
    expect(finishes).toEqual(["stop"]);
    // The usage chunk is the last one, with no choices, as OpenAI sends it.
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 });
    expect(chunks.slice(0, -1).every((c) => !c.usage)).toBe(true);
    // Every chunk carries the completion's ID and the model.
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "gpt-4o")).toBe(true);
    expect(mock.requests[0].stream).toBe(true);
    const requestId = chunks[0].id.replace(/^chatcmpl-/, "");
    const events = await invokeEvents(t, requestId);
    expect(events.map((e) => [e.outcome, e.details?.stream])).toEqual([["SUCCESS", true]]);
    expect(usageRows(t, requestId).map((r) => [r.promptTokens, r.completionTokens, r.success])).toEqual([[7, 9, true]]);
  });

  it("a streamed answer without include_usage has no usage chunk", async () => {
    const { client } = sdk(t.ownerKey);
    const stream = await client.chat.completions.create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user", content: "a b c" }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("mock reply to: a b c");
    expect(chunks.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe("stop");
  });

  it("the SDK's stream helper assembles the whole message from the chunks", async () => {
    const { client } = sdk(t.ownerKey);
    const final = await client.chat.completions.stream({ model: rt.slug, messages: [{ role: "user", content: "assemble me" }], stream_options: { include_usage: true } }).finalChatCompletion();
    expect(final.choices[0].message.content).toBe("mock reply to: assemble me");
    expect(final.choices[0].finish_reason).toBe("stop");
    expect(final.usage?.total_tokens).toBe(17);
  });
});

describe("tool calls through the SDK", () => {
  it("a whole answer with tool calls: parsed name and arguments, finish_reason \"tool_calls\"", async () => {
    mock.enqueue({ kind: "ok", toolCalls: [{ name: "get_weather", arguments: JSON.stringify({ city: "Paris" }) }, { name: "get_weather", arguments: JSON.stringify({ city: "Oslo" }) }] });
    const { client } = sdk(t.ownerKey);
    const completion = await client.chat.completions.create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user", content: "Weather in Paris and Oslo?" }], tools: [WEATHER_TOOL], tool_choice: "auto" });
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const calls = choice.message.tool_calls ?? [];
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => (c.type === "function" ? [c.function.name, JSON.parse(c.function.arguments)] : null))).toEqual([
      ["get_weather", { city: "Paris" }],
      ["get_weather", { city: "Oslo" }],
    ]);
    expect(calls.every((c) => typeof c.id === "string" && c.id.length > 0 && c.type === "function")).toBe(true);
    // The tools reached the provider as sent.
    expect(mock.requests[0].body.tools).toEqual([WEATHER_TOOL]);
    expect(mock.requests[0].body.tool_choice).toBe("auto");
  });

  it("the tool's answer goes back as a tool message and the conversation continues", async () => {
    const { client } = sdk(t.ownerKey);
    const completion = await client.chat.completions.create({
      model: `@${vk.slug}/gpt-4o`,
      tools: [WEATHER_TOOL],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    expect(completion.choices[0].message.content).toBe("mock reply to: sunny");
    expect(mock.requests[0].body.messages[1].tool_calls[0].function.name).toBe("get_weather");
    expect(mock.requests[0].body.messages[2]).toEqual({ role: "tool", tool_call_id: "call_1", content: "sunny" });
  });

  it("streamed tool calls: the deltas assemble into the calls, by the raw chunks and by the SDK's helper", async () => {
    const toolCalls = [
      { name: "get_weather", arguments: JSON.stringify({ city: "Paris", unit: "celsius" }) },
      { name: "get_time", arguments: JSON.stringify({ zone: "Europe/Oslo" }) },
    ];
    mock.enqueue({ kind: "ok", toolCalls }, { kind: "ok", toolCalls });
    const { client } = sdk(t.ownerKey);
    const params = { model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user" as const, content: "tools please" }], tools: [WEATHER_TOOL] };

    const stream = await client.chat.completions.create({ ...params, stream: true });
    const assembled: { id?: string; name: string; arguments: string }[] = [];
    const finishes: string[] = [];
    let argumentDeltas = 0;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        if (choice.finish_reason) finishes.push(choice.finish_reason);
        for (const d of choice.delta.tool_calls ?? []) {
          assembled[d.index] ??= { name: "", arguments: "" };
          if (d.id) assembled[d.index].id = d.id;
          if (d.function?.name) assembled[d.index].name += d.function.name;
          if (d.function?.arguments) {
            argumentDeltas++;
            assembled[d.index].arguments += d.function.arguments;
          }
        }
      }
    }
    expect(finishes).toEqual(["tool_calls"]);
    // The arguments came in pieces (the mock splits each in two), and join into the JSON sent.
    expect(argumentDeltas).toBeGreaterThanOrEqual(4);
    expect(assembled.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ["get_weather", { city: "Paris", unit: "celsius" }],
      ["get_time", { zone: "Europe/Oslo" }],
    ]);
    expect(assembled.every((c) => typeof c.id === "string" && c.id.length > 0)).toBe(true);

    const final = await client.chat.completions.stream(params).finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe("tool_calls");
    expect(final.choices[0].message.tool_calls?.map((c) => (c.type === "function" ? [c.function.name, JSON.parse(c.function.arguments)] : null))).toEqual([
      ["get_weather", { city: "Paris", unit: "celsius" }],
      ["get_time", { zone: "Europe/Oslo" }],
    ]);
  });
});

describe("errors as the SDK sees them", () => {
  it("a key that does not authenticate: OpenAI.AuthenticationError, 401, with the request ID, not retried", async () => {
    const { client, sent } = sdk("pcl_not_a_real_key_0000000000000000", 2);
    const err = await rejection(client.chat.completions.create({ model: rt.slug, messages: [{ role: "user", content: "hi" }] }));
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(e.status).toBe(401);
    expect(e.type).toBe("authentication_error");
    expect(e.code).toBe("invalid_api_key");
    expect(e.requestID).toBeTruthy();
    expect((e.error as { request_id?: string }).request_id).toBe(e.requestID);
    expect(sent()).toBe(1);
    expect(mock.requests).toHaveLength(0);
  });

  it("a rate limit of one request per minute: the second call is OpenAI.RateLimitError with retry-after, until the minute passes", async () => {
    const caller = seed(t).apiKey("member");
    const p = await ownerPolicy(t, { rateLimit: { requestsPerMinute: 1 } });
    await ownerAttach(t, p, caller.id);
    const { client, sent } = sdk(caller.token, 0);
    const params = { model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user" as const, content: "hi" }] };
    expect((await client.chat.completions.create(params)).choices[0].message.content).toBe("mock reply to: hi");
    const err = await rejection(client.chat.completions.create(params));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe("rate_limit_exceeded");
    expect(e.type).toBe("rate_limit_error");
    const retryAfter = Number(e.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // A sliding window: the call counted in this minute fades out over the next one.
    expect(retryAfter).toBeLessThanOrEqual(120);
    // A rate limit passes: the SDK may retry it (no x-should-retry: false).
    expect(e.headers.get("x-should-retry")).toBeNull();
    expect(sent()).toBe(2);
    expect(mock.requests).toHaveLength(1);
    // retry-after is honest: waiting exactly that long is enough.
    t.clock.advance(retryAfter * 1000);
    expect((await client.chat.completions.create(params)).choices[0].finish_reason).toBe("stop");
    expect(mock.requests).toHaveLength(2);
  });

  it("a spent budget is a 429 the SDK does not retry, even with retries allowed", async () => {
    const caller = seed(t).apiKey("member");
    const p = await ownerPolicy(t, { budget: { limitUsd: 0.0001, period: "TOTAL" } });
    await ownerAttach(t, p, caller.id);
    const { client, sent } = sdk(caller.token, 3);
    const err = await rejection(client.chat.completions.create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user", content: "hi" }] }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.code).toBe("budget_exceeded");
    expect(e.type).toBe("insufficient_quota");
    expect(e.headers.get("x-should-retry")).toBe("false");
    expect(sent()).toBe(1);
    expect(mock.requests).toHaveLength(0);
  });

  it("bad input is OpenAI.BadRequestError naming the parameter; an unknown model is OpenAI.NotFoundError; a viewer is OpenAI.PermissionDeniedError", async () => {
    const { client } = sdk(t.ownerKey);
    const bad = await rejection(client.chat.completions.create({ model: rt.slug, messages: [{ role: "user", content: "hi" }], temperature: 7 }));
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("temperature");
    const missing = await rejection(client.chat.completions.create({ model: "no-such-route", messages: [{ role: "user", content: "hi" }] }));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    const viewer = sdk(seed(t).apiKey("viewer").token).client;
    const denied = await rejection(viewer.chat.completions.create({ model: rt.slug, messages: [{ role: "user", content: "hi" }] }));
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(mock.requests).toHaveLength(0);
  });

  it("a provider failure is an OpenAI.InternalServerError (502) whose message holds nothing the provider said", async () => {
    mock.enqueue({ kind: "fail", status: 500 });
    const { client } = sdk(t.ownerKey);
    const err = await rejection(client.chat.completions.create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user", content: "hi" }] }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const e = err as InstanceType<typeof OpenAI.InternalServerError>;
    expect(e.status).toBe(502);
    expect(e.code).toBe("provider_error");
    expect(e.message).not.toContain(vk.secret);
    expect(JSON.stringify(e.error)).not.toContain(vk.secret);
    expect(mock.requests).toHaveLength(1);
  });

  it("a stream the provider cuts off ends in an error the SDK raises, after the chunks that came", async () => {
    mock.enqueue({ kind: "cut", afterChunks: 3, content: "one two three four five six" });
    const { client } = sdk(t.ownerKey);
    const stream = await client.chat.completions.create({ model: `@${vk.slug}/gpt-4o`, messages: [{ role: "user", content: "hi" }], stream: true });
    const received: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("provider_error");
    expect(received.join("")).toBe("one two ");
    expect(JSON.stringify(err)).not.toContain(vk.secret);
  });
});

describe("models.list through the SDK", () => {
  it("lists routes by slug and virtual keys as @slug/*, only those the caller may invoke", async () => {
    const s = seed(t);
    const w1 = s.workspace("sdk-models-one");
    const w2 = s.workspace("sdk-models-two");
    const k1 = await providerKey(t, mock.url, { workspaceId: w1 });
    const k2 = await providerKey(t, mock.url, { workspaceId: w2, provider: "ANTHROPIC" });
    const r1 = await route(t, { slug: "sdk-models-r1", workspaceId: w1, strategy: "SINGLE", targets: [{ virtualKey: k1.id, model: "gpt-4o" }] });
    const r2 = await route(t, { slug: "sdk-models-r2", workspaceId: w2, strategy: "SINGLE", targets: [{ virtualKey: k2.id, model: "claude-3-haiku" }] });

    const ids = async (token: string) => {
      const out: OpenAI.Models.Model[] = [];
      for await (const m of sdk(token).client.models.list()) out.push(m);
      return out;
    };
    const all = await ids(t.ownerKey);
    const byId = new Map(all.map((m) => [m.id, m]));
    for (const id of [rt.slug, r1.slug, r2.slug, `@${vk.slug}/*`, `@${k1.slug}/*`, `@${k2.slug}/*`]) expect(byId.has(id), id).toBe(true);
    expect(byId.get(rt.slug)).toMatchObject({ object: "model", owned_by: "portcullis" });
    expect(byId.get(`@${vk.slug}/*`)).toMatchObject({ object: "model", owned_by: "openai_compatible" });
    expect(byId.get(`@${k2.slug}/*`)).toMatchObject({ owned_by: "anthropic" });
    expect(all.every((m) => Number.isInteger(m.created) && m.created > 1_600_000_000)).toBe(true);

    // A member of w1 only: w1's and nothing organization-wide (it holds MODEL_INVOKE in w1 only).
    const w1Member = await ids(s.apiKey("member", w1).token);
    expect(new Set(w1Member.map((m) => m.id))).toEqual(new Set([r1.slug, `@${k1.slug}/*`]));
    // An API key of w1 holding member organization-wide: w1's and the organization's, not w2's.
    const w1Key = await ids(s.apiKey("member", null, { keyWorkspaceId: w1 }).token);
    const w1KeyIds = new Set(w1Key.map((m) => m.id));
    for (const id of [rt.slug, r1.slug, `@${vk.slug}/*`, `@${k1.slug}/*`]) expect(w1KeyIds.has(id), id).toBe(true);
    for (const id of [r2.slug, `@${k2.slug}/*`]) expect(w1KeyIds.has(id), id).toBe(false);
    // A viewer may invoke nothing, so nothing is listed.
    expect(await ids(s.apiKey("viewer").token)).toEqual([]);
    // Another organization sees none of these.
    const other = t.createOrganization("SDK models tenant");
    const otherIds = new Set((await ids(other.ownerKey)).map((m) => m.id));
    for (const id of byId.keys()) expect(otherIds.has(id), id).toBe(false);
  });
});

describe("embeddings.create through the SDK", () => {
  it("embeds through an OPENAI_COMPATIBLE key (base64 on the wire, decoded by the SDK) and counts the usage", async () => {
    const caller = seed(t).apiKey("member");
    const embedKey = await providerKey(t, mock.url, { provider: "OPENAI_COMPATIBLE" });
    const { client } = sdk(caller.token);
    const { data: result, response } = await client.embeddings.create({ model: `@${embedKey.slug}/text-embedding-3-small`, input: ["alpha", "beta"] }).withResponse();
    expect(result.object).toBe("list");
    expect(result.model).toBe("text-embedding-3-small");
    expect(result.data.map((d) => d.index)).toEqual([0, 1]);
    expect(result.data[0].embedding).toEqual(mockEmbedding("alpha"));
    expect(result.data[1].embedding).toEqual(mockEmbedding("beta"));
    expect(result.usage).toEqual({ prompt_tokens: 12, total_tokens: 12 });
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].operation).toBe("embeddings");
    expect(mock.requests[0].body).toMatchObject({ model: "text-embedding-3-small", input: ["alpha", "beta"], encoding_format: "base64" });
    expect(mock.requests[0].authorization).toBe(`Bearer ${embedKey.secret}`);

    // Explicit floats, one string.
    const floats = await client.embeddings.create({ model: `@${embedKey.slug}/text-embedding-3-small`, input: "gamma", encoding_format: "float", dimensions: 3 });
    expect(floats.data[0].embedding).toEqual(mockEmbedding("gamma", 3));

    const { usage } = await t.client(t.ownerKey).data(USAGE, { filter: { apiKeyId: caller.id } });
    expect(usage).toMatchObject({ requests: 2, errors: 0, promptTokens: 24, completionTokens: 0 });
    const requestId = response.headers.get("x-request-id")!;
    const events = await invokeEvents(t, requestId);
    expect(events.map((e) => [e.outcome, e.details?.embeddings])).toEqual([["SUCCESS", true]]);
    expect(usageRows(t, requestId).map((r) => [r.virtualKeyId, r.model, r.promptTokens, r.success])).toEqual([[embedKey.id, "text-embedding-3-small", 12, true]]);
  });

  it("embeddings through a provider that has none is a 400 naming the model", async () => {
    const anthropic = await providerKey(t, mock.url, { provider: "ANTHROPIC" });
    const err = await rejection(sdk(t.ownerKey).client.embeddings.create({ model: `@${anthropic.slug}/claude-3-haiku`, input: "x" }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("model");
    expect(mock.requests).toHaveLength(0);
  });
});
