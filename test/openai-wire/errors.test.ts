// What the wire format answers when a call cannot be served: malformed bodies (400 naming the
// parameter, never repeating what was sent), models that name nothing (one 404 whatever exists
// elsewhere), oversized bodies (413 that the client actually receives), wrong methods, and
// provider failures and stalls (502, 504) whose bodies never reach the client or the log.
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/ids.js";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { invokeEvents, providerKey, route } from "../invoke/helpers.js";
import { canary } from "../secrets/helpers.js";
import { canaryValue, chat, expectWireError, hi, wire, withoutRequestId, type WireResponse } from "./helpers.js";
import { useWireServer } from "./helpers.js";

const LIMIT = 65_536;

let t: TestServer;
let mock: MockProvider;
let vk: { id: string; slug: string; secret: string };
let slow: { id: string; slug: string };
let model: string;

useWireServer({ PORTCULLIS_MAX_MODEL_REQUEST_BYTES: String(LIMIT) }, 1, async (server, [provider]) => {
  t = server;
  mock = provider;
  vk = await providerKey(t, mock.url);
  model = `@${vk.slug}/gpt-4o`;
  slow = await route(t, { slug: "errors-slow", strategy: "SINGLE", timeoutMs: 200, targets: [{ virtualKey: vk.id, model: "gpt-4o" }] });
});

/** Asserts that no part of a canary (its random part included) is in the text. */
function expectNoEcho(text: string, planted: string, label: string): void {
  expect(text, label).not.toContain(planted);
  expect(text, label).not.toContain(planted.slice(-24));
}

interface BadCase {
  label: string;
  body: (c: string) => unknown;
  /** The parameter the refusal must name. */
  param: string | RegExp | null;
}

const base = (extra: Record<string, unknown>) => ({ model, messages: hi, ...extra });

const CHAT_CASES: BadCase[] = [
  // Wrong types.
  { label: "model not a string", body: (c) => ({ model: [c], messages: hi }), param: "model" },
  { label: "model missing", body: (c) => ({ messages: [{ role: "user", content: c }] }), param: "model" },
  { label: "messages not a list", body: (c) => ({ model, messages: c }), param: "messages" },
  { label: "messages empty", body: () => ({ model, messages: [] }), param: "messages" },
  { label: "message not an object", body: (c) => ({ model, messages: [c] }), param: /^messages\[0\]/ },
  { label: "content a number", body: (c) => ({ model, messages: [{ role: "user", content: 7, name: c }] }), param: /^messages\[0\]\.content/ },
  { label: "temperature a string", body: (c) => base({ temperature: c }), param: "temperature" },
  { label: "temperature out of range", body: () => base({ temperature: 2.5 }), param: "temperature" },
  { label: "top_p out of range", body: () => base({ top_p: -0.1 }), param: "top_p" },
  { label: "max_tokens a string", body: (c) => base({ max_tokens: c }), param: "max_tokens" },
  { label: "max_tokens not an integer", body: () => base({ max_tokens: 1.5 }), param: "max_tokens" },
  { label: "n zero", body: () => base({ n: 0 }), param: "n" },
  { label: "stream a string", body: (c) => base({ stream: c }), param: "stream" },
  { label: "stream_options.include_usage a string", body: (c) => base({ stream: true, stream_options: { include_usage: c } }), param: "stream_options.include_usage" },
  { label: "stop an object", body: (c) => base({ stop: { x: c } }), param: "stop" },
  { label: "stop too many", body: (c) => base({ stop: Array.from({ length: 17 }, () => c) }), param: "stop" },
  { label: "seed a string", body: (c) => base({ seed: c }), param: "seed" },
  { label: "frequency_penalty out of range", body: () => base({ frequency_penalty: 3 }), param: "frequency_penalty" },
  { label: "reasoning_effort unknown", body: (c) => base({ reasoning_effort: c }), param: "reasoning_effort" },
  { label: "logprobs a string", body: (c) => base({ logprobs: c }), param: "logprobs" },
  // Unknown fields, with the canary in the value and in a name that does not look like a field.
  { label: "unknown top-level field", body: (c) => base({ frobnicate: c }), param: "body" },
  { label: "unknown top-level field with a hostile name", body: (c) => base({ [c]: c }), param: "body" },
  { label: "unknown field in a message", body: (c) => ({ model, messages: [{ role: "user", content: "hi", secret_field: c }] }), param: "messages[0]" },
  { label: "unknown field in stream_options", body: (c) => base({ stream_options: { include_usage: true, [c]: true } }), param: "stream_options" },
  { label: "unknown field in a tool", body: (c) => base({ tools: [{ type: "function", function: { name: "ok_tool" }, extra: c }] }), param: "tools[0]" },
  // Roles.
  { label: "unknown role", body: (c) => ({ model, messages: [{ role: c, content: "hi" }] }), param: /^messages\[0\]/ },
  { label: "role of the wrong case", body: () => ({ model, messages: [{ role: "USER", content: "hi" }] }), param: /^messages\[0\]/ },
  { label: "no role", body: (c) => ({ model, messages: [{ content: c }] }), param: /^messages\[0\]/ },
  { label: "tool message without tool_call_id", body: (c) => ({ model, messages: [{ role: "tool", content: c }] }), param: "messages[0].tool_call_id" },
  { label: "tool_calls on a user message", body: (c) => ({ model, messages: [{ role: "user", content: "hi", tool_calls: [{ id: c }] }] }), param: "messages[0]" },
  { label: "assistant tool call of the wrong type", body: (c) => ({ model, messages: [{ role: "assistant", content: null, tool_calls: [{ id: "x", type: c, function: { name: "f", arguments: "{}" } }] }] }), param: "messages[0].tool_calls[0].type" },
  // Too long.
  { label: "user too long", body: (c) => base({ user: c + "x".repeat(300) }), param: "user" },
  { label: "model too long", body: (c) => ({ model: c + "m".repeat(600), messages: hi }), param: "model" },
  { label: "stop string too long", body: (c) => base({ stop: c + "s".repeat(1100) }), param: "stop" },
  { label: "message name too long", body: (c) => ({ model, messages: [{ role: "user", content: "hi", name: c + "n".repeat(300) }] }), param: "messages[0].name" },
  { label: "tool description too long", body: (c) => base({ tools: [{ type: "function", function: { name: "ok_tool", description: c + "d".repeat(4100) } }] }), param: "tools[0].function.description" },
  // Images.
  { label: "image URL over http", body: (c) => ({ model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `http://example.com/${c}.png` } }] }] }), param: /^messages\[0\]\.content/ },
  { label: "image URL as file:", body: (c) => ({ model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `file:///etc/${c}` } }] }] }), param: /^messages\[0\]\.content/ },
  { label: "image URL as javascript:", body: (c) => ({ model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `javascript:alert('${c}')` } }] }] }), param: /^messages\[0\]\.content/ },
  { label: "image data URL that is not an image", body: (c) => ({ model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `data:text/html;base64,${Buffer.from(c).toString("base64")}` } }] }] }), param: /^messages\[0\]\.content/ },
  { label: "image detail unknown", body: (c) => ({ model, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png", detail: c } }] }] }), param: /^messages\[0\]\.content/ },
  { label: "image in a system message", body: () => ({ model, messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] }), param: /^messages\[0\]\.content/ },
  // Tools.
  { label: "tool name with a space", body: (c) => base({ tools: [{ type: "function", function: { name: `${c} x` } }] }), param: "tools[0].function.name" },
  { label: "tool name too long", body: (c) => base({ tools: [{ type: "function", function: { name: c.replace(/-/g, "_") + "_".repeat(80) } }] }), param: "tools[0].function.name" },
  { label: "tool name with a slash", body: (c) => base({ tools: [{ type: "function", function: { name: `a/${c}` } }] }), param: "tools[0].function.name" },
  { label: "tool type unknown", body: (c) => base({ tools: [{ type: c, function: { name: "ok_tool" } }] }), param: "tools[0].type" },
  { label: "tool_choice unknown string", body: (c) => base({ tool_choice: c }), param: "tool_choice" },
  { label: "tool_choice naming a bad function name", body: (c) => base({ tool_choice: { type: "function", function: { name: `${c}!` } } }), param: /^tool_choice/ },
  // Response formats.
  { label: "response_format type unknown", body: (c) => base({ response_format: { type: c } }), param: /^response_format/ },
  { label: "response_format a string", body: (c) => base({ response_format: c }), param: /^response_format/ },
  { label: "response_format json_schema with a bad name", body: (c) => base({ response_format: { type: "json_schema", json_schema: { name: `${c} x`, schema: {} } } }), param: "response_format.json_schema.name" },
  { label: "response_format json_schema without a name", body: (c) => base({ response_format: { type: "json_schema", json_schema: { schema: { description: c } } } }), param: "response_format.json_schema.name" },
  { label: "response_format with an extra field", body: (c) => base({ response_format: { type: "json_object", schema: c } }), param: "response_format" },
  // The model string itself.
  { label: "model @ without a slash", body: (c) => ({ model: `@${c}`, messages: hi }), param: "model" },
  { label: "model @ without a key", body: (c) => ({ model: `@/${c}`, messages: hi }), param: "model" },
  { label: "model @key/ without a model", body: () => ({ model: `@${vk.slug}/`, messages: hi }), param: "model" },
  { label: "model name with a newline", body: (c) => ({ model: `@${vk.slug}/gpt-4o\n${c}`, messages: hi }), param: "model" },
  { label: "model name with a NUL", body: (c) => ({ model: `@${vk.slug}/gpt-4o\u0000${c}`, messages: hi }), param: "model" },
  { label: "model name too long for a provider", body: (c) => ({ model: `@${vk.slug}/${c}${"m".repeat(250)}`, messages: hi }), param: "model" },
  // Not an object.
  { label: "JSON array body", body: (c) => [c], param: "body" },
  { label: "JSON array of a whole body", body: (c) => [{ model, messages: [{ role: "user", content: c }] }], param: "body" },
  { label: "JSON string body", body: (c) => JSON.stringify(c), param: "body" },
  { label: "JSON null body", body: () => null, param: "body" },
  { label: "JSON number body", body: () => 42, param: "body" },
];

const EMBEDDING_CASES: BadCase[] = [
  { label: "input missing", body: () => ({ model }), param: "input" },
  { label: "input a number", body: () => ({ model, input: 42 }), param: "input" },
  { label: "input an empty list", body: () => ({ model, input: [] }), param: "input" },
  { label: "input of objects", body: (c) => ({ model, input: [{ text: c }] }), param: /^input/ },
  { label: "dimensions a string", body: (c) => ({ model, input: "x", dimensions: c }), param: "dimensions" },
  { label: "encoding_format unknown", body: (c) => ({ model, input: "x", encoding_format: c }), param: "encoding_format" },
  { label: "unknown field", body: (c) => ({ model, input: "x", [c]: c }), param: "body" },
  { label: "model @ without a slash", body: (c) => ({ model: `@${c}`, input: "x" }), param: "model" },
  { label: "JSON array body", body: (c) => [c], param: "body" },
];

function expectRefusal(res: WireResponse, c: BadCase, planted: string): void {
  const error = expectWireError(res, 400);
  expect(error.type).toBe("invalid_request_error");
  expect(["invalid_value", "invalid_request"]).toContain(error.code);
  if (c.param instanceof RegExp) expect(error.param, `${c.label}: ${res.text}`).toMatch(c.param);
  else expect(error.param, `${c.label}: ${res.text}`).toBe(c.param);
  // The message names the parameter it is about.
  if (error.param !== null) expect(error.message.startsWith(error.param), `${c.label}: ${res.text}`).toBe(true);
  expectNoEcho(res.text, planted, c.label);
  expect(error.message.length, c.label).toBeLessThan(300);
}

describe("malformed chat bodies", () => {
  it.each(CHAT_CASES.map((c) => [c.label, c] as const))("%s: 400 naming the parameter, nothing of the value repeated", async (_label, c) => {
    const planted = canaryValue("body");
    const res = await wire(t, "/v1/chat/completions", { token: t.ownerKey, body: c.body(planted) });
    expectRefusal(res, c, planted);
    expect(mock.requests).toHaveLength(0);
    expectNoEcho(t.logs.join("\n"), planted, `${c.label} (logs)`);
  });

  it.each(EMBEDDING_CASES.map((c) => [c.label, c] as const))("embeddings, %s: 400 naming the parameter", async (_label, c) => {
    const planted = canaryValue("embed");
    const res = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: c.body(planted) });
    expectRefusal(res, c, planted);
    expect(mock.requests).toHaveLength(0);
  });

  it.each([
    ["metadata value too long", (c: string) => base({ metadata: { [c]: "x".repeat(600) } })],
    ["metadata value not a string", (c: string) => base({ metadata: { [c]: 42 } })],
    ["logit_bias value out of range", (c: string) => base({ logit_bias: { [c]: 500 } })],
  ] as const)("a free-form map's keys are the caller's data (%s): the refusal names the map, not the key", async (_label, body) => {
    const planted = canaryValue("map-key");
    const res = await wire(t, "/v1/chat/completions", { token: t.ownerKey, body: body(planted) });
    const error = expectWireError(res, 400);
    expect(error.param, res.text).toMatch(/^(metadata|logit_bias)/);
    expectNoEcho(res.text, planted, res.text.slice(0, 300));
    expect(mock.requests).toHaveLength(0);
  });

  it("a body that is not JSON: 400, nothing of it repeated", async () => {
    for (const raw of [(c: string) => `{"model": "${c}", "messages": [`, (c: string) => c, (c: string) => `model=${c}&messages=hi`, () => "", (c: string) => `{"model": "${c}"}}`]) {
      const planted = canaryValue("nonjson");
      const res = await wire(t, "/v1/chat/completions", { token: t.ownerKey, body: raw(planted) });
      const error = expectWireError(res, 400);
      expect(error.type).toBe("invalid_request_error");
      expect(error.param).toBeNull();
      expectNoEcho(res.text, planted, "non-JSON");
      // The same for embeddings.
      const embed = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: raw(planted) });
      expect(expectWireError(embed, 400).param).toBeNull();
      expectNoEcho(embed.text, planted, "non-JSON embeddings");
    }
    // Valid JSON but not UTF-8 text is still a refusal, not a crash.
    const res = await fetch(`${t.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" }, body: new Uint8Array([0xff, 0xfe, 0x7b, 0x00]) });
    expect(res.status).toBe(400);
    expect(mock.requests).toHaveLength(0);
  });

  it("the first of several problems is the one named; a valid body after refusals still works", async () => {
    const res = await wire(t, "/v1/chat/completions", { token: t.ownerKey, body: { model, messages: hi, temperature: "hot", top_p: "high" } });
    expect(expectWireError(res, 400).param).toMatch(/^(temperature|top_p)$/);
    const ok = await chat(t, t.ownerKey, model);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.choices[0].message.content).toBe("mock reply to: hi");
  });
});

describe("a model that names nothing", () => {
  it("is one 404, identical whether the virtual key or route exists in another organization or nowhere", async () => {
    const other = t.createOrganization("Errors tenant");
    const theirKey = await providerKey(t, mock.url, { token: other.ownerKey });
    const theirRoute = await route(t, { slug: "their-route", strategy: "SINGLE", targets: [{ virtualKey: theirKey.id, model: "gpt-4o" }] }, other.ownerKey);
    // Their key and route work for them.
    const theirs = await chat(t, other.ownerKey, theirRoute.slug);
    expect(theirs.status, theirs.text).toBe(200);
    mock.reset();

    const pairs: [string, string][] = [
      [`@${theirKey.slug}/gpt-4o`, `@no-such-key-${theirKey.slug.slice(-6)}/gpt-4o`],
      [`@${theirKey.id}/gpt-4o`, `@${newId("VirtualKey")}/gpt-4o`],
      [theirRoute.slug, "no-such-route"],
      [theirRoute.id, newId("Route")],
    ];
    for (const [existsElsewhere, nowhere] of pairs) {
      const a = await chat(t, t.ownerKey, existsElsewhere);
      const b = await chat(t, t.ownerKey, nowhere);
      const ea = expectWireError(a, 404, "model_not_found");
      expectWireError(b, 404, "model_not_found");
      expect(withoutRequestId(a), existsElsewhere).toEqual(withoutRequestId(b));
      expect(a.headers.get("content-length")).toBe(b.headers.get("content-length"));
      // Nothing of the model string is repeated.
      expect(ea.message).not.toContain(existsElsewhere.replace(/^@/, "").split("/")[0]);
      // Streamed or not, and for embeddings, the same refusal.
      const streamed = await chat(t, t.ownerKey, existsElsewhere, { stream: true });
      expect(withoutRequestId(streamed)).toEqual(withoutRequestId(a));
      const ea2 = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: { model: existsElsewhere, input: "x" } });
      const eb2 = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: { model: nowhere, input: "x" } });
      expectWireError(ea2, 404);
      expect(withoutRequestId(ea2)).toEqual(withoutRequestId(eb2));
    }
    // A reference too long to be any key or route is the same refusal too.
    const long = await chat(t, t.ownerKey, "r".repeat(300));
    expect(withoutRequestId(long)).toEqual(withoutRequestId(await chat(t, t.ownerKey, "no-such-route")));
    expect(mock.requests).toHaveLength(0);
  });

  it("and each refusal is an audited invokeModel denial with the request ID", async () => {
    const res = await chat(t, t.ownerKey, "no-such-route-audited");
    expectWireError(res, 404);
    const events = await invokeEvents(t, res.headers.get("x-request-id")!);
    expect(events.map((e) => [e.outcome, e.details])).toEqual([["DENIED", { code: "NOT_FOUND" }]]);
  });
});

/**
 * A client that writes the whole request (headers and body) before it reads anything, as simple
 * HTTP clients do, over a raw socket: what it received by the time the connection closed.
 */
function writeAllThenRead(path: string, size: number, chunked: boolean): Promise<{ received: string; error: string | null }> {
  const url = new URL(t.url);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const got: Buffer[] = [];
    let error: string | null = null;
    socket.on("data", (c: Buffer) => got.push(c));
    socket.on("error", (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.on("close", () => resolve({ received: Buffer.concat(got).toString("utf8"), error }));
    const framing = chunked ? "transfer-encoding: chunked" : `content-length: ${size}`;
    const head = Buffer.from(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${t.ownerKey}\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`);
    const body = Buffer.alloc(size, "x");
    socket.write(chunked ? Buffer.concat([head, Buffer.from(`${size.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]) : Buffer.concat([head, body]));
  });
}

describe("an oversized body", () => {
  const bigBody = (bytes: number) => JSON.stringify({ model, messages: [{ role: "user", content: "x".repeat(bytes) }] });

  it("just under the limit is served", async () => {
    const body = bigBody(LIMIT - 200);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(LIMIT);
    const res = await wire(t, "/v1/chat/completions", { token: t.ownerKey, body });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });

  it.each([LIMIT + 1, 256 * 1024, 4 * 1024 * 1024])("of %i bytes with a content-length: the client receives a 413 in OpenAI's shape", async (size) => {
    const body = bigBody(size);
    const res = await wire(t, "/v1/chat/completions", { token: t.ownerKey, body });
    const error = expectWireError(res, 413, "request_too_large");
    expect(error.type).toBe("invalid_request_error");
    expect(error.message).toContain(String(LIMIT));
    expect(mock.requests).toHaveLength(0);
  });

  it.each([
    [LIMIT + 1, false],
    [8 * 1024 * 1024, false],
    [LIMIT + 1, true],
    [8 * 1024 * 1024, true],
  ])("of %i bytes (chunked: %s) from a client that sends it all before reading: the whole 413 arrives", async (size, chunked) => {
    const { received } = await writeAllThenRead("/v1/chat/completions", size, chunked);
    const [head, body] = received.split("\r\n\r\n");
    expect(head.split("\r\n")[0], received.slice(0, 300)).toBe("HTTP/1.1 413 Payload Too Large");
    expect(head.toLowerCase()).toContain("connection: close");
    expect(JSON.parse(body).error).toMatchObject({ code: "request_too_large", type: "invalid_request_error", param: null });
    expect(mock.requests).toHaveLength(0);
  });

  it("an embeddings body over the limit is a 413 too", async () => {
    const res = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: JSON.stringify({ model, input: "e".repeat(LIMIT + 10) }) });
    expectWireError(res, 413, "request_too_large");
    expect(mock.requests).toHaveLength(0);
  });
});

describe("methods and paths", () => {
  it("a wrong method is a 4xx in OpenAI's shape that says which method to use", async () => {
    const cases: [string, string, string][] = [
      ["GET", "/v1/chat/completions", "POST"],
      ["PUT", "/v1/chat/completions", "POST"],
      ["DELETE", "/v1/chat/completions", "POST"],
      ["PATCH", "/v1/embeddings", "POST"],
      ["GET", "/v1/embeddings", "POST"],
      ["POST", "/v1/models", "GET"],
      ["DELETE", "/v1/models", "GET"],
    ];
    for (const [method, path, allowed] of cases) {
      const res = await wire(t, path, { token: t.ownerKey, method, body: method === "GET" ? undefined : { model, messages: hi } });
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      expectWireError(res, res.status);
      expect(res.headers.get("allow"), `${method} ${path}`).toBe(allowed);
    }
    expect(mock.requests).toHaveLength(0);
  });

  it("the query string does not change the endpoint; unknown /v1 paths are 404", async () => {
    const ok = await wire(t, "/v1/chat/completions?api-version=1", { token: t.ownerKey, body: { model, messages: hi } });
    expect(ok.status, ok.text).toBe(200);
    for (const path of ["/v1/completions", "/v1/chat/completions/", "/v1/Models", "/v1/responses"]) {
      const res = await wire(t, path, { token: t.ownerKey, body: { model, messages: hi } });
      expect(res.status, path).toBe(404);
    }
    expect(mock.requests).toHaveLength(1);
  });
});

describe("provider failures", () => {
  it.each([400, 401, 403, 404, 500, 502, 503])("a provider's %i is a 502 whose body holds nothing the provider said", async (status) => {
    mock.enqueue({ kind: "fail", status });
    const res = await chat(t, t.ownerKey, model);
    const error = expectWireError(res, 502, "provider_error");
    expect(error.type).toBe("api_error");
    expect(error.message).toBe(`The provider answered HTTP ${status}`);
    expect(res.headers.get("retry-after")).toBeNull();
    expectNoEcho(res.text, vk.secret, "response");
    expect(res.text).not.toContain("Incorrect API key");
    // The mock did echo the secret in its body: the test would see a leak.
    expect(mock.requests[0].authorization).toBe(`Bearer ${vk.secret}`);
  });

  it("a provider's 429 is a 429 the SDKs wait on, with the provider's retry-after and nothing else it said", async () => {
    mock.enqueue({ kind: "fail", status: 429 });
    const plain = await chat(t, t.ownerKey, model);
    expect(expectWireError(plain, 429, "provider_rate_limited")).toMatchObject({ type: "rate_limit_error", message: "The provider answered HTTP 429" });
    expect(plain.headers.get("retry-after")).toBeNull();
    expect(plain.headers.get("x-should-retry")).toBeNull();
    expectNoEcho(plain.text, vk.secret, "response");
    // With a retry-after too long to wait for within the call, the caller is told it.
    mock.enqueue({ kind: "rateLimit", retryAfter: "120" });
    const hinted = await chat(t, t.ownerKey, model);
    expectWireError(hinted, 429, "provider_rate_limited");
    expect(hinted.headers.get("retry-after")).toBe("120");
    expect(hinted.text).not.toContain("Incorrect API key");
  });

  it("a streamed call the provider refuses before streaming is a 502 JSON error, not an event stream", async () => {
    mock.enqueue({ kind: "fail", status: 500 });
    const res = await chat(t, t.ownerKey, model, { stream: true });
    expectWireError(res, 502, "provider_error");
    expectNoEcho(res.text, vk.secret, "streamed response");
  });

  it("a provider stalling past the route's timeout is a 504", async () => {
    mock.enqueue({ kind: "stall" });
    const res = await chat(t, t.ownerKey, slow.slug);
    const error = expectWireError(res, 504, "provider_timeout");
    expect(error.type).toBe("api_error");
    expect(error.message).toBe("The provider did not answer within 200 ms");
    const events = await invokeEvents(t, error.request_id);
    expect(events.map((e) => [e.outcome, e.details?.code])).toEqual([["FAILURE", "PROVIDER_TIMEOUT"]]);
  });

  it("a streamed call to a provider that never answers is a 504 before any event", async () => {
    mock.enqueue({ kind: "stall" });
    const res = await chat(t, t.ownerKey, slow.slug, { stream: true });
    expectWireError(res, 504, "provider_timeout");
  });

  it("a stream that goes silent past the timeout ends with a provider_timeout error event and no [DONE]", async () => {
    mock.enqueue({ kind: "stallStream", afterChunks: 3, content: "one two three four five" });
    const res = await chat(t, t.ownerKey, slow.slug, { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = res.text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1)!);
    expect(last.error).toMatchObject({ type: "api_error", code: "provider_timeout", param: null, request_id: res.headers.get("x-request-id") });
    const contents = events.slice(0, -1).map((e) => JSON.parse(e).choices[0]?.delta?.content ?? "");
    expect(contents.join("")).toBe("one two ");
  });

  it("a stream the provider cuts ends with a provider_error event and no [DONE]", async () => {
    mock.enqueue({ kind: "cut", afterChunks: 2 });
    const res = await chat(t, t.ownerKey, model, { stream: true });
    expect(res.status).toBe(200);
    const events = res.text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1)!).error.code).toBe("provider_error");
  });

  it("embeddings: a provider failure is a 502, a stall a 504", async () => {
    mock.enqueue({ kind: "fail", status: 500 });
    const failed = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: { model, input: "x" } });
    expectWireError(failed, 502, "provider_error");
    expectNoEcho(failed.text, vk.secret, "embeddings");
    mock.enqueue({ kind: "stall" });
    const stalled = await wire(t, "/v1/embeddings", { token: t.ownerKey, body: { model: slow.slug, input: "x" } });
    expectWireError(stalled, 504, "provider_timeout");
  });

  it("provider error bodies echoing a planted secret reach neither the client nor the server's log", async () => {
    const secret = canary("wire-errors");
    const planted = await providerKey(t, mock.url, { secret });
    const plantedAnthropic = await providerKey(t, mock.url, { secret: canary("wire-errors-anthropic"), provider: "ANTHROPIC" });
    const plantedGoogle = await providerKey(t, mock.url, { secret: canary("wire-errors-google"), provider: "GOOGLE" });
    const secrets = [secret, plantedAnthropic.secret, plantedGoogle.secret];
    const texts: string[] = [];
    for (const k of [planted, plantedAnthropic, plantedGoogle]) {
      for (const status of [400, 401, 403, 429, 500, 503]) {
        for (const stream of [false, true]) {
          // Failures open the target's circuit: close it, so that every call reaches the provider.
          t.server.services.health.clear();
          mock.enqueue({ kind: "fail", status });
          const res = await chat(t, t.ownerKey, `@${k.slug}/some-model`, { stream });
          if (status === 429) expectWireError(res, 429, "provider_rate_limited");
          else expectWireError(res, 502, "provider_error");
          texts.push(res.text, JSON.stringify([...res.headers]));
        }
      }
      mock.enqueue({ kind: "cut", afterChunks: 1 });
      texts.push((await chat(t, t.ownerKey, `@${k.slug}/some-model`, { stream: true })).text);
    }
    const failedEmbed = (mock.enqueue({ kind: "fail", status: 401 }), await wire(t, "/v1/embeddings", { token: t.ownerKey, body: { model: `@${planted.slug}/e`, input: "x" } }));
    texts.push(failedEmbed.text);
    // Every credential did reach the mock, which echoed it.
    const sent = mock.requests.map((r) => r.authorization ?? r.xApiKey ?? r.googApiKey);
    for (const s of secrets) expect(sent.some((v) => v?.includes(s))).toBe(true);
    const everything = [...texts, ...t.logs].join("\n");
    for (const s of secrets) {
      expect(everything).not.toContain(s);
      expect(everything).not.toContain(s.slice(10));
    }
    expect(everything).not.toContain("Incorrect API key");
  });
});

describe("too many failed authentications", () => {
  // Last in the file: it locks the loopback address out for failures (good keys still work).
  it("lock the address out with a 429 in OpenAI's shape with retry-after, while a good key still works, until the lockout passes", async () => {
    const bad = "pcl_not_a_real_key_at_all";
    let res = await chat(t, bad, model);
    for (let i = 0; i < 20 && res.status === 401; i++) res = await chat(t, bad, model);
    const error = expectWireError(res, 429, "rate_limit_exceeded");
    expect(error.type).toBe("rate_limit_error");
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.headers.get("x-should-retry")).toBeNull();
    // The same for every wire endpoint, and for a forged key.
    expectWireError(await wire(t, "/v1/models", { token: bad, method: "GET" }), 429, "rate_limit_exceeded");
    expectWireError(await wire(t, "/v1/embeddings", { token: "pcl_other", body: { model, input: "x" } }), 429, "rate_limit_exceeded");
    const good = await chat(t, t.ownerKey, model);
    expect(good.status, good.text).toBe(200);
    t.clock.advance(retryAfter * 1000 + 1000);
    expectWireError(await chat(t, bad, model), 401, "invalid_api_key");
    expect(mock.requests).toHaveLength(1);
  });
});
